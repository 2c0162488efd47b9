package main

import (
	"runtime"
	"sync"
)

// gomaxprocs: reads GOMAXPROCS, sets it to 1 (2 when it already is 1, so the call really
// changes it), runs 4 short CPU goroutines, sets it back, runs 4 more. Each effective change
// stops the world ("GOMAXPROCS" in Go's tracer) and resizes the set of Ps.
//
// Ground truth: gomaxprocs_before, gomaxprocs_set (the two values passed, in order),
// gomaxprocs_read_back (GOMAXPROCS(0) after each call), goroutines_started = 8.
func gomaxprocs(o options, t truth) {
	before := runtime.GOMAXPROCS(0)
	low := 1
	if before == 1 {
		low = 2
	}
	set := []int{low, before}
	var readBack []int
	started := 0
	for _, n := range set {
		runtime.GOMAXPROCS(n)
		readBack = append(readBack, runtime.GOMAXPROCS(0))
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			started++
			go func() {
				defer wg.Done()
				sink2.add(spin(5000000))
			}()
		}
		wg.Wait()
	}
	t["goroutines_started"] = started
	t["gomaxprocs_before"] = before
	t["gomaxprocs_set"] = set
	t["gomaxprocs_read_back"] = readBack
}
