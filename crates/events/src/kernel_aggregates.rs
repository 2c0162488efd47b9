//! Kernel-side aggregates of the traced process's threads ([`KernelAggregates`]): what the
//! tracer's BPF maps hold instead of one record per context switch and system call (see
//! crates/bpf/src/bpf/tracer_kagg.bpf.h), read about once a second and at the end. Each reading
//! covers the whole recording so far and supersedes the ones before it.
//!
//! Exact where the kernel counts: on-CPU time, voluntary and involuntary switches, the total
//! run-queue delay and the number of times on a CPU are the kernel's own per-task counters
//! (`se.sum_exec_runtime`, `nvcsw`, `nivcsw`, `sched_info.run_delay` and `pcount`: what
//! /proc/PID/task/TID/status and schedstat show), so [`ThreadCounters`] are cumulative since the
//! thread started and the window is `last - at_start`. Off-CPU time follows from them and the
//! thread's life within the window. Histograms ([`Log2Histogram`]) are bucketed by powers of two
//! of nanoseconds: their percentiles are bucket bounds, not exact values.
//!
//! The JSON is what recordings hold (chunk type 8, docs/recording-format.md).

use serde::{Deserialize, Serialize};

/// One reading of the kernel aggregates, covering `since_ns` to `ts_ns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelAggregates {
    /// When this reading was taken (CLOCK_MONOTONIC ns, the events' clock).
    pub ts_ns: u64,
    /// When aggregation began (the first reading): the window's start.
    pub since_ns: u64,
    /// Every thread of the process seen since `since_ns`, live or exited, by tid.
    pub threads: Vec<ThreadAggregate>,
    /// System calls that returned since `since_ns`, by thread and number.
    pub syscalls: Vec<SyscallAggregate>,
    /// System calls live threads were in at `ts_ns` (entered since the tracer was attached): not
    /// in `syscalls` yet, by tid.
    pub in_flight: Vec<InFlightSyscall>,
    /// What the kernel could not store because a map was full.
    pub lost: AggregatesLost,
}

/// Updates the kernel could not store (a bounded map was full): counted, never silent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AggregatesLost {
    /// Thread updates (a switch, a wake-up, a counter copy) lost: the thread map was full.
    pub thread_updates: u64,
    /// System calls not counted: the syscall map was full, or the call's entry found no slot
    /// to time it in (no memory for the thread's task storage).
    pub syscalls: u64,
}

impl AggregatesLost {
    pub fn total(&self) -> u64 {
        self.thread_updates + self.syscalls
    }
}

/// The kernel's own counters of one thread at `read_ns`, cumulative since the thread started
/// (or, after [`ThreadCounters::since`], over an interval).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreadCounters {
    /// When the kernel's counters were copied (CLOCK_MONOTONIC ns).
    pub read_ns: u64,
    /// Time on a CPU (`se.sum_exec_runtime`), ns.
    pub on_cpu_ns: u64,
    /// Voluntary context switches (`nvcsw`): the thread blocked or slept.
    pub voluntary_switches: u64,
    /// Involuntary context switches (`nivcsw`): the kernel preempted it.
    pub involuntary_switches: u64,
    /// Time runnable but waiting in a kernel run queue (`sched_info.run_delay`), ns. None when
    /// the kernel does not keep it (no CONFIG_SCHED_INFO).
    pub run_delay_ns: Option<u64>,
    /// Times it got a CPU (`sched_info.pcount`). None as `run_delay_ns`.
    pub runs: Option<u64>,
}

impl ThreadCounters {
    /// What happened between `earlier` and `self` (saturating: counters only grow).
    pub fn since(&self, earlier: &ThreadCounters) -> ThreadCounters {
        let sub = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.saturating_sub(b)),
            _ => None,
        };
        ThreadCounters {
            read_ns: self.read_ns,
            on_cpu_ns: self.on_cpu_ns.saturating_sub(earlier.on_cpu_ns),
            voluntary_switches: self
                .voluntary_switches
                .saturating_sub(earlier.voluntary_switches),
            involuntary_switches: self
                .involuntary_switches
                .saturating_sub(earlier.involuntary_switches),
            run_delay_ns: sub(self.run_delay_ns, earlier.run_delay_ns),
            runs: sub(self.runs, earlier.runs),
        }
    }
}

