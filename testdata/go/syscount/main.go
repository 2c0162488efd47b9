// syscount: a referee for the system calls goroscope counts in the kernel
// (tests/record_kernel_aggregates.rs). It makes exactly N getppid system calls (N is its first
// argument) from one OS thread, then 3 select calls that each sleep 20 ms, and prints
// "getppid N tid TID select 3 sum_ns NS", NS the time those calls took measured here, from
// before each call to after it: the aggregates must hold exactly N calls of getppid and 3 of
// select for that thread, and in total, and the selects' total time must lie between 3 x 20 ms
// (the kernel sleeps at least the timeout) and NS (the kernel's view of a call lies inside it). The Go runtime
// never calls getppid or select itself, and syscall.Getppid is a raw system call (no
// entersyscall), so nothing else adds to the counts. The sleeps block: their thread switches
// out inside the call, which the tracer follows differently from a call that returns on its CPU.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

const selects = 3

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: syscount N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "syscount: N must be a positive count")
		os.Exit(2)
	}
	// One thread for all of them, so the per-thread row is checked too.
	runtime.LockOSThread()
	tid := syscall.Gettid()
	ppid := syscall.Getppid()
	for i := 1; i < n; i++ {
		if syscall.Getppid() != ppid {
			fmt.Fprintln(os.Stderr, "syscount: the parent changed")
			os.Exit(1)
		}
	}
	var sumNs int64
	for i := 0; i < selects; i++ {
		timeout := syscall.Timeval{Usec: 20000}
		start := time.Now()
		if _, err := syscall.Select(0, nil, nil, nil, &timeout); err != nil {
			fmt.Fprintln(os.Stderr, "syscount: select:", err)
			os.Exit(1)
		}
		sumNs += time.Since(start).Nanoseconds()
	}
	fmt.Printf("getppid %d tid %d select %d sum_ns %d\n", n, tid, selects, sumNs)
}
