// sched exercises one corner of the Go scheduler per run (-scenario NAME) and prints its own
// ground truth as exactly one line, `GROUND_TRUTH {json}`, at the end: what the program knows
// about itself (the goroutines it started with `go`, the syscalls it issued, its runtime.GC
// calls, the GOMAXPROCS values it set, the threads it locked, ...).
//
// With -trace FILE it also records Go's own execution trace of the whole run (runtime/trace
// started first thing in main, stopped just before the ground truth is printed), so that
// goroscope's tests can compare goroscope's counts with Go's tracer on the very same run.
//
// Scenarios (each at most ~3 s): cpuhog, syscalls, http, producer, lockthread, gomaxprocs, gc,
// wedge;
// see the scenario functions for what each does and reports. Standard library only, and only
// APIs present in Go 1.19 (the oldest toolchain the fixtures are built with).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// truth is the ground-truth record: common fields first, scenario fields in Fields.
type truth map[string]interface{}

// options holds every flag; each scenario reads the ones it needs.
type options struct {
	scenario string
	reads    int           // syscalls: blocking pipe reads (N)
	delay    time.Duration // syscalls: how long each pipe read stays blocked
	files    int           // syscalls: short os.ReadFile calls (M)
	requests int           // http: requests (R)
	conns    int           // http: client connections / concurrent clients (C)
	tasks    int           // producer: goroutines started in the burst (W)
	locked   int           // lockthread: goroutines that lock their thread (K)
	gcs      int           // gc: explicit runtime.GC calls (G)
	hog      time.Duration // cpuhog: how long the hog spins
}

var scenarios = map[string]func(o options, t truth){
	"cpuhog":     cpuhog,
	"syscalls":   syscalls,
	"http":       httpScenario,
	"producer":   producer,
	"lockthread": lockthread,
	"gomaxprocs": gomaxprocs,
	"gc":         gcScenario,
	"wedge":      wedge,
}

func main() {
	var o options
	traceFile := flag.String("trace", "", "write Go's execution trace of the whole run to this file")
	flag.StringVar(&o.scenario, "scenario", "", "cpuhog|syscalls|http|producer|lockthread|gomaxprocs|gc|wedge")
	flag.IntVar(&o.reads, "n", 20, "syscalls: blocking pipe reads")
	flag.DurationVar(&o.delay, "delay", 5*time.Millisecond, "syscalls: time each pipe read stays blocked")
	flag.IntVar(&o.files, "m", 50, "syscalls: short file reads")
	flag.IntVar(&o.requests, "r", 500, "http: requests")
	flag.IntVar(&o.conns, "c", 8, "http: client connections")
	flag.IntVar(&o.tasks, "w", 2000, "producer: goroutines started in one burst")
	flag.IntVar(&o.locked, "k", 3, "lockthread: goroutines calling LockOSThread")
	flag.IntVar(&o.gcs, "g", 5, "gc: explicit runtime.GC calls")
	flag.DurationVar(&o.hog, "hog", 1500*time.Millisecond, "cpuhog: how long the hog spins")
	flag.Parse()
	run, ok := scenarios[o.scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "sched: unknown -scenario %q\n", o.scenario)
		os.Exit(2)
	}
	var traceOut *os.File
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "sched: -trace: %v\n", err)
			os.Exit(1)
		}
		traceOut = f
	}
	began := time.Now()
	t := truth{
		"program":            "sched",
		"scenario":           o.scenario,
		"go_version":         runtime.Version(),
		"pid":                os.Getpid(),
		"main_goid":          ownGoid(),
		"main_tid":           syscall.Gettid(),
		"gomaxprocs":         runtime.GOMAXPROCS(0),
		"num_cpu":            runtime.NumCPU(),
		"traced":             traceOut != nil,
		"goroutines_started": 0,
	}
	run(o, t)
	t["elapsed_ns"] = time.Since(began).Nanoseconds()
	if traceOut != nil {
		trace.Stop()
		if err := traceOut.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "sched: -trace: %v\n", err)
			os.Exit(1)
		}
	}
	out, err := json.Marshal(t)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sched: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("GROUND_TRUTH %s\n", out)
}

// ownGoid parses the current goroutine's id from its stack trace header ("goroutine 1 [running]:").
func ownGoid() int {
	buf := make([]byte, 64)
	fields := strings.Fields(string(buf[:runtime.Stack(buf, false)]))
	if len(fields) < 2 {
		return 0
	}
	id, _ := strconv.Atoi(fields[1])
	return id
}

// spin burns CPU for about n loop iterations without calling anything; its result is returned
// so the compiler cannot drop the loop.
func spin(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i ^ (x >> 3)
	}
	return x
}

// sink keeps spin results alive.
var sink int

// fail reports a broken scenario and exits (no ground truth line is printed then).
func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "sched: "+format+"\n", args...)
	os.Exit(1)
}

// atomicSink takes results from goroutines running at once.
type atomicSink struct{ v int64 }

func (s *atomicSink) add(x int) { atomic.AddInt64(&s.v, int64(x)) }

var sink2 atomicSink