/// One thread's aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThreadAggregate {
    pub tid: u32,
    /// The thread's name (`comm`) when first seen.
    pub comm: String,
    /// When the thread started (`task->start_time`, CLOCK_MONOTONIC ns).
    pub started_ns: u64,
    /// When it switched out for the last time, if it exited.
    pub exited_ns: Option<u64>,
    /// Its counters when aggregation began; None if it started later (then everything it
    /// counted falls in the window).
    pub at_start: Option<ThreadCounters>,
    /// Its counters at the last reading (or at its exit).
    pub last: ThreadCounters,
    /// Waits from becoming runnable (woken, or preempted while runnable) to getting a CPU,
    /// measured in BPF since aggregation began.
    pub runnable_waits: Log2Histogram,
}

impl ThreadAggregate {
    /// Its counters within the window: since aggregation began, or since it started.
    pub fn in_window(&self) -> ThreadCounters {
        match &self.at_start {
            Some(start) => self.last.since(start),
            None => self.last,
        }
    }

    /// Time within the window that the thread lived: from the window's start (`since_ns`) or
    /// its own start, to its exit or the last reading.
    pub fn lived_ns(&self, since_ns: u64) -> u64 {
        let from = since_ns.max(self.started_ns);
        let to = self.exited_ns.unwrap_or(self.last.read_ns);
        to.saturating_sub(from)
    }

    /// Time within the window that it lived off a CPU (asleep, blocked, or waiting in a run
    /// queue): its life in the window minus its exact on-CPU time.
    pub fn off_cpu_ns(&self, since_ns: u64) -> u64 {
        self.lived_ns(since_ns)
            .saturating_sub(self.in_window().on_cpu_ns)
    }
}

/// One system call number on one thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyscallAggregate {
    pub tid: u32,
    /// x86-64 syscall number ([`crate::syscall_name`]).
    pub nr: u32,
    /// Calls that returned.
    pub count: u64,
    /// Of those, calls that returned an error (-errno).
    pub errors: u64,
    /// Their latencies, sys_enter to sys_exit (count and sum are exact; buckets log2).
    pub latency: Log2Histogram,
}

/// A system call a thread was in at a reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InFlightSyscall {
    pub tid: u32,
    /// x86-64 syscall number.
    pub nr: u32,
    /// When it entered (CLOCK_MONOTONIC ns).
    pub since_ns: u64,
}

/// Nanosecond values counted in power-of-two buckets: bucket 0 holds 0 and 1 ns, bucket `i`
/// holds `[2^i, 2^(i+1))` ns, and the last bucket ([`LOG2_BUCKETS`] - 1) everything from its
/// lower bound up. `count` and `sum_ns` are exact; anything else is known to a bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Log2Histogram {
    pub count: u64,
    pub sum_ns: u64,
    /// Non-empty buckets, `(index, count)`, by index.
    pub buckets: Vec<(u8, u64)>,
}

/// Buckets of a [`Log2Histogram`] (the BPF maps' `GS_KAGG_BUCKETS`).
pub const LOG2_BUCKETS: usize = 40;

impl Log2Histogram {
    /// From dense bucket counts (index = bucket); buckets past [`LOG2_BUCKETS`] are folded into
    /// the last one.
    pub fn from_dense(count: u64, sum_ns: u64, dense: &[u64]) -> Log2Histogram {
        let mut h = Log2Histogram {
            count,
            sum_ns,
            buckets: Vec::new(),
        };
        for (i, &n) in dense.iter().enumerate() {
            h.add_bucket(i.min(LOG2_BUCKETS - 1) as u8, n);
        }
        h
    }

    fn add_bucket(&mut self, index: u8, n: u64) {
        if n == 0 {
            return;
        }
        match self.buckets.binary_search_by_key(&index, |b| b.0) {
            Ok(at) => self.buckets[at].1 += n,
            Err(at) => self.buckets.insert(at, (index, n)),
        }
    }

    /// Adds `other`'s values to these.
    pub fn merge(&mut self, other: &Log2Histogram) {
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        for &(i, n) in &other.buckets {
            self.add_bucket(i.min((LOG2_BUCKETS - 1) as u8), n);
        }
    }

    /// `[low, high)` of bucket `index` in ns; `high` is None for the last, open bucket.
    pub fn bounds(index: u8) -> (u64, Option<u64>) {
        let i = u32::from(index);
        let low = if i == 0 { 0 } else { 1u64 << i };
        let high = (usize::from(index) < LOG2_BUCKETS - 1).then(|| 1u64 << (i + 1));
        (low, high)
    }

