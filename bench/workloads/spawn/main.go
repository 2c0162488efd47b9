// Command spawn is a goroutine spawn storm: batches of short-lived goroutines, each created,
// run and exited, waited for with a WaitGroup. Reports ns per goroutine (create + run + exit).
package main

import (
	"flag"
	"sync"
	"sync/atomic"

	"goroscope.dev/bench/workloads/internal/harness"
)

func main() {
	run := harness.Flags(2e9)
	size := flag.Int("batch", 1000, "goroutines started per batch before waiting for them")
	flag.Parse()
	if *size < 1 {
		harness.Fail("-batch must be at least 1")
	}

	var sink int64
	var wg sync.WaitGroup
	storm := func() {
		wg.Add(*size)
		for i := 0; i < *size; i++ {
			go func(i int) {
				atomic.AddInt64(&sink, int64(i))
				wg.Done()
			}(i)
		}
		wg.Wait()
	}
	for i := 0; i < 10; i++ { // warm-up: grows the free-G lists to their steady size
		storm()
	}

	run.Start()
	var ops int64
	for run.Elapsed() < run.Duration {
		storm()
		ops += int64(*size)
	}
	run.Finish(ops)
}
