//! The report's `kernel` section: the traced process's threads (on/off-CPU time, voluntary and
//! involuntary switches, kernel run-queue delay) and its system calls (by number and thread:
//! count, errors, time, latency percentiles), from the kernel-side aggregates the tracer keeps
//! in BPF maps (`goroscope_events::KernelAggregates`). Every reading covers the recording so far,
//! so the section is built from the last one.
//!
//! Exact: the kernel's own per-thread counters (on-CPU time, switches, run-queue delay and runs)
//! and the syscall counts, errors and total time. Bucketed: the runnable-wait and syscall latency
//! percentiles, read from log2 histograms (each is the upper bound of the power-of-two bucket
//! that holds it). Not captured: a level without aggregates says so, and why.

use std::collections::BTreeMap;

use goroscope_events::{syscall_name, AggregatesLost, Fact, KernelAggregates, Log2Histogram, Meta};
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;

/// Keeps the last reading (each supersedes the ones before).
#[derive(Debug, Clone, Default)]
pub struct KernelAggregatesWindow {
    last: Option<KernelAggregates>,
    readings: u64,
}

impl KernelAggregatesWindow {
    pub fn observe(&mut self, k: &KernelAggregates) {
        self.readings += 1;
        if self.last.as_ref().is_none_or(|l| k.ts_ns >= l.ts_ns) {
            self.last = Some(k.clone());
        }
    }

    /// The section; `meta` says whether a missing reading means "not captured".
    pub fn report(&self, meta: &Meta) -> KernelReport {
        let what = "kernel-side aggregates of threads and system calls";
        let coverage = Coverage::of(meta, Fact::KernelAggregates, self.last.is_some(), what);
        let Some(k) = &self.last else {
            // Absent although its level keeps them today: a file from before format 4.
            let level_keeps = meta
                .level
                .is_some_and(|l| l.capabilities().get(Fact::KernelAggregates).captures());
            let coverage = if coverage.captured {
                Coverage::no("no kernel aggregates in this recording")
            } else if level_keeps {
                Coverage::no("this recording predates kernel aggregates (recording format 4)")
            } else {
                coverage
            };
            return KernelReport {
                coverage,
                ..KernelReport::default()
            };
        };
        build(k, self.readings, coverage)
    }
}

/// `kernel` in the report JSON (docs/report-schema.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelReport {
    /// `captured`, and `why` not.
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Readings of the aggregates in the recording.
    pub readings: u64,
    /// The window the aggregates cover: from the first reading to the last.
    pub window_ns: u64,
    /// How exact each part is.
    pub precision: Precision,
    /// Per thread, by tid.
    pub threads: Vec<KernelThreadRow>,
    /// Summed over the threads.
    pub thread_totals: KernelThreadTotals,
    /// Per syscall number, summed over the threads, most time first.
    pub syscalls: Vec<KernelSyscallRow>,
    /// Per thread and syscall number, by tid then most time first.
    pub syscalls_by_thread: Vec<KernelSyscallRow>,
    /// System calls live threads were in at the last reading (not in the rows above), longest
    /// first.
    pub syscalls_in_flight: Vec<KernelInFlightRow>,
    /// Updates the kernel could not store (a bounded map was full).
    pub lost: AggregatesLost,
}

/// A system call a thread was in at the last reading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelInFlightRow {
    pub tid: u32,
    pub nr: u32,
    pub name: String,
    /// How long it had been in it.
    pub for_ns: u64,
}

/// What each part's numbers are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precision {
    /// On/off-CPU time, switches, run-queue delay and runs: the kernel's own counters.
    pub thread_counters: String,
    /// Runnable-wait percentiles.
    pub runnable_waits: String,
    /// Syscall counts, errors and total time.
    pub syscall_counts: String,
    /// Syscall latency percentiles.
    pub syscall_latency: String,
}

impl Default for Precision {
    fn default() -> Self {
        Precision {
            thread_counters: "exact".into(),
            runnable_waits: "log2_buckets".into(),
            syscall_counts: "exact".into(),
            syscall_latency: "log2_buckets".into(),
        }
    }
}

