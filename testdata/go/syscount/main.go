// syscount: a referee for the system calls goroscope counts in the kernel
// (tests/record_kernel_aggregates.rs). It makes exactly N getppid system calls (N is its first
// argument) from one OS thread and prints "getppid N tid TID": the aggregates must hold exactly N
// calls of getppid for that thread, and in total. The Go runtime never calls getppid itself, and
// syscall.Getppid is a raw system call (no entersyscall), so nothing else adds to the count.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

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
	fmt.Printf("getppid %d tid %d\n", n, tid)
}
