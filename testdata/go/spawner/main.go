// spawner starts exactly N goroutines from one `go` statement (in spawnAll), lets them block on
// a channel, releases them, waits until every one of them has really exited, and prints its own
// ground truth as one JSON line: N, its pid, and the `go` statement's function/file/line as the
// Go runtime itself reports it ("created by" in a goroutine's stack trace).
// goroscope's tracer tests compare what they captured with that line.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

type site struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

type truth struct {
	Program     string `json:"program"`
	GoVersion   string `json:"go_version"`
	Pid         int    `json:"pid"`
	Goroutines  int    `json:"goroutines"`
	GoStatement site   `json:"go_statement"`
	ParentGoid  int    `json:"parent_goid"` // the goroutine that ran the `go` statement
	ElapsedNs   int64  `json:"elapsed_ns"`  // from main's start to the last goroutine's exit
}

// createdBy parses the "created by" frame of a goroutine's own stack trace:
//
//	created by main.spawnAll in goroutine 1     (Go 1.21+; Go 1.19 omits "in goroutine N")
//	\t/path/main.go:52 +0x6b
func createdBy(stack string) site {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "created by ") || i+1 >= len(lines) {
			continue
		}
		fn := strings.Fields(strings.TrimPrefix(l, "created by "))[0]
		loc := strings.TrimSpace(lines[i+1])
		if sp := strings.IndexByte(loc, ' '); sp >= 0 {
			loc = loc[:sp]
		}
		colon := strings.LastIndexByte(loc, ':')
		line, _ := strconv.Atoi(loc[colon+1:])
		return site{Function: fn, File: loc[:colon], Line: line}
	}
	return site{}
}

// ownGoid parses the current goroutine's id from its stack trace header ("goroutine 1 [running]:").
func ownGoid() int {
	buf := make([]byte, 64)
	fields := strings.Fields(string(buf[:runtime.Stack(buf, false)]))
	if len(fields) < 2 {
		return 0
	}
	id, _ := strconv.Atoi(fields[1])
	return id
}

func worker(i int, start <-chan struct{}, sites chan<- site, wg *sync.WaitGroup) {
	defer wg.Done()
	<-start // parks ("chan receive") until main closes start
	if i == 0 {
		buf := make([]byte, 4096)
		sites <- createdBy(string(buf[:runtime.Stack(buf, false)]))
	}
	x := 0
	for j := 0; j < 1000*(i%8+1); j++ {
		x += j
	}
	_ = x
}

func spawnAll(n int, start <-chan struct{}, sites chan<- site, wg *sync.WaitGroup) {
	for i := 0; i < n; i++ {
		wg.Add(1)
		go worker(i, start, sites, wg) // the one `go` statement the tests look for
	}
}

func main() {
	n := flag.Int("n", 50, "goroutines to start")
	hold := flag.Bool("hold", false, "read a line from stdin first (lets a tracer attach by pid)")
	flag.Parse()
	if *hold {
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	began := time.Now()
	baseline := runtime.NumGoroutine()

	var wg sync.WaitGroup
	start := make(chan struct{})
	sites := make(chan site, 1)
	spawnAll(*n, start, sites, &wg)
	time.Sleep(10 * time.Millisecond) // let them park
	close(start)
	wg.Wait()
	var s site
	if *n > 0 {
		s = <-sites
	}
	// wg.Wait returns when the goroutines have called Done, not when they are gone: wait until
	// the runtime no longer counts them, so every one has gone through goexit.
	for runtime.NumGoroutine() > baseline {
		time.Sleep(time.Millisecond)
	}
	out, _ := json.Marshal(truth{
		Program:     "spawner",
		GoVersion:   runtime.Version(),
		Pid:         os.Getpid(),
		Goroutines:  *n,
		GoStatement: s,
		ParentGoid:  ownGoid(),
		ElapsedNs:   time.Since(began).Nanoseconds(),
	})
	os.Stdout.Write(append(out, '\n'))
}
