package main

import (
	"runtime"
	"runtime/debug"
)

// gcScenario: G explicit runtime.GC calls, each after allocating ~8 MB of small objects (kept
// alive until the next round), which may trigger further, automatic cycles.
//
// Ground truth: gc_calls (G), num_gc_before / num_gc_after (the runtime's completed cycle
// count, from debug.ReadGCStats, which does not stop the world), allocated_bytes,
// goroutines_started = 0.
func gcScenario(o options, t truth) {
	var s debug.GCStats
	debug.ReadGCStats(&s)
	before := s.NumGC
	var keep [][]byte
	allocated := 0
	for i := 0; i < o.gcs; i++ {
		keep = keep[:0]
		for j := 0; j < 8192; j++ {
			keep = append(keep, make([]byte, 1024))
			allocated += 1024
		}
		runtime.GC()
	}
	runtime.KeepAlive(keep)
	debug.ReadGCStats(&s)
	t["goroutines_started"] = 0
	t["gc_calls"] = o.gcs
	t["num_gc_before"] = before
	t["num_gc_after"] = s.NumGC
	t["allocated_bytes"] = allocated
}
