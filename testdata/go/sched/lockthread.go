package main

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// lockthread: K goroutines call runtime.LockOSThread, spin a little, sleep 5 ms while locked
// (their thread sleeps with them and another thread must run their P meanwhile), spin again;
// K-1 of them then call UnlockOSThread and return, and the last one returns while still
// locked, so the runtime destroys its thread. Main locks its own goroutine to its thread first
// (and unlocks at the end) so that no worker can be on the main thread, which the runtime never
// destroys.
//
// Ground truth: locked_goroutines (K), unlocked (K-1), exited_locked (1), locked_goids,
// locked_tids (each worker's thread, same before and after its sleep: locked_tids_stable),
// exited_locked_goid, exited_locked_tid, exited_locked_tid_gone (its /proc/self/task entry
// disappeared within 1 s), main_locked (true), main_on_main_thread (main's tid == pid),
// goroutines_started = K.
func lockthread(o options, t truth) {
	runtime.LockOSThread()
	mainOnMainThread := syscall.Gettid() == os.Getpid()
	type worker struct {
		goid, tid int
		stable    bool
	}
	workers := make([]worker, o.locked)
	// The worker that exits locked is picked once every worker is locked to its thread: one
	// not on the process's main thread, which the runtime never destroys (main's own lock above
	// does not keep workers off it: main need not be running on the main thread).
	var ready sync.WaitGroup
	decided := make(chan struct{})
	exitLocked := o.locked - 1
	var wg sync.WaitGroup
	for i := 0; i < o.locked; i++ {
		wg.Add(1)
		ready.Add(1)
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			w := worker{goid: ownGoid(), tid: syscall.Gettid()}
			workers[i] = w
			ready.Done()
			<-decided
			sink += spin(2000000)
			time.Sleep(5 * time.Millisecond)
			sink += spin(2000000)
			w.stable = syscall.Gettid() == w.tid
			workers[i] = w
			if i != exitLocked {
				runtime.UnlockOSThread()
			}
			// The chosen worker returns still locked: goexit destroys its thread.
		}(i)
	}
	ready.Wait()
	for i := o.locked - 1; i >= 0; i-- {
		if workers[i].tid != os.Getpid() {
			exitLocked = i
			break
		}
	}
	close(decided)
	wg.Wait()
	goids, tids, stable := []int{}, []int{}, true
	for _, w := range workers {
		goids = append(goids, w.goid)
		tids = append(tids, w.tid)
		stable = stable && w.stable
	}
	gone := false
	if o.locked > 0 {
		// wg.Done runs before the goroutine exits: wait for the thread to go away.
		task := "/proc/self/task/" + strconv.Itoa(workers[exitLocked].tid)
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
			if _, err := os.Stat(task); os.IsNotExist(err) {
				gone = true
				break
			}
			time.Sleep(time.Millisecond)
		}
		t["exited_locked_goid"] = workers[exitLocked].goid
		t["exited_locked_tid"] = workers[exitLocked].tid
	}
	runtime.UnlockOSThread()
	t["goroutines_started"] = o.locked
	t["locked_goroutines"] = o.locked
	t["unlocked"] = o.locked - 1
	t["exited_locked"] = 1
	t["locked_goids"] = goids
	t["locked_tids"] = tids
	t["locked_tids_stable"] = stable
	t["exited_locked_tid_gone"] = gone
	t["main_locked"] = true
	t["main_on_main_thread"] = mainOnMainThread
}
