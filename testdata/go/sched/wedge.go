package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// wedge: goroutines lock their thread one at a time until one finds itself on the process's
// main thread (M0); that one returns still locked. The runtime never destroys the main thread:
// mexit "just wedges it" (parks it for good) and the process goes on (here for 50 ms) and
// exits normally. The others unlock and return. Go's own tracer is not told which M is M0, so
// the referee is this program: it knows its pid and each goroutine's tid.
//
// Ground truth: wedged (the main thread was reached and wedged), wedged_goid, wedged_tid (the
// pid), attempts (goroutines started), goroutines_started (= attempts).
func wedge(o options, t truth) {
	pid := os.Getpid()
	attempts, wedgedGoid := 0, 0
	for ; attempts < 20000 && wedgedGoid == 0; attempts++ {
		got := make(chan int)
		go func() {
			runtime.LockOSThread()
			if syscall.Gettid() != pid {
				runtime.UnlockOSThread()
				got <- 0
				return
			}
			got <- ownGoid()
			// Returns locked on the main thread: wedged, not destroyed.
		}()
		wedgedGoid = <-got
		if wedgedGoid == 0 && attempts%16 == 15 {
			time.Sleep(100 * time.Microsecond) // let the main thread go idle and take work
		}
	}
	time.Sleep(50 * time.Millisecond)
	t["wedged"] = wedgedGoid != 0
	t["wedged_goid"] = wedgedGoid
	t["wedged_tid"] = pid
	t["attempts"] = attempts
	t["goroutines_started"] = attempts
}