/// One thread within the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelThreadRow {
    pub tid: u32,
    pub comm: String,
    pub exited: bool,
    /// Its life within the window.
    pub lived_ns: u64,
    pub on_cpu_ns: u64,
    /// `lived_ns - on_cpu_ns`: asleep, blocked, or waiting for a CPU.
    pub off_cpu_ns: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// Runnable but waiting in a kernel run queue (None: the kernel keeps no such counter).
    pub run_delay_ns: Option<u64>,
    /// Times it got a CPU.
    pub runs: Option<u64>,
    /// Waits from becoming runnable to running, as BPF measured them.
    pub runnable_waits: BucketedLatency,
}

/// Summed over the threads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelThreadTotals {
    pub threads: u64,
    pub exited: u64,
    pub on_cpu_ns: u64,
    pub off_cpu_ns: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    pub run_delay_ns: Option<u64>,
    pub runs: Option<u64>,
    pub runnable_waits: BucketedLatency,
}

/// One syscall number (on one thread, or summed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KernelSyscallRow {
    pub nr: u32,
    pub name: String,
    /// The thread; None in the per-number rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
    pub count: u64,
    pub errors: u64,
    pub total_ns: u64,
    pub latency: BucketedLatency,
}

/// A latency distribution known to log2 buckets: count, total and mean are exact; each
/// percentile is the upper bound of the bucket that holds it (None past the last bucket's
/// lower bound, 2^39 ns).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketedLatency {
    pub count: u64,
    pub total_ns: u64,
    pub mean_ns: Option<u64>,
    pub p50_le_ns: Option<u64>,
    pub p90_le_ns: Option<u64>,
    pub p99_le_ns: Option<u64>,
    pub max_le_ns: Option<u64>,
}

impl BucketedLatency {
    pub fn of(h: &Log2Histogram) -> BucketedLatency {
        let upper = |q: f64| h.quantile_bucket(q).and_then(|(_, high)| high);
        BucketedLatency {
            count: h.count,
            total_ns: h.sum_ns,
            mean_ns: h.mean_ns(),
            p50_le_ns: upper(0.5),
            p90_le_ns: upper(0.9),
            p99_le_ns: upper(0.99),
            max_le_ns: upper(1.0),
        }
    }
}

/// Where the per-event parts (thread on/off CPU and switches from `sched_switch`, syscalls from
/// the raw_syscalls records) were not captured but the aggregates were: their "not captured"
/// says where the exact per-thread and per-syscall numbers are.
pub fn point_to_aggregates(report: &mut crate::Report) {
    if !report.kernel.coverage.captured {
        return;
    }
    let add = |c: &mut Coverage, what: &str| {
        if !c.captured {
            c.why = Some(format!(
                "{}; {what} are in the kernel aggregates (`kernel`)",
                c.why_text()
            ));
        }
    };
    add(
        &mut report.threads.cpu,
        "each thread's exact on/off-CPU time and switches",
    );
    add(
        &mut report.scheduler.syscalls.kernel.coverage,
        "the system calls by name and thread, with counts, time and latency",
    );
}

