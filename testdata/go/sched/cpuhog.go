package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// hogStop is set by main when the hog has spun long enough. atomic.LoadInt32 is a compiler
// intrinsic (a plain load, no call), so the hog's loop has no call and thus no cooperative
// preemption point: only asynchronous preemption (sysmon's SIGURG) can take its P away.
var hogStop int32

// cpuhog: one goroutine (the hog) spins in a loop that calls no function for -hog (1.5 s),
// while another (the ticker) wakes every 1 ms and records its worst wake-up delay. With
// GOMAXPROCS=1 the ticker only runs when the hog is preempted asynchronously. The hog also
// stops by itself after a calibrated bound of iterations (about 2x -hog), so the run ends even
// with GODEBUG=asyncpreemptoff=1.
//
// Ground truth: hog_goid, hog_tid (its thread when it started spinning), hog_iterations and
// hog_iteration_limit (equal when the hog ran to its bound: main never got to stop it, i.e. it
// was never preempted while GOMAXPROCS=1), hog_ns, ticker_goid, ticks (over the whole scenario;
// a tick already due is received without blocking), max_tick_delay_ns (the longest gap between
// two ticks beyond the 1 ms period), gomaxprocs_during, goroutines_started = 2.
func cpuhog(o options, t truth) {
	// Calibrate: iterations per nanosecond of the same loop body, on this goroutine.
	const probe = 20000000
	start := time.Now()
	sink += spin(probe)
	perNs := float64(probe) / float64(time.Since(start).Nanoseconds()+1)
	limit := int(perNs * float64(2*o.hog.Nanoseconds()))

	var wg sync.WaitGroup
	type hogResult struct {
		goid, tid, iterations int
		ns                    int64
	}
	hogDone := make(chan hogResult, 1)
	hogReady := make(chan struct{})
	wg.Add(2)
	go func() { // the hog
		defer wg.Done()
		r := hogResult{goid: ownGoid(), tid: syscall.Gettid()}
		close(hogReady)
		began := time.Now()
		x, i := 0, 0
		for ; i < limit; i++ {
			x += i ^ (x >> 3)
			if atomic.LoadInt32(&hogStop) != 0 {
				break
			}
		}
		r.ns = time.Since(began).Nanoseconds()
		r.iterations = i
		sink += x
		hogDone <- r
	}()
	type tickResult struct {
		goid, ticks int
		maxDelay    int64
	}
	tickDone := make(chan tickResult, 1)
	go func() { // the latency-sensitive ticker
		defer wg.Done()
		r := tickResult{goid: ownGoid()}
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		last := time.Now()
		for atomic.LoadInt32(&hogStop) == 0 {
			<-tk.C
			now := time.Now()
			if d := now.Sub(last) - time.Millisecond; int64(d) > r.maxDelay {
				r.maxDelay = int64(d)
			}
			last = now
			r.ticks++
		}
		tickDone <- r
	}()
	<-hogReady
	time.Sleep(o.hog)
	atomic.StoreInt32(&hogStop, 1)
	wg.Wait()
	h, tr := <-hogDone, <-tickDone
	t["goroutines_started"] = 2
	t["hog_goid"] = h.goid
	t["hog_tid"] = h.tid
	t["hog_iterations"] = h.iterations
	t["hog_iteration_limit"] = limit
	t["hog_ns"] = h.ns
	t["ticker_goid"] = tr.goid
	t["ticks"] = tr.ticks
	t["max_tick_delay_ns"] = tr.maxDelay
	t["gomaxprocs_during"] = runtime.GOMAXPROCS(0)
}
