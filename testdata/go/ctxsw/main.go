// ctxsw: a referee for goroscope's context-switch counts (tests/record_ctxt_switches.rs). The
// kernel counts every thread's switches itself (voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches in /proc/PID/task/TID/status); those deltas are exact only while
// no thread runs at either end of the window, so the program starts idle (every thread
// blocked), prints "ready" and waits for a line on stdin; then it makes its threads switch
// both ways and goes idle again, prints "done" and waits for stdin to close.
//
// The switches: CPU-bound goroutines on twice as many Ps as CPUs (threads preempted by the
// kernel: involuntary), a ping-pong over unbuffered channels and, after the spinners, short sleeps (threads
// blocking in futex and epoll: voluntary). GC is off so that nothing runs in the background
// once the work is done; sysmon then sleeps until woken.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

var sink uint64

func spin(n int) uint64 {
	var x uint64 = 1
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func work() {
	var wg, spinning sync.WaitGroup
	var mu sync.Mutex
	spinners := 2 * runtime.NumCPU()
	for i := 0; i < spinners; i++ {
		spinning.Add(1)
		go func() {
			defer spinning.Done()
			deadline := time.Now().Add(300 * time.Millisecond)
			var x uint64
			for time.Now().Before(deadline) {
				x += spin(100000)
			}
			mu.Lock()
			sink += x
			mu.Unlock()
		}()
	}
	ping, pong := make(chan int), make(chan int)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 3000; i++ {
			ping <- i
			<-pong
		}
		close(ping)
	}()
	go func() {
		defer wg.Done()
		for v := range ping {
			pong <- v
		}
	}()
	// The sleeps only once the spinners are done: while every P is busy, a busy M runs the
	// expired timers and no thread needs to block, so the sleeps made as few as 99 voluntary
	// switches on a loaded machine; on idle Ps each one parks a thread.
	spinning.Wait()
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
}

func main() {
	runtime.GOMAXPROCS(2 * runtime.NumCPU())
	debug.SetGCPercent(-1)
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		os.Exit(1)
	}
	work()
	fmt.Println("done")
	io.Copy(io.Discard, in) // until stdin closes
}
