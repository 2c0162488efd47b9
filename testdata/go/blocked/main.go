// blocked starts goroutines at several `go` statements that block in several ways — channel
// send, channel receive, select, sync.Mutex, time.Sleep, a network read on a loopback socket,
// sync.Cond — then goes idle: it waits until its own runtime stack dump shows every one of them
// blocked, runs two GCs (which stamp each blocked goroutine's g.waitsince), prints
// `READY <pid>` and waits for a line on stdin. goroscope attaches meanwhile (`record -p`), so it
// never sees these goroutines run. On the line it prints its ground truth as one line,
// `GROUND_TRUTH {json}`: per creation site and wait reason, how many goroutines its runtime's
// stack dump shows (the site as "created by" names it, the reason as the dump's header shows
// it), runtime.NumGoroutine(), and which goroutine start function each site's `go` statement
// names. Standard library only, APIs present in Go 1.19.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// How many goroutines each site starts.
const (
	senders   = 7
	receivers = 5
	selectors = 4
	lockers   = 3
	sleepers  = 6
	readers   = 2
	waiters   = 3
)

type group struct {
	Function   string `json:"function"`
	File       string `json:"file"`
	Line       int    `json:"line"`
	WaitReason string `json:"wait_reason"`
	Count      int    `json:"count"`
}

type truth struct {
	Program      string  `json:"program"`
	GoVersion    string  `json:"go_version"`
	Pid          int     `json:"pid"`
	Created      int     `json:"created"`
	NumGoroutine int     `json:"num_goroutine"`
	Groups       []group `json:"groups"`
	// Site function → the function its `go` statement starts.
	StartFunctions map[string]string `json:"start_functions"`
}

func sendForever(ch chan int, v int) { ch <- v }
func receiveForever(ch chan int)     { <-ch }
func selectForever(a, b chan int) {
	select {
	case <-a:
	case b <- 1:
	}
}
func lockForever(mu *sync.Mutex)   { mu.Lock() }
func sleepForever(d time.Duration) { time.Sleep(d) }
func readForever(c net.Conn)       { c.Read(make([]byte, 1)) }
func waitForever(c *sync.Cond, n *int) {
	c.L.Lock()
	for *n == 0 {
		c.Wait()
	}
	c.L.Unlock()
}

func spawnSenders(ch chan int) {
	for i := 0; i < senders; i++ {
		go sendForever(ch, i)
	}
}

func spawnReceivers(ch chan int) {
	for i := 0; i < receivers; i++ {
		go receiveForever(ch)
	}
}

func spawnSelectors(a, b chan int) {
	for i := 0; i < selectors; i++ {
		go selectForever(a, b)
	}
}

func spawnLockers(mu *sync.Mutex) {
	for i := 0; i < lockers; i++ {
		go lockForever(mu)
	}
}

func spawnSleepers() {
	for i := 0; i < sleepers; i++ {
		go sleepForever(time.Hour)
	}
}

func spawnReaders(conns []net.Conn) {
	for _, c := range conns {
		go readForever(c)
	}
}

func spawnWaiters(c *sync.Cond, n *int) {
	for i := 0; i < waiters; i++ {
		go waitForever(c, n)
	}
}

// loopback returns the server ends of `readers` connected loopback TCP pairs; the client ends
// are kept open (returned too) so every read blocks.
func loopback() (servers, clients []net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	for i := 0; i < readers; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		check(err)
		s, err := ln.Accept()
		check(err)
		servers, clients = append(servers, s), append(clients, c)
	}
	return servers, clients
}

func check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "blocked: %v\n", err)
		os.Exit(1)
	}
}

// record is one goroutine of the runtime's stack dump.
type record struct {
	state    string // "chan send", "select", "runnable", ... (minutes suffix removed)
	function string // created by
	file     string
	line     int
}

