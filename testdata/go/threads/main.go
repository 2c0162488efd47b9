// threads forces the Go runtime to start extra Ms: T goroutines each block in a raw read(2) on
// a pipe of their own at the same time (a blocking syscall holds its thread, so sysmon hands the
// P to another M and the runtime must start threads for the others). Once the kernel shows every
// one of those reads in progress (/proc/self/task/*/syscall), it releases them by writing to
// the pipes, and prints its own ground truth as one JSON line (Linux only): the most threads
// /proc/self/status ever showed, every thread id /proc/self/task ever listed, and for each
// blocked read the tid that was blocked in it.
// goroscope's thread tests compare what they captured with that line.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type truth struct {
	Program   string `json:"program"`
	GoVersion string `json:"go_version"`
	Pid       int    `json:"pid"`
	Blockers  int    `json:"blockers"` // T: goroutines blocked in read(2) at once
	// The largest "Threads:" of /proc/self/status seen at any sample.
	MaxThreads int `json:"max_threads"`
	// Every tid /proc/self/task listed at any sample, sorted.
	Tids []int `json:"tids"`
	// The tids that were blocked in the T reads at the same moment, sorted (T distinct ones).
	BlockedTids []int `json:"blocked_tids"`
}

// observer accumulates what /proc/self says about the process's threads.
type observer struct {
	maxThreads int
	tids       map[int]bool
}

func (o *observer) sample() {
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "Threads:") {
				v := strings.TrimSpace(strings.TrimPrefix(l, "Threads:"))
				if n, err := strconv.Atoi(v); err == nil && n > o.maxThreads {
					o.maxThreads = n
				}
			}
		}
	}
	for _, tid := range tasks() {
		o.tids[tid] = true
	}
}

func tasks() []int {
	entries, _ := os.ReadDir("/proc/self/task")
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

// readers maps each read fd to the thread blocked reading it: /proc/self/task/TID/syscall is
// "NR arg1 arg2 …" (args in hex) while the thread is in a syscall.
func readers(fds map[int]bool) map[int]int {
	blocked := map[int]int{}
	for _, tid := range tasks() {
		raw, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/syscall")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw))
		if len(f) < 2 || f[0] != strconv.Itoa(syscall.SYS_READ) {
			continue
		}
		fd, err := strconv.ParseInt(strings.TrimPrefix(f[1], "0x"), 16, 64)
		if err == nil && fds[int(fd)] {
			blocked[int(fd)] = tid
		}
	}
	return blocked
}

func blocker(fd int, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1)
	syscall.Read(fd, buf) // blocks its thread until main writes
}

func main() {
	t := flag.Int("t", 6, "goroutines blocked in read(2) at once")
	flag.Parse()
	obs := &observer{tids: map[int]bool{}}
	obs.sample()

	readFds, writeFds := map[int]bool{}, []int{}
	var wg sync.WaitGroup
	for i := 0; i < *t; i++ {
		var p [2]int
		if err := syscall.Pipe(p[:]); err != nil {
			panic(err)
		}
		readFds[p[0]] = true
		writeFds = append(writeFds, p[1])
		wg.Add(1)
		go blocker(p[0], &wg)
	}
	var blocked map[int]int
	for {
		obs.sample()
		if blocked = readers(readFds); len(blocked) == *t {
			break
		}
		time.Sleep(time.Millisecond)
	}
	obs.sample()
	for _, fd := range writeFds {
		syscall.Write(fd, []byte{1})
	}
	wg.Wait()
	obs.sample()

	out := truth{
		Program:    "threads",
		GoVersion:  runtime.Version(),
		Pid:        os.Getpid(),
		Blockers:   *t,
		MaxThreads: obs.maxThreads,
	}
	for tid := range obs.tids {
		out.Tids = append(out.Tids, tid)
	}
	for _, tid := range blocked {
		out.BlockedTids = append(out.BlockedTids, tid)
	}
	sort.Ints(out.Tids)
	sort.Ints(out.BlockedTids)
	line, _ := json.Marshal(out)
	os.Stdout.Write(append(line, '\n'))
}
