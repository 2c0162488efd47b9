// Command pingpong bounces a value between two goroutines over unbuffered channels: every
// round trip is two blocking hand-offs, a scheduling event about every 100 ns. Reports ns per
// round trip.
package main

import (
	"flag"

	"goroscope.dev/bench/workloads/internal/harness"
)

const batch = 1000

func main() {
	run := harness.Flags(2e9)
	flag.Parse()

	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	for i := 0; i < 10*batch; i++ { // warm-up: both goroutines exist and have run
		ping <- i
		<-pong
	}

	run.Start()
	var ops int64
	for run.Elapsed() < run.Duration {
		for i := 0; i < batch; i++ {
			ping <- i
			<-pong
		}
		ops += batch
	}
	run.Finish(ops)
	close(ping)
}