// dump parses runtime.Stack(all): records separated by blank lines, each starting with
// "goroutine 7 [chan send]:" (or "[chan send, 2 minutes]:") and ending with
// "created by main.spawnSenders in goroutine 1" (Go 1.21+; 1.19 omits "in goroutine N")
// followed by "\t/path/main.go:52 +0x6b".
func dump() []record {
	buf := make([]byte, 1<<20)
	var out []record
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		lines := strings.Split(g, "\n")
		open, end := strings.IndexByte(lines[0], '['), strings.LastIndexByte(lines[0], ']')
		if open < 0 || end < open {
			continue
		}
		r := record{state: strings.SplitN(lines[0][open+1:end], ",", 2)[0]}
		for i, l := range lines {
			if !strings.HasPrefix(l, "created by ") || i+1 >= len(lines) {
				continue
			}
			r.function = strings.Fields(strings.TrimPrefix(l, "created by "))[0]
			loc := strings.TrimSpace(lines[i+1])
			if sp := strings.IndexByte(loc, ' '); sp >= 0 {
				loc = loc[:sp]
			}
			colon := strings.LastIndexByte(loc, ':')
			r.file = loc[:colon]
			r.line, _ = strconv.Atoi(loc[colon+1:])
		}
		out = append(out, r)
	}
	return out
}

var spawners = map[string]string{
	"main.spawnSenders":   "main.sendForever",
	"main.spawnReceivers": "main.receiveForever",
	"main.spawnSelectors": "main.selectForever",
	"main.spawnLockers":   "main.lockForever",
	"main.spawnSleepers":  "main.sleepForever",
	"main.spawnReaders":   "main.readForever",
	"main.spawnWaiters":   "main.waitForever",
}

// groups counts the dump's goroutines created by the spawners, by site and state; `blocked`
// says whether every one of them is waiting (none runnable or running any more).
func groups() (out []group, blocked bool) {
	counts := map[group]int{}
	blocked = true
	total := 0
	for _, r := range dump() {
		if _, ok := spawners[r.function]; !ok {
			continue
		}
		total++
		if r.state == "runnable" || r.state == "running" || r.state == "syscall" {
			blocked = false
		}
		counts[group{Function: r.function, File: r.file, Line: r.line, WaitReason: r.state}]++
	}
	for g, n := range counts {
		g.Count = n
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	want := senders + receivers + selectors + lockers + sleepers + readers + waiters
	return out, blocked && total == want
}

func main() {
	chSend, chRecv, selA, selB := make(chan int), make(chan int), make(chan int), make(chan int)
	var mu sync.Mutex
	mu.Lock() // held forever: the lockers block
	var condMu sync.Mutex
	cond, ready := sync.NewCond(&condMu), 0
	servers, clients := loopback()

	spawnSenders(chSend)
	spawnReceivers(chRecv)
	spawnSelectors(selA, selB)
	spawnLockers(&mu)
	spawnSleepers()
	spawnReaders(servers)
	spawnWaiters(cond, &ready)

	// Until every one is blocked (mutex waiters spin a little before they park).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := groups(); ok {
			break
		}
		if time.Now().After(deadline) {
			check(fmt.Errorf("the goroutines did not all block in 10s"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Stamps g.waitsince of every blocked goroutine: a GC's mark phase sets it to the previous
	// cycle's start, which the first cycle of the program does not have yet.
	runtime.GC()
	runtime.GC()
	fmt.Printf("READY %d\n", os.Getpid())

	in := bufio.NewReader(os.Stdin)
	_, _ = in.ReadString('\n')

	num := runtime.NumGoroutine()
	gs, ok := groups()
	if !ok {
		check(fmt.Errorf("a blocked goroutine woke up"))
	}
	out, err := json.Marshal(truth{
		Program:        "blocked",
		GoVersion:      runtime.Version(),
		Pid:            os.Getpid(),
		Created:        senders + receivers + selectors + lockers + sleepers + readers + waiters,
		NumGoroutine:   num,
		Groups:         gs,
		StartFunctions: spawners,
	})
	check(err)
	fmt.Printf("GROUND_TRUTH %s\n", out)
	runtime.KeepAlive(clients)
}