fn build(k: &KernelAggregates, readings: u64, coverage: Coverage) -> KernelReport {
    let add = |a: Option<u64>, b: Option<u64>| Some(a? + b?);
    let mut totals = KernelThreadTotals {
        run_delay_ns: Some(0),
        runs: Some(0),
        ..Default::default()
    };
    let mut all_waits = Log2Histogram::default();
    let mut threads = Vec::new();
    for t in &k.threads {
        let w = t.in_window();
        let row = KernelThreadRow {
            tid: t.tid,
            comm: t.comm.clone(),
            exited: t.exited_ns.is_some(),
            lived_ns: t.lived_ns(k.since_ns),
            on_cpu_ns: w.on_cpu_ns,
            off_cpu_ns: t.off_cpu_ns(k.since_ns),
            voluntary_switches: w.voluntary_switches,
            involuntary_switches: w.involuntary_switches,
            run_delay_ns: w.run_delay_ns,
            runs: w.runs,
            runnable_waits: BucketedLatency::of(&t.runnable_waits),
        };
        totals.threads += 1;
        totals.exited += u64::from(row.exited);
        totals.on_cpu_ns += row.on_cpu_ns;
        totals.off_cpu_ns += row.off_cpu_ns;
        totals.voluntary_switches += row.voluntary_switches;
        totals.involuntary_switches += row.involuntary_switches;
        totals.run_delay_ns = add(totals.run_delay_ns, row.run_delay_ns);
        totals.runs = add(totals.runs, row.runs);
        all_waits.merge(&t.runnable_waits);
        threads.push(row);
    }
    if threads.is_empty() {
        (totals.run_delay_ns, totals.runs) = (None, None);
    }
    totals.runnable_waits = BucketedLatency::of(&all_waits);

    let mut by_nr: BTreeMap<u32, (u64, Log2Histogram)> = BTreeMap::new();
    let mut syscalls_by_thread = Vec::new();
    for s in &k.syscalls {
        let sum = by_nr.entry(s.nr).or_default();
        sum.0 += s.errors;
        sum.1.merge(&s.latency);
        syscalls_by_thread.push(syscall_row(s.nr, Some(s.tid), s.errors, &s.latency));
    }
    let mut syscalls: Vec<KernelSyscallRow> = by_nr
        .iter()
        .map(|(&nr, (errors, h))| syscall_row(nr, None, *errors, h))
        .collect();
    syscalls.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.nr.cmp(&b.nr)));
    syscalls_by_thread.sort_by(|a, b| {
        (a.tid, std::cmp::Reverse(a.total_ns), a.nr).cmp(&(
            b.tid,
            std::cmp::Reverse(b.total_ns),
            b.nr,
        ))
    });
    let mut syscalls_in_flight: Vec<KernelInFlightRow> = k
        .in_flight
        .iter()
        .map(|c| KernelInFlightRow {
            tid: c.tid,
            nr: c.nr,
            name: syscall_name(i64::from(c.nr)).into_owned(),
            for_ns: k.ts_ns.saturating_sub(c.since_ns),
        })
        .collect();
    syscalls_in_flight.sort_by(|a, b| b.for_ns.cmp(&a.for_ns).then(a.tid.cmp(&b.tid)));
    KernelReport {
        coverage,
        readings,
        syscalls_in_flight,
        window_ns: k.ts_ns.saturating_sub(k.since_ns),
        precision: Precision::default(),
        threads,
        thread_totals: totals,
        syscalls,
        syscalls_by_thread,
        lost: k.lost,
    }
}

fn syscall_row(nr: u32, tid: Option<u32>, errors: u64, h: &Log2Histogram) -> KernelSyscallRow {
    KernelSyscallRow {
        nr,
        name: syscall_name(i64::from(nr)).into_owned(),
        tid,
        count: h.count,
        errors,
        total_ns: h.sum_ns,
        latency: BucketedLatency::of(h),
    }
}

#[cfg(test)]
mod tests {
    use goroscope_events::{Level, SyscallAggregate, ThreadAggregate, ThreadCounters};

    use super::*;

    fn counters(read_ns: u64, on_cpu: u64, v: u64, nv: u64) -> ThreadCounters {
        ThreadCounters {
            read_ns,
            on_cpu_ns: on_cpu,
            voluntary_switches: v,
            involuntary_switches: nv,
            run_delay_ns: Some(on_cpu / 10),
            runs: Some(v + nv),
        }
    }

    fn aggregates() -> KernelAggregates {
        let mut dense = [0u64; 40];
        dense[12] = 9;
        dense[20] = 1;
        KernelAggregates {
            ts_ns: 11_000_000,
            since_ns: 1_000_000,
            threads: vec![
                ThreadAggregate {
                    tid: 10,
                    comm: "app".into(),
                    started_ns: 0,
                    at_start: Some(counters(1_000_000, 500_000, 5, 1)),
                    last: counters(11_000_000, 4_500_000, 25, 4),
                    runnable_waits: Log2Histogram::from_dense(10, 9 * 5_000 + 1_500_000, &dense),
                    ..Default::default()
                },
                ThreadAggregate {
                    tid: 11,
                    comm: "app".into(),
                    started_ns: 2_000_000,
                    exited_ns: Some(4_000_000),
                    at_start: None,
                    last: counters(4_000_000, 1_000_000, 3, 0),
                    ..Default::default()
                },
            ],
            syscalls: vec![
                SyscallAggregate {
                    tid: 10,
                    nr: 110,
                    count: 100,
                    errors: 0,
                    latency: Log2Histogram::from_dense(100, 100 * 300, &{
                        let mut d = [0u64; 40];
                        d[8] = 100;
                        d
                    }),
                },
                SyscallAggregate {
                    tid: 11,
                    nr: 110,
                    count: 1,
                    errors: 1,
                    latency: Log2Histogram::from_dense(1, 600, &{
                        let mut d = [0u64; 40];
                        d[9] = 1;
                        d
                    }),
                },
            ],
            in_flight: vec![goroscope_events::InFlightSyscall {
                tid: 10,
                nr: 202,
                since_ns: 3_000_000,
            }],
            lost: AggregatesLost::default(),
        }
    }

