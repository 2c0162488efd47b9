// rtmetrics makes the runtime's own statistics move — scheduling latency (many goroutines on
// few Ps), garbage collection, sync.Mutex contention — then quiesces (every goroutine it started
// has exited, the heap is scavenged, and two readings of runtime/metrics 200 ms apart agree), and
// prints what runtime/metrics says as one line, `GROUND_TRUTH {json}`. It then blocks in a
// read(2) of standard input, which moves none of those statistics, so a test can read the same
// statistics from its memory and compare them; each byte it reads makes it read runtime/metrics
// again and print another GROUND_TRUTH line (a test reading its memory before and after gets the
// same values on both sides exactly when nothing moved in between); it exits when stdin closes.
//
// Histograms are printed as their bucket boundaries (strconv 'g' -1, so they parse back to the
// same float64; "-Inf"/"+Inf" at the ends) and counts; floats as strings for the same reason;
// metrics the version does not have are left out. Standard library only, APIs of Go 1.19.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// created counts the goroutines this program starts with `go`.
var created int64

func spawn(wg *sync.WaitGroup, f func()) {
	atomic.AddInt64(&created, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

// schedLatency: 64 goroutines share 2 Ps, yielding between short bursts of work, so each
// waits in a run queue behind the others.
func schedLatency() {
	var wg sync.WaitGroup
	var sink int64
	for i := 0; i < 64; i++ {
		spawn(&wg, func() {
			for r := 0; r < 200; r++ {
				x := int64(0)
				for k := 0; k < 2000; k++ {
					x += int64(k ^ r)
				}
				atomic.AddInt64(&sink, x)
				runtime.Gosched()
			}
		})
	}
	wg.Wait()
}

// contention: 8 goroutines take one mutex and sleep while holding it, so the others park on it.
func contention() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 8; i++ {
		spawn(&wg, func() {
			for r := 0; r < 40; r++ {
				mu.Lock()
				time.Sleep(200 * time.Microsecond)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// garbage: allocation in a few goroutines plus explicit cycles.
func garbage() {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		spawn(&wg, func() {
			var keep [][]byte
			for r := 0; r < 2000; r++ {
				keep = append(keep, make([]byte, 4096))
				if len(keep) > 256 {
					keep = keep[:0]
				}
			}
		})
	}
	wg.Wait()
	for i := 0; i < 5; i++ {
		runtime.GC()
	}
}

type histogram struct {
	Buckets []string `json:"buckets"`
	Counts  []uint64 `json:"counts"`
}

func float(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// read returns every metric of interest that this runtime has, as JSON-ready values.
func read() map[string]interface{} {
	want := []string{
		"/sched/latencies:seconds",
		"/sched/pauses/stopping/gc:seconds",
		"/sched/pauses/stopping/other:seconds",
		"/sched/pauses/total/gc:seconds",
		"/sched/pauses/total/other:seconds",
		"/sync/mutex/wait/total:seconds",
		"/gc/cycles/total:gc-cycles",
		"/gc/cycles/forced:gc-cycles",
		"/sched/goroutines-created:goroutines",
		"/sched/threads/total:threads",
		"/sched/gomaxprocs:threads",
	}
	have := map[string]bool{}
	for _, d := range metrics.All() {
		have[d.Name] = true
	}
	var samples []metrics.Sample
	for _, name := range want {
		if have[name] {
			samples = append(samples, metrics.Sample{Name: name})
		}
	}
	metrics.Read(samples)
	out := map[string]interface{}{}
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64:
			out[s.Name] = float(s.Value.Float64())
		case metrics.KindFloat64Histogram:
			h := s.Value.Float64Histogram()
			var b []string
			for _, x := range h.Buckets {
				b = append(b, float(x))
			}
			out[s.Name] = histogram{Buckets: b, Counts: append([]uint64(nil), h.Counts...)}
		}
	}
	return out
}

func main() {
	runtime.GOMAXPROCS(2)
	schedLatency()
	contention()
	garbage()
	debug.FreeOSMemory()

	// Quiesce: wait until two readings agree (the sweeper and scavenger have finished).
	var last []byte
	var values map[string]interface{}
	for i := 0; i < 50; i++ {
		time.Sleep(200 * time.Millisecond)
		values = read()
		text, _ := json.Marshal(values)
		if string(text) == string(last) {
			break
		}
		last = text
	}
	truth := map[string]interface{}{
		"go_version":         runtime.Version(),
		"created_by_program": atomic.LoadInt64(&created),
		"metrics":            values,
	}
	line, err := json.Marshal(truth)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("GROUND_TRUTH %s\n", line)
	// Block in read(2); each byte read asks for a fresh reading.
	buf := make([]byte, 1)
	for {
		if _, err := os.Stdin.Read(buf); err != nil {
			return
		}
		truth["metrics"] = read()
		line, _ = json.Marshal(truth)
		fmt.Printf("GROUND_TRUTH %s\n", line)
	}
}