    /// The bucket holding the `q`-quantile (0 < q <= 1) of the bucketed values, as its
    /// `[low, high)` bounds; None when empty.
    pub fn quantile_bucket(&self, q: f64) -> Option<(u64, Option<u64>)> {
        let total: u64 = self.buckets.iter().map(|b| b.1).sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(i, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(Log2Histogram::bounds(i));
            }
        }
        self.buckets.last().map(|b| Log2Histogram::bounds(b.0))
    }

    /// Mean of the values (exact: sum / count), ns.
    pub fn mean_ns(&self) -> Option<u64> {
        (self.count > 0).then(|| self.sum_ns / self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_and_the_last_is_open() {
        assert_eq!(Log2Histogram::bounds(0), (0, Some(2)));
        assert_eq!(Log2Histogram::bounds(1), (2, Some(4)));
        assert_eq!(Log2Histogram::bounds(10), (1024, Some(2048)));
        assert_eq!(Log2Histogram::bounds(39), (1 << 39, None));
    }

    #[test]
    fn quantiles_name_the_bucket_that_holds_them() {
        // 90 values in [1024, 2048), 10 in [1 ms, 2 ms).
        let mut dense = [0u64; LOG2_BUCKETS];
        dense[10] = 90;
        dense[20] = 10;
        let h = Log2Histogram::from_dense(100, 90 * 1500 + 10 * 1_500_000, &dense);
        assert_eq!(h.buckets, vec![(10, 90), (20, 10)]);
        assert_eq!(h.quantile_bucket(0.5), Some((1024, Some(2048))));
        assert_eq!(h.quantile_bucket(0.9), Some((1024, Some(2048))));
        assert_eq!(h.quantile_bucket(0.91), Some((1 << 20, Some(1 << 21))));
        assert_eq!(h.quantile_bucket(1.0), Some((1 << 20, Some(1 << 21))));
        assert_eq!(h.mean_ns(), Some(151_350));
        assert_eq!(Log2Histogram::default().quantile_bucket(0.5), None);
        let mut twice = h.clone();
        twice.merge(&h);
        assert_eq!(twice.count, 200);
        assert_eq!(twice.buckets, vec![(10, 180), (20, 20)]);
    }

    #[test]
    fn a_thread_counts_its_window_and_its_off_cpu_time() {
        let start = ThreadCounters {
            read_ns: 1_000,
            on_cpu_ns: 500,
            voluntary_switches: 3,
            involuntary_switches: 1,
            run_delay_ns: Some(40),
            runs: Some(4),
        };
        let last = ThreadCounters {
            read_ns: 11_000,
            on_cpu_ns: 4_500,
            voluntary_switches: 10,
            involuntary_switches: 2,
            run_delay_ns: Some(100),
            runs: Some(12),
        };
        let t = ThreadAggregate {
            tid: 7,
            started_ns: 10,
            at_start: Some(start),
            last,
            ..Default::default()
        };
        let w = t.in_window();
        assert_eq!(
            (w.on_cpu_ns, w.voluntary_switches, w.involuntary_switches),
            (4_000, 7, 1)
        );
        assert_eq!((w.run_delay_ns, w.runs), (Some(60), Some(8)));
        assert_eq!(t.lived_ns(1_000), 10_000);
        assert_eq!(t.off_cpu_ns(1_000), 6_000);
        // Born in the window and exited: everything counts, from its start to its exit.
        let born = ThreadAggregate {
            started_ns: 2_000,
            exited_ns: Some(5_000),
            at_start: None,
            last: ThreadCounters {
                read_ns: 5_000,
                on_cpu_ns: 1_000,
                run_delay_ns: None,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(born.in_window().on_cpu_ns, 1_000);
        assert_eq!(born.off_cpu_ns(1_000), 2_000);
        assert_eq!(born.in_window().run_delay_ns, None);
    }

    #[test]
    fn the_json_round_trips() {
        let k = KernelAggregates {
            ts_ns: 2,
            since_ns: 1,
            threads: vec![ThreadAggregate {
                tid: 9,
                comm: "worker".into(),
                ..Default::default()
            }],
            syscalls: vec![SyscallAggregate {
                tid: 9,
                nr: 110,
                count: 3,
                errors: 0,
                latency: Log2Histogram::from_dense(3, 300, &[0, 0, 0, 0, 0, 0, 3]),
            }],
            in_flight: vec![InFlightSyscall {
                tid: 9,
                nr: 202,
                since_ns: 1,
            }],
            lost: AggregatesLost {
                thread_updates: 0,
                syscalls: 1,
            },
        };
        let json = serde_json::to_string(&k).unwrap();
        assert!(json.contains(r#""buckets":[[6,3]]"#), "{json}");
        assert_eq!(serde_json::from_str::<KernelAggregates>(&json).unwrap(), k);
        // Missing fields read as defaults.
        let empty: KernelAggregates = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, KernelAggregates::default());
    }
}
