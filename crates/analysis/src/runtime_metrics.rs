//! The report's `runtime_metrics` section: the runtime's own statistics, read from the target's
//! memory about once a second and at the end (`goroscope_events::RuntimeStats`), named as
//! `runtime/metrics` names them, as deltas over the recording's window (first reading → last)
//! and as totals at the end, beside goroscope's own numbers where it has them (its
//! runnable→running latency next to the runtime's sampled `/sched/latencies:seconds`, its
//! stop-the-world pauses next to the runtime's pause histograms, the goroutines it saw created
//! and the GC cycles it counted).
//!
//! Quantiles of a runtime histogram are bucket upper boundaries (the runtime keeps no finer
//! detail), so they never understate.

use goroscope_events::{MetricHistogram, RuntimeStats};
use serde::{Deserialize, Serialize};

/// The first and last readings seen (all the section needs), and how many there were.
#[derive(Debug, Clone, Default)]
pub struct RuntimeStatsWindow {
    first: Option<RuntimeStats>,
    last: Option<RuntimeStats>,
    readings: u64,
}

impl RuntimeStatsWindow {
    /// Takes one reading (in time order: a reading older than the last is ignored).
    pub fn observe(&mut self, stats: &RuntimeStats) {
        if self.last.as_ref().is_some_and(|l| stats.ts_ns < l.ts_ns) {
            return;
        }
        self.readings += 1;
        if self.first.is_none() {
            self.first = Some(stats.clone());
        }
        self.last = Some(stats.clone());
    }

    /// The section, or None without readings (recordings that predate them, or a target whose
    /// layout was not understood).
    pub fn report(&self, own: &Goroscope, start_ns: u64) -> Option<RuntimeMetricsReport> {
        let (first, last) = (self.first.as_ref()?, self.last.as_ref()?);
        let boundaries = last.scheme.boundaries_ns();
        let mut histograms = vec![histogram(
            "/sched/latencies:seconds",
            "sched.timeToRun",
            Some(&first.sched_latencies),
            Some(&last.sched_latencies),
            &boundaries,
        )];
        let sources = [
            "sched.stwStoppingTimeGC",
            "sched.stwStoppingTimeOther",
            "sched.stwTotalTimeGC",
            "sched.stwTotalTimeOther",
        ];
        for (((name, at_end), (_, at_start)), source) in last
            .stw_histograms()
            .into_iter()
            .zip(first.stw_histograms())
            .zip(sources)
        {
            if at_end.is_some() {
                histograms.push(histogram(name, source, at_start, at_end, &boundaries));
            }
        }
        let scalars = scalars(first, last);
        let runtime_latency = &histograms[0].window.quantiles;
        let vs_goroscope = VsGoroscope {
            sched_latency: LatencyComparison {
                runtime: runtime_latency.clone(),
                goroscope: own.sched_latency.clone(),
            },
            stw_pauses: StwComparison {
                runtime_gc: count_of(&histograms, "/sched/pauses/total/gc:seconds"),
                runtime_other: count_of(&histograms, "/sched/pauses/total/other:seconds"),
                goroscope: own.stw_pauses,
                goroscope_total_ns: own.stw_total_ns,
                goroscope_max_ns: own.stw_max_ns,
            },
            goroutines_created: PairComparison {
                runtime: last.goid_generator.saturating_sub(first.goid_generator),
                goroscope: own.goroutines_created,
            },
            gc_cycles: PairComparison {
                runtime: last
                    .gc_cycles
                    .zip(first.gc_cycles)
                    .map_or(0, |(l, f)| u64::from(l.wrapping_sub(f))),
                goroscope: own.gc_cycles,
            },
        };
        Some(RuntimeMetricsReport {
            readings: self.readings,
            from_ns: first.ts_ns.saturating_sub(start_ns),
            to_ns: last.ts_ns.saturating_sub(start_ns),
            histograms,
            scalars,
            vs_goroscope,
        })
    }
}

