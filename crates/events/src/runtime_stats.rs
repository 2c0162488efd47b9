//! The Go runtime's own statistics at one moment, read from the target's memory (procstat's
//! `runtime_stats`, no probe): the scheduling-latency and stop-the-world histograms, the mutex
//! wait totals, the goroutine id generator, the thread count and the GC cycle count — what
//! `runtime/metrics` computes its scheduler metrics from. A recording holds one snapshot about
//! every second and one at the end (docs/recording-format.md, chunk type 7); the report compares
//! the first and the last.
//!
//! The JSON is what recordings hold: field names are part of the format. Fields a Go version does
//! not have are None; missing fields read as None/0.

use serde::{Deserialize, Serialize};

use crate::time_histogram::{MetricHistogram, TimeHistScheme};

/// One reading of the runtime's statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeStats {
    /// When it was read (CLOCK_MONOTONIC).
    pub ts_ns: u64,
    /// The layout of every histogram below.
    pub scheme: TimeHistScheme,
    /// `sched.timeToRun`: `/sched/latencies:seconds` (the runtime samples 1 goroutine
    /// transition in 8, see runtime-sampler.md).
    pub sched_latencies: MetricHistogram,
    /// `sched.stwStoppingTimeGC`/`Other`, `sched.stwTotalTimeGC`/`Other`: the
    /// `/sched/pauses/{stopping,total}/{gc,other}:seconds` histograms (Go 1.22+).
    #[serde(default)]
    pub stw_stopping_gc: Option<MetricHistogram>,
    #[serde(default)]
    pub stw_stopping_other: Option<MetricHistogram>,
    #[serde(default)]
    pub stw_total_gc: Option<MetricHistogram>,
    #[serde(default)]
    pub stw_total_other: Option<MetricHistogram>,
    /// `sched.totalMutexWaitTime`: time goroutines spent waiting for a `sync.Mutex`/`RWMutex`
    /// (the runtime measures 1 wait in 8 and multiplies), ns (Go 1.21+).
    #[serde(default)]
    pub mutex_wait_ns: Option<i64>,
    /// Time spent waiting for the runtime's internal locks, ns (Go 1.22+):
    /// `sched.totalRuntimeLockWaitTime` (the Ms that exited) plus, when
    /// `runtime_lock_wait_per_m`, every live M's `mLockProfile.waitTime`.
    #[serde(default)]
    pub runtime_lock_wait_ns: Option<i64>,
    /// Whether the live Ms' share is in `runtime_lock_wait_ns` (needs `runtime.allm`, which
    /// stripped binaries do not name).
    #[serde(default)]
    pub runtime_lock_wait_per_m: bool,
    /// `sched.goidgen`: the last goroutine id handed out to a P's cache (Ps take ids 16 at a
    /// time, so this is at least the number of goroutines ever created, and at most 16 per P
    /// more).
    #[serde(default)]
    pub goid_generator: u64,
    /// `sched.mnext - sched.nmfreed`: the runtime's Ms that exist (threads, as
    /// `/sched/threads/total:threads` counts them without cgo's extra Ms).
    #[serde(default)]
    pub threads: i64,
    /// `memstats.numgc`: completed GC cycles (`/gc/cycles/total:gc-cycles`); None when
    /// `runtime.memstats` could not be located.
    #[serde(default)]
    pub gc_cycles: Option<u32>,
    /// `memstats.numforcedgc`: of those, forced by the program (`/gc/cycles/forced:gc-cycles`).
    #[serde(default)]
    pub forced_gc_cycles: Option<u32>,
    /// `runtime.gomaxprocs` (`/sched/gomaxprocs:threads`).
    #[serde(default)]
    pub gomaxprocs: i32,
}

impl RuntimeStats {
    /// `/sync/mutex/wait/total:seconds` in ns: both wait totals (None before Go 1.21). Exactly
    /// the runtime's figure only with `runtime_lock_wait_per_m`.
    pub fn total_mutex_wait_ns(&self) -> Option<i64> {
        let m = self.mutex_wait_ns?;
        Some(m.saturating_add(self.runtime_lock_wait_ns.unwrap_or(0)))
    }

    /// The four STW histograms with their `runtime/metrics` names, where present.
    pub fn stw_histograms(&self) -> [(&'static str, Option<&MetricHistogram>); 4] {
        [
            (
                "/sched/pauses/stopping/gc:seconds",
                self.stw_stopping_gc.as_ref(),
            ),
            (
                "/sched/pauses/stopping/other:seconds",
                self.stw_stopping_other.as_ref(),
            ),
            ("/sched/pauses/total/gc:seconds", self.stw_total_gc.as_ref()),
            (
                "/sched/pauses/total/other:seconds",
                self.stw_total_other.as_ref(),
            ),
        ]
    }
}
