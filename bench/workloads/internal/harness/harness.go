// Package harness is what every benchmark workload shares: the common flags (-trace, -d), the
// runtime/trace switch around the measured part, and the one RESULT line the runner parses.
package harness

import (
	"flag"
	"fmt"
	"os"
	"runtime/trace"
	"syscall"
	"time"
)

// Run holds one workload run: its flags and the process start, taken as early as main runs.
type Run struct {
	TracePath string
	Duration  time.Duration
	started   time.Time
	traceFile *os.File
	measured  time.Time
}

// Flags registers the common flags; call before flag.Parse, first thing in main (it also
// notes the start time the runner uses to see how long a tracer delayed the program's start).
func Flags(defaultDuration time.Duration) *Run {
	r := &Run{started: time.Now()}
	flag.StringVar(&r.TracePath, "trace", "", "write a runtime/trace execution trace of the measured part to this file")
	flag.DurationVar(&r.Duration, "d", defaultDuration, "how long the measured part runs")
	return r
}

// Start begins the measured part (and the execution trace, with -trace).
func (r *Run) Start() {
	if r.TracePath != "" {
		f, err := os.Create(r.TracePath)
		if err != nil {
			Fail("creating the trace file: %v", err)
		}
		if err := trace.Start(f); err != nil {
			Fail("starting runtime/trace: %v", err)
		}
		r.traceFile = f
	}
	r.measured = time.Now()
}

// Elapsed is the time since Start: workloads compare it with Duration to know when to stop.
func (r *Run) Elapsed() time.Duration { return time.Since(r.measured) }

// Finish ends the measured part and prints the RESULT line: ns per operation, the operation
// count, the measured wall time, the whole process's CPU time so far (user+sys, so the runner
// can subtract it from a tracer's rusage, which includes its child's), and the start time.
func (r *Run) Finish(ops int64) {
	wall := time.Since(r.measured)
	if r.traceFile != nil {
		trace.Stop()
		if err := r.traceFile.Close(); err != nil {
			Fail("closing the trace file: %v", err)
		}
	}
	if ops <= 0 {
		Fail("no operation completed in %v", wall)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		Fail("getrusage: %v", err)
	}
	cpu := ru.Utime.Nano() + ru.Stime.Nano()
	fmt.Printf("RESULT ns_per_op=%.1f ops=%d wall_ns=%d cpu_ns=%d start_unix_ns=%d maxrss_kb=%d\n",
		float64(wall.Nanoseconds())/float64(ops), ops, wall.Nanoseconds(), cpu,
		r.started.UnixNano(), ru.Maxrss)
}

// Fail prints an error and exits with status 1.
func Fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "workload: "+format+"\n", args...)
	os.Exit(1)
}