/// goroscope's own numbers the section puts beside the runtime's (from the rest of the report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Goroscope {
    pub sched_latency: Quantiles,
    pub stw_pauses: u64,
    pub stw_total_ns: u64,
    pub stw_max_ns: u64,
    pub goroutines_created: u64,
    pub gc_cycles: u64,
}

/// `runtime_metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeMetricsReport {
    /// Readings of the runtime's statistics in the recording.
    pub readings: u64,
    /// The window the deltas cover: the first and the last reading, ns since the trace start.
    pub from_ns: u64,
    pub to_ns: u64,
    /// `/sched/latencies:seconds`, then the `/sched/pauses/...` ones the Go version has (1.22+).
    pub histograms: Vec<HistogramMetric>,
    pub scalars: Vec<ScalarMetric>,
    pub vs_goroscope: VsGoroscope,
}

/// One runtime histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramMetric {
    /// The `runtime/metrics` name.
    pub name: String,
    /// Where it was read: the `runtime.sched` field.
    pub source: String,
    /// What was recorded between the first and the last reading.
    pub window: HistogramSummary,
    /// Everything the runtime recorded since it started, at the last reading.
    pub at_end: HistogramSummary,
}

/// A histogram's count, quantiles (bucket upper boundaries) and non-empty buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistogramSummary {
    #[serde(flatten)]
    pub quantiles: Quantiles,
    /// The non-empty buckets in order: `[lower_ns, upper_ns)`, null for -Inf / +Inf.
    pub buckets: Vec<MetricBucket>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantiles {
    pub count: u64,
    pub p50_ns: Option<u64>,
    pub p90_ns: Option<u64>,
    pub p99_ns: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricBucket {
    pub lower_ns: Option<u64>,
    pub upper_ns: Option<u64>,
    pub count: u64,
}

/// One runtime counter or gauge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalarMetric {
    /// The `runtime/metrics` name (values in `unit`, which for `:seconds` metrics is "ns").
    pub name: String,
    pub source: String,
    pub unit: String,
    pub at_start: i64,
    pub at_end: i64,
    /// `at_end - at_start`.
    pub delta: i64,
    /// What differs from the runtime's own figure, if anything.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsGoroscope {
    pub sched_latency: LatencyComparison,
    pub stw_pauses: StwComparison,
    /// Over the window: the runtime's goroutine id generator vs the creations goroscope saw.
    pub goroutines_created: PairComparison,
    /// Over the window: `memstats.numgc` vs goroscope's GC cycles (sweep-termination pauses).
    pub gc_cycles: PairComparison,
}

/// Runnable → running: the runtime's (1 transition in 8, over the window) and goroscope's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyComparison {
    pub runtime: Quantiles,
    pub goroscope: Quantiles,
}

/// Stop-the-world pauses over the window: the runtime's GC and other pauses, goroscope's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StwComparison {
    /// None before Go 1.22 (no pause histograms).
    pub runtime_gc: Option<u64>,
    pub runtime_other: Option<u64>,
    pub goroscope: u64,
    pub goroscope_total_ns: u64,
    pub goroscope_max_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairComparison {
    pub runtime: u64,
    pub goroscope: u64,
}

fn histogram(
    name: &str,
    source: &str,
    at_start: Option<&MetricHistogram>,
    at_end: Option<&MetricHistogram>,
    boundaries: &[f64],
) -> HistogramMetric {
    let empty = MetricHistogram::default();
    let at_end = at_end.unwrap_or(&empty);
    let window = at_start.map_or_else(|| at_end.clone(), |s| at_end.since(s));
    HistogramMetric {
        name: name.to_string(),
        source: source.to_string(),
        window: summarize(&window, boundaries),
        at_end: summarize(at_end, boundaries),
    }
}

