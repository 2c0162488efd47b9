// Command cpugc is CPU-bound parallel work that allocates garbage: more worker goroutines than
// Ps (so the scheduler preempts them, asynchronously when needed), each building and hashing
// short-lived trees, which keeps the GC cycling (mark assists, stop-the-world phases). Reports
// ns per work item (one tree built and hashed), over all workers.
package main

import (
	"flag"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"goroscope.dev/bench/workloads/internal/harness"
)

type node struct {
	left, right *node
	value       uint64
	payload     [4]uint64
}

func build(depth int, seed uint64) *node {
	n := &node{value: seed}
	if depth > 0 {
		n.left = build(depth-1, seed*6364136223846793005+1)
		n.right = build(depth-1, seed*1442695040888963407+3)
	}
	return n
}

func hash(n *node) uint64 {
	if n == nil {
		return 0
	}
	h := n.value
	for i := 0; i < 8; i++ { // a little arithmetic per node: CPU-bound, not only allocation
		h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9
	}
	return h ^ hash(n.left)*31 ^ hash(n.right)*17
}

func main() {
	run := harness.Flags(2e9)
	workers := flag.Int("workers", 2*runtime.GOMAXPROCS(0), "worker goroutines")
	depth := flag.Int("depth", 8, "depth of each tree (2^(depth+1)-1 nodes per work item)")
	flag.Parse()
	if *workers < 1 || *depth < 0 || *depth > 20 {
		harness.Fail("-workers must be at least 1 and -depth between 0 and 20")
	}

	var items, sink uint64
	var stop int32
	work := func(seed uint64) {
		var local uint64
		for atomic.LoadInt32(&stop) == 0 {
			local ^= hash(build(*depth, seed))
			seed++
			atomic.AddUint64(&items, 1)
		}
		atomic.AddUint64(&sink, local)
	}
	for i := 0; i < 200; i++ { // warm-up: heap grown to its working size
		sink ^= hash(build(*depth, uint64(i)))
	}

	run.Start()
	var wg sync.WaitGroup
	wg.Add(*workers)
	for w := 0; w < *workers; w++ {
		go func(w int) {
			defer wg.Done()
			work(uint64(w) << 32)
		}(w)
	}
	for run.Elapsed() < run.Duration {
		time.Sleep(10 * time.Millisecond)
	}
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	run.Finish(int64(atomic.LoadUint64(&items)))
}
