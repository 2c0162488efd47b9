// leaker starts exactly K goroutines from one `go` statement (in leakAll) that block forever on
// receiving from a channel nobody sends to, and M goroutines from another `go` statement (in
// finishAll) that finish normally. It waits until the runtime itself shows the K parked in
// "chan receive" (its all-goroutines stack dump) and the M gone, then prints its own ground truth
// as one JSON line and exits with the K still blocked: K, M and both `go` statements'
// function/file/line as the Go runtime reports them ("created by" in a goroutine's stack trace).
// goroscope's leak tests compare what they captured with that line.
package main

import (
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
	Program   string `json:"program"`
	GoVersion string `json:"go_version"`
	Pid       int    `json:"pid"`
	Leaked    int    `json:"leaked"`   // K: blocked forever at leak_site
	Finished  int    `json:"finished"` // M: created and exited at finish_site
	LeakSite  site   `json:"leak_site"`
	Finish    site   `json:"finish_site"`
	// The wait reason the runtime's own stack dump showed for all K just before exit.
	LeakedWaitReason string `json:"leaked_wait_reason"`
}

// createdBy parses the "created by" frame of a goroutine's own stack trace:
//
//	created by main.leakAll in goroutine 1     (Go 1.21+; Go 1.19 omits "in goroutine N")
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

func ownSite() site {
	buf := make([]byte, 4096)
	return createdBy(string(buf[:runtime.Stack(buf, false)]))
}

// waitReasons counts, by wait reason, the goroutines in the runtime's full stack dump that
// function fn created. A record starts with "goroutine 7 [chan receive]:" (or "[chan receive,
// 2 minutes]:" after long waits); records are separated by blank lines.
func waitReasons(fn string) map[string]int {
	buf := make([]byte, 1<<20)
	reasons := map[string]int{}
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if createdBy(g).Function != fn {
			continue
		}
		header := strings.SplitN(g, "\n", 2)[0]
		open, end := strings.IndexByte(header, '['), strings.LastIndexByte(header, ']')
		if open < 0 || end < open {
			continue
		}
		reasons[strings.SplitN(header[open+1:end], ",", 2)[0]]++
	}
	return reasons
}

func leaker(i int, never <-chan struct{}, sites chan<- site, wg *sync.WaitGroup) {
	if i == 0 {
		sites <- ownSite()
	}
	wg.Done()
	<-never // nobody ever sends: parks in "chan receive" forever
}

func leakAll(k int, never <-chan struct{}, sites chan<- site, wg *sync.WaitGroup) {
	for i := 0; i < k; i++ {
		wg.Add(1)
		go leaker(i, never, sites, wg) // the leaking `go` statement
	}
}

func finisher(i int, sites chan<- site, wg *sync.WaitGroup) {
	defer wg.Done()
	if i == 0 {
		sites <- ownSite()
	}
}

func finishAll(m int, sites chan<- site, wg *sync.WaitGroup) {
	for i := 0; i < m; i++ {
		wg.Add(1)
		go finisher(i, sites, wg) // the finishing `go` statement
	}
}

func main() {
	k := flag.Int("k", 25, "goroutines to leak")
	m := flag.Int("m", 10, "goroutines that finish normally")
	flag.Parse()
	baseline := runtime.NumGoroutine()

	never := make(chan struct{})
	leakSites := make(chan site, 1)
	var leakWG sync.WaitGroup
	leakAll(*k, never, leakSites, &leakWG)
	leakWG.Wait()

	finishSites := make(chan site, 1)
	var finishWG sync.WaitGroup
	finishAll(*m, finishSites, &finishWG)
	finishWG.Wait()

	leak := <-leakSites
	finish := <-finishSites
	// Done comes before the receive (leakers) or before goexit (finishers): wait until the runtime
	// shows every leaker parked and no finisher left, so the trace's end sees exactly that.
	const parked = "chan receive"
	for waitReasons("main.leakAll")[parked] < *k || runtime.NumGoroutine() > baseline+*k {
		time.Sleep(time.Millisecond)
	}
	out, _ := json.Marshal(truth{
		Program:          "leaker",
		GoVersion:        runtime.Version(),
		Pid:              os.Getpid(),
		Leaked:           *k,
		Finished:         *m,
		LeakSite:         leak,
		Finish:           finish,
		LeakedWaitReason: parked,
	})
	os.Stdout.Write(append(out, '\n'))
}