    #[test]
    fn threads_show_their_window_and_syscalls_sum_by_number() {
        let mut w = KernelAggregatesWindow::default();
        w.observe(&KernelAggregates {
            ts_ns: 1_000_000,
            since_ns: 1_000_000,
            ..Default::default()
        });
        w.observe(&aggregates());
        let r = w.report(&Meta::new("go1.27.3").with_level(Level::Default));
        assert!(r.coverage.captured);
        assert_eq!((r.readings, r.window_ns), (2, 10_000_000));
        let t = &r.threads[0];
        assert_eq!(
            (t.tid, t.on_cpu_ns, t.lived_ns),
            (10, 4_000_000, 10_000_000)
        );
        assert_eq!(t.off_cpu_ns, 6_000_000);
        assert_eq!((t.voluntary_switches, t.involuntary_switches), (20, 3));
        assert_eq!((t.run_delay_ns, t.runs), (Some(400_000), Some(23)));
        assert_eq!(t.runnable_waits.p50_le_ns, Some(8192));
        assert_eq!(t.runnable_waits.p99_le_ns, Some(1 << 21));
        let born = &r.threads[1];
        assert!(born.exited);
        assert_eq!((born.on_cpu_ns, born.off_cpu_ns), (1_000_000, 1_000_000));
        assert_eq!(r.thread_totals.voluntary_switches, 23);
        assert_eq!(r.thread_totals.run_delay_ns, Some(500_000));
        let getppid = &r.syscalls[0];
        assert_eq!((getppid.name.as_str(), getppid.count), ("getppid", 101));
        assert_eq!((getppid.errors, getppid.total_ns), (1, 30_600));
        assert_eq!(getppid.latency.p50_le_ns, Some(512));
        assert_eq!(getppid.latency.max_le_ns, Some(1024));
        assert_eq!(r.syscalls_by_thread.len(), 2);
        assert_eq!(r.syscalls_by_thread[1].tid, Some(11));
        let waiting = &r.syscalls_in_flight;
        assert_eq!(waiting.len(), 1);
        assert_eq!(
            (waiting[0].name.as_str(), waiting[0].for_ns),
            ("futex", 8_000_000)
        );
    }

    #[test]
    fn per_event_parts_not_captured_point_to_the_aggregates() {
        use goroscope_events::{Capability, Event, EventKind};
        let mut meta = Meta::new("go1.27.3").with_level(Level::Default);
        // The new default: aggregates, no per-event switches or syscalls.
        let mut c = Level::Default.capabilities();
        c.set(Fact::ContextSwitches, Capability::Absent);
        c.set(Fact::KernelSyscalls, Capability::Absent);
        meta.capabilities = c;
        let mut analyzer = crate::Analyzer::new(crate::Options::default());
        analyzer.push(Event {
            ts_ns: 1_000_000,
            tid: 10,
            cpu: 0,
            kind: EventKind::MStart { m_id: 0 },
        });
        analyzer.observe_kernel_aggregates(&aggregates());
        let r = analyzer.finish(&meta);
        assert!(r.kernel.coverage.captured);
        assert!(!r.threads.cpu.captured);
        let why = r.threads.cpu.why_text();
        assert!(why.contains("kernel aggregates"), "{why}");
        let why = r.scheduler.syscalls.kernel.coverage.why_text();
        assert!(why.contains("kernel aggregates"), "{why}");
    }

    #[test]
    fn a_level_without_aggregates_says_not_captured() {
        let w = KernelAggregatesWindow::default();
        let r = w.report(&Meta::new("go1.27.3").with_level(Level::Monitor));
        assert!(!r.coverage.captured);
        assert!(
            r.coverage.why_text().contains("--level default"),
            "{:?}",
            r.coverage
        );
        assert!(r.threads.is_empty());
        let r = w.report(&Meta::new("go1.27.3").with_level(Level::Default));
        assert!(!r.coverage.captured);
        // A default-level file from before format 4 (the reader marks the fact absent).
        let mut old = Meta::new("go1.27.3").with_level(Level::Default);
        old.capabilities
            .set(Fact::KernelAggregates, goroscope_events::Capability::Absent);
        let r = w.report(&old);
        assert!(
            r.coverage.why_text().contains("predates"),
            "{:?}",
            r.coverage
        );
    }
}