fn summarize(h: &MetricHistogram, boundaries: &[f64]) -> HistogramSummary {
    let q = |p| h.quantile_ns(boundaries, p).map(|ns| ns as u64);
    let bound = |i: usize| {
        boundaries
            .get(i)
            .filter(|b| b.is_finite())
            .map(|&b| b.max(0.0) as u64)
    };
    HistogramSummary {
        quantiles: Quantiles {
            count: h.total(),
            p50_ns: q(0.5),
            p90_ns: q(0.9),
            p99_ns: q(0.99),
        },
        buckets: h
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &count)| MetricBucket {
                lower_ns: bound(i),
                upper_ns: bound(i + 1),
                count,
            })
            .collect(),
    }
}

fn count_of(histograms: &[HistogramMetric], name: &str) -> Option<u64> {
    histograms
        .iter()
        .find(|h| h.name == name)
        .map(|h| h.window.quantiles.count)
}

fn scalars(first: &RuntimeStats, last: &RuntimeStats) -> Vec<ScalarMetric> {
    let mut out = Vec::new();
    let mut push = |name: &str, source: &str, unit: &str, a: i64, b: i64, note: &str| {
        out.push(ScalarMetric {
            name: name.to_string(),
            source: source.to_string(),
            unit: unit.to_string(),
            at_start: a,
            at_end: b,
            delta: b.saturating_sub(a),
            note: note.to_string(),
        });
    };
    if let (Some(a), Some(b)) = (first.gc_cycles, last.gc_cycles) {
        let (a, b) = (i64::from(a), i64::from(b));
        push(
            "/gc/cycles/total:gc-cycles",
            "memstats.numgc",
            "gc-cycles",
            a,
            b,
            "",
        );
    }
    if let (Some(a), Some(b)) = (first.forced_gc_cycles, last.forced_gc_cycles) {
        let (a, b) = (i64::from(a), i64::from(b));
        push(
            "/gc/cycles/forced:gc-cycles",
            "memstats.numforcedgc",
            "gc-cycles",
            a,
            b,
            "",
        );
    }
    if let (Some(a), Some(b)) = (first.total_mutex_wait_ns(), last.total_mutex_wait_ns()) {
        let note = if last.runtime_lock_wait_ns.is_some() && !last.runtime_lock_wait_per_m {
            "without the live Ms' runtime-lock wait (runtime.allm is not known in a stripped \
             binary)"
        } else {
            ""
        };
        push(
            "/sync/mutex/wait/total:seconds",
            "sched.totalMutexWaitTime + sched.totalRuntimeLockWaitTime + m.mLockProfile.waitTime",
            "ns",
            a,
            b,
            note,
        );
    }
    if let (Some(a), Some(b)) = (first.mutex_wait_ns, last.mutex_wait_ns) {
        push(
            "sync.Mutex and RWMutex wait",
            "sched.totalMutexWaitTime",
            "ns",
            a,
            b,
            "",
        );
    }
    let goids = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    push(
        "/sched/goroutines-created:goroutines",
        "sched.goidgen",
        "goroutines",
        goids(first.goid_generator),
        goids(last.goid_generator),
        "goroutine ids handed to Ps, 16 at a time: at least the goroutines created, at most 16 \
         per P more",
    );
    push(
        "/sched/threads/total:threads",
        "sched.mnext - sched.nmfreed",
        "threads",
        first.threads,
        last.threads,
        "",
    );
    push(
        "/sched/gomaxprocs:threads",
        "runtime.gomaxprocs",
        "threads",
        i64::from(first.gomaxprocs),
        i64::from(last.gomaxprocs),
        "",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use goroscope_events::TimeHistScheme;

    fn stats(ts_ns: u64, fill: u64) -> RuntimeStats {
        let scheme = TimeHistScheme::MinMaxBits {
            min_bucket_bits: 9,
            max_bucket_bits: 48,
            sub_bucket_bits: 2,
        };
        let mut counts = vec![0; scheme.metric_buckets()];
        counts[1] = 10 * fill; // [0, 64) ns
        counts[13] = fill; // [1024, 1280) ns
        let h = MetricHistogram { counts };
        RuntimeStats {
            ts_ns,
            scheme,
            sched_latencies: h.clone(),
            stw_stopping_gc: Some(h.clone()),
            stw_stopping_other: Some(MetricHistogram::default()),
            stw_total_gc: Some(h),
            stw_total_other: Some(MetricHistogram {
                counts: vec![0; scheme.metric_buckets()],
            }),
            mutex_wait_ns: Some(1000 * fill as i64),
            runtime_lock_wait_ns: Some(10),
            runtime_lock_wait_per_m: false,
            goid_generator: 16 * fill,
            threads: 5,
            gc_cycles: Some(fill as u32),
            forced_gc_cycles: Some(0),
            gomaxprocs: 2,
        }
    }

    #[test]
    fn deltas_over_the_window_and_totals_at_the_end() {
        let mut w = RuntimeStatsWindow::default();
        assert!(w.report(&Goroscope::default(), 0).is_none());
        w.observe(&stats(1_000, 1));
        w.observe(&stats(2_000, 2));
        w.observe(&stats(1_500, 9)); // out of order: ignored
        w.observe(&stats(3_000, 4));
        let own = Goroscope {
            goroutines_created: 40,
            gc_cycles: 3,
            stw_pauses: 6,
            ..Goroscope::default()
        };
        let r = w.report(&own, 500).unwrap();
        assert_eq!((r.readings, r.from_ns, r.to_ns), (3, 500, 2_500));
        let lat = &r.histograms[0];
        assert_eq!(lat.name, "/sched/latencies:seconds");
        assert_eq!(lat.window.quantiles.count, 33);
        assert_eq!(lat.at_end.quantiles.count, 44);
        assert_eq!(lat.window.quantiles.p50_ns, Some(64));
        assert_eq!(lat.window.quantiles.p99_ns, Some(1280));
        assert_eq!(
            lat.window.buckets[1],
            MetricBucket {
                lower_ns: Some(1024),
                upper_ns: Some(1280),
                count: 3
            }
        );
        assert_eq!(r.histograms.len(), 5);
        assert_eq!(r.vs_goroscope.stw_pauses.runtime_gc, Some(33));
        assert_eq!(r.vs_goroscope.stw_pauses.runtime_other, Some(0));
        assert_eq!(r.vs_goroscope.goroutines_created.runtime, 48);
        assert_eq!(r.vs_goroscope.gc_cycles.runtime, 3);
        let gc = r
            .scalars
            .iter()
            .find(|s| s.name.starts_with("/gc/cycles/total"))
            .unwrap();
        assert_eq!((gc.at_start, gc.at_end, gc.delta), (1, 4, 3));
        let mutex = r
            .scalars
            .iter()
            .find(|s| s.name == "/sync/mutex/wait/total:seconds")
            .unwrap();
        assert_eq!((mutex.at_end, mutex.delta), (4010, 3000));
        assert!(mutex.note.contains("stripped"));
    }

    #[test]
    fn underflow_and_overflow_buckets_have_open_ends() {
        let scheme = TimeHistScheme::MinMaxBits {
            min_bucket_bits: 9,
            max_bucket_bits: 48,
            sub_bucket_bits: 2,
        };
        let mut counts = vec![0; scheme.metric_buckets()];
        counts[0] = 1;
        counts[161] = 2;
        let s = summarize(&MetricHistogram { counts }, &scheme.boundaries_ns());
        assert_eq!(s.buckets[0].lower_ns, None);
        assert_eq!(s.buckets[0].upper_ns, Some(0));
        assert_eq!(s.buckets[1].lower_ns, Some(1 << 47));
        assert_eq!(s.buckets[1].upper_ns, None);
        assert_eq!(s.quantiles.p99_ns, Some(1 << 47));
    }
}
