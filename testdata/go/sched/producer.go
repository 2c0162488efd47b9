package main

import (
	"sync"
	"sync/atomic"
	"syscall"
)

// producer: one goroutine (the producer) starts W short CPU tasks with `go` in one burst. New
// goroutines go to the run queue of the producer's P, so with GOMAXPROCS >= 2 the other Ps run
// most of them only by stealing from it. Each task notes its thread (gettid is a raw syscall:
// no scheduler involvement), so the ground truth shows tasks ran on other threads.
//
// Ground truth: tasks (W), producer_goid, producer_tid, tasks_on_producer_thread,
// tasks_on_other_threads, task_threads (distinct tids tasks ran on), goroutines_started = W + 1.
func producer(o options, t truth) {
	tids := make([]int, o.tasks)
	var wg sync.WaitGroup
	type prodResult struct{ goid, tid int }
	res := make(chan prodResult, 1)
	wg.Add(1)
	go func() { // the producer
		defer wg.Done()
		res <- prodResult{ownGoid(), syscall.Gettid()}
		var tasks sync.WaitGroup
		tasks.Add(o.tasks)
		for i := 0; i < o.tasks; i++ {
			go func(i int) {
				defer tasks.Done()
				tids[i] = syscall.Gettid()
				atomic.AddInt64(&taskSink, int64(spin(20000))) // ~10-20 µs of work
			}(i)
		}
		tasks.Wait()
	}()
	wg.Wait()
	p := <-res
	onProducer, distinct := 0, map[int]bool{}
	for _, tid := range tids {
		distinct[tid] = true
		if tid == p.tid {
			onProducer++
		}
	}
	t["goroutines_started"] = o.tasks + 1
	t["tasks"] = o.tasks
	t["producer_goid"] = p.goid
	t["producer_tid"] = p.tid
	t["tasks_on_producer_thread"] = onProducer
	t["tasks_on_other_threads"] = o.tasks - onProducer
	t["task_threads"] = len(distinct)
}

// taskSink takes the tasks' results so their work is not optimized away.
var taskSink int64
