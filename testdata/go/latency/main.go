// Command latency creates scheduling pressure on GOMAXPROCS=2 for a fixed window and prints, as
// one JSON line on stdout, the runtime's own view of runnable-to-running latency over that
// window: the difference of the runtime/metrics histogram /sched/latencies:seconds (exists
// since Go 1.17) read before and after it. It is the ground truth for tests/record_latency.rs.
//
// The runtime samples that histogram: it tracks one in every gTrackingPeriod (8) transitions of
// a goroutine out of _Grunning (plus a random 1 in 8 new goroutines), so "count" is about 1/8
// of all runnable-to-running transitions. Percentiles are given as the runtime bucket
// [lo_ns, hi_ns) holding the nearest-rank sample, and "buckets" lists every non-empty bucket of
// the window with its count; hi_ns is -1 for the unbounded last bucket.
//
// The workload avoids syscalls and allocation during the window: a fast return from a syscall
// is recorded by the runtime as a 0 ns sample that is not a scheduling event, and a GC would
// add its own workers and stop-the-world transitions.
package main

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

const metric = "/sched/latencies:seconds"

// Percentile is the runtime bucket that holds a nearest-rank percentile.
type Percentile struct {
	LoNs int64 `json:"lo_ns"`
	HiNs int64 `json:"hi_ns"`
}

// Truth is the line printed on stdout.
type Truth struct {
	Metric     string     `json:"metric"`
	Gomaxprocs int        `json:"gomaxprocs"`
	Sampling   int        `json:"sampling_period"`
	WindowNs   int64      `json:"window_ns"`
	Count      uint64     `json:"count"`
	P50        Percentile `json:"p50"`
	P90        Percentile `json:"p90"`
	P99        Percentile `json:"p99"`
	// Buckets are the window's non-empty runtime buckets, in order.
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one runtime histogram bucket [lo_ns, hi_ns) and its count over the window.
type Bucket struct {
	LoNs  int64  `json:"lo_ns"`
	HiNs  int64  `json:"hi_ns"`
	Count uint64 `json:"count"`
}

func read() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: metric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		os.Stderr.WriteString("latency: " + metric + " is not supported by this Go\n")
		os.Exit(1)
	}
	return s[0].Value.Float64Histogram()
}

// toNs converts a bucket boundary in seconds; -Inf is 0, +Inf is -1 (unbounded).
func toNs(sec float64) int64 {
	switch {
	case math.IsInf(sec, -1) || sec < 0:
		return 0
	case math.IsInf(sec, 1):
		return -1
	default:
		return int64(math.Round(sec * 1e9))
	}
}

// percentile returns the bucket holding the nearest-rank q-quantile of counts.
func percentile(counts []uint64, bounds []float64, total uint64, q float64) Percentile {
	rank := uint64(math.Ceil(q * float64(total)))
	if rank == 0 {
		rank = 1
	}
	var cum uint64
	for i, c := range counts {
		cum += c
		if cum >= rank {
			return Percentile{LoNs: toNs(bounds[i]), HiNs: toNs(bounds[i+1])}
		}
	}
	return Percentile{}
}

// spin burns CPU for about d without syscalls (time.Now uses the vDSO) or allocation.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink = x
}

var sink uint64

func main() {
	window := flag.Duration("window", 1500*time.Millisecond, "length of the pressure window")
	flag.Parse()
	runtime.GOMAXPROCS(2)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Everything the workers need exists before the first reading.
	tick := make(chan struct{})
	ping, pong := make(chan int), make(chan int)
	before := read()
	start := time.Now()

	// 8 CPU-bound workers, more than the 2 Ps: they queue behind each other, get preempted
	// (sysmon, 10 ms slices) and block briefly on sleeps and on a shared channel.
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				spin(time.Duration(100+50*w) * time.Microsecond)
				if n%2 == 0 {
					time.Sleep(50 * time.Microsecond)
				} else {
					select {
					case tick <- struct{}{}:
					case <-tick:
					case <-stop:
						return
					}
				}
			}
		}(w)
	}
	// A ping-pong pair: each hand-off makes the other goroutine runnable.
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case ping <- i:
			case <-stop:
				return
			}
			select {
			case <-pong:
			case <-stop:
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			select {
			case v := <-ping:
				select {
				case pong <- v:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()

	time.Sleep(*window)
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	after := read()

	counts := make([]uint64, len(after.Counts))
	var total uint64
	for i := range counts {
		var b uint64
		if i < len(before.Counts) {
			b = before.Counts[i]
		}
		counts[i] = after.Counts[i] - b
		total += counts[i]
	}
	t := Truth{
		Metric:     metric,
		Gomaxprocs: runtime.GOMAXPROCS(0),
		Sampling:   8,
		WindowNs:   elapsed.Nanoseconds(),
		Count:      total,
		P50:        percentile(counts, after.Buckets, total, 0.50),
		P90:        percentile(counts, after.Buckets, total, 0.90),
		P99:        percentile(counts, after.Buckets, total, 0.99),
	}
	for i, c := range counts {
		if c > 0 {
			t.Buckets = append(t.Buckets, Bucket{LoNs: toNs(after.Buckets[i]), HiNs: toNs(after.Buckets[i+1]), Count: c})
		}
	}
	out, err := json.Marshal(t)
	if err != nil {
		os.Stderr.WriteString("latency: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.Write(append(out, '\n'))
}
