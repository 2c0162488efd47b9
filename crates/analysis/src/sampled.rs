//! Scheduling latency estimated from the runtime's own 1-in-8 sampler (`go_sample` events, the
//! default level): how long sampled goroutines waited to run (the runtime's `g.runnableTime`,
//! what `/sched/latencies:seconds` records), by creation site, start function and the stack
//! where they had stopped, and the sampled creations by site. Everything here is an estimate:
//! each number comes with its sample count and a 95% interval.
//!
//! What a sample stands for depends on the Go version (proc.go, `casgstatus`): a goroutine is
//! tracked on one transition in `gTrackingPeriod` (8) out of `_Grunning` (Go ≤ 1.25, which
//! includes entering a syscall: a fast syscall return is then a 0 ns "wait") or out of
//! `_Grunning`/`_Gsyscall` except the running↔syscall flips (Go 1.26+, golang/go#79391), and a
//! random 1 in 8 new goroutines are tracked from birth. Counts are scaled by 8, and by more for
//! the samples of a window after which the tracer's gate detached the sample probe for a while
//! (`attached.rs`: at the default level, when samples come faster than its rate limit).
//!
//! The intervals treat samples as independent. They are not quite: the runtime tracks with a
//! per-goroutine counter (`trackingSeq`) from a random start, so a goroutine that makes exactly 8
//! transitions per cycle is sampled at the same point of each cycle (e.g. a new goroutine
//! tracked at birth is tracked again at its first park). Sampled creations are independent (the
//! start is random per goroutine), so their binomial interval holds; the latency percentiles'
//! intervals are approximate for such periodic goroutines.

mod attached;
mod syscall_returns;

use std::collections::HashMap;

use goroscope_events::{Capability, Event, EventKind, Fact, Location, Meta};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;
use crate::sites::SiteKey;

pub use attached::SamplerTime;
pub use syscall_returns::{call_named, SyscallReturnRow};

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_985;
/// Rows shown per breakdown (the rest are summed in `other`).
const TOP_ROWS: usize = 20;
const HIGHEST_NS: u64 = 1 << 43;

/// A running breakdown row.
#[derive(Debug, Clone, Copy, Default)]
struct Agg {
    samples: u64,
    total_ns: u64,
    max_ns: u64,
    /// What the samples stand for: each counts 1, or more when the tracer's gate paused the
    /// probe after the window it came in (`attached.rs`); × one_in estimates the transitions.
    weight: f64,
    /// The waits times their weights: the estimated waiting (÷ weight: its mean).
    weighted_ns: f64,
}

impl Agg {
    fn add(&mut self, ns: u64, weight: f64) {
        self.samples += 1;
        self.total_ns = self.total_ns.saturating_add(ns);
        self.max_ns = self.max_ns.max(ns);
        self.weight += weight;
        self.weighted_ns += ns as f64 * weight;
    }

    /// The weighted mean wait.
    fn mean_ns(&self) -> u64 {
        if self.weight > 0.0 {
            (self.weighted_ns / self.weight).round() as u64
        } else {
            0
        }
    }

    /// This row's share of `all`'s estimated waiting.
    fn share_of(&self, all: &Agg) -> f64 {
        if all.weighted_ns > 0.0 {
            self.weighted_ns / all.weighted_ns
        } else {
            0.0
        }
    }
}

/// The accumulator.
#[derive(Debug, Clone)]
pub struct Sampled {
    hist: Histogram<u64>,
    all: Agg,
    /// Samples whose runnable time was negative (a clock step): counted as 0.
    negative: u64,
    by_site: HashMap<SiteKey, Agg>,
    by_start: HashMap<u64, Agg>,
    by_stack: HashMap<Option<u32>, (Agg, HashMap<u8, u64>)>,
    /// By stop stack and creation site (the syscall returns' sites: `syscall_returns`).
    by_stack_site: HashMap<(Option<u32>, SiteKey), Agg>,
    /// Sampled first runs by site: (samples, weight).
    first_runs: HashMap<SiteKey, (u64, f64)>,
    first_ts: Option<u64>,
    last_ts: u64,
    /// When the tracer's gate had detached the sample probe, and the samples whose weight
    /// waits for a pause's end.
    weighing: attached::Weighing<Sample>,
}

/// The runtime's own count of the transitions it tracked (its `/sched/latencies` histogram,
/// read from memory) between two readings, CLOCK_MONOTONIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeCount {
    pub from_ns: u64,
    pub to_ns: u64,
    pub tracked: u64,
}

/// What the breakdowns need of one sample.
#[derive(Debug, Clone, Copy)]
struct Sample {
    ns: u64,
    site: SiteKey,
    start_pc: u64,
    stack_id: Option<u32>,
    wait_reason: u8,
    first_run: bool,
}

impl Default for Sampled {
    fn default() -> Self {
        Sampled {
            hist: Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("constant bounds"),
            all: Agg::default(),
            negative: 0,
            by_site: HashMap::new(),
            by_start: HashMap::new(),
            by_stack: HashMap::new(),
            by_stack_site: HashMap::new(),
            first_runs: HashMap::new(),
            first_ts: None,
            last_ts: 0,
            weighing: attached::Weighing::default(),
        }
    }
}

impl Sampled {
    pub fn observe(&mut self, event: &Event) {
        if let EventKind::SamplerGate {
            paused,
            rate_per_s,
            window_ns,
        } = event.kind
        {
            let weighed = if paused {
                self.weighing.paused(event.ts_ns, window_ns, rate_per_s)
            } else {
                self.weighing.resumed(event.ts_ns)
            };
            for (sample, weight) in weighed {
                self.add(&sample, weight);
            }
            return;
        }
        let EventKind::GoSample {
            creation_pc,
            start_pc,
            runnable_ns,
            wait_reason,
            first_run,
            stack_id,
            ..
        } = event.kind
        else {
            return;
        };
        let ns = if runnable_ns < 0 {
            self.negative += 1;
            0
        } else {
            runnable_ns as u64
        };
        self.first_ts.get_or_insert(event.ts_ns);
        self.last_ts = self.last_ts.max(event.ts_ns);
        let sample = Sample {
            ns,
            site: SiteKey::from_creation_pc(creation_pc),
            start_pc,
            stack_id,
            wait_reason,
            first_run,
        };
        for (sample, weight) in self.weighing.sample(event.ts_ns, sample) {
            self.add(&sample, weight);
        }
    }

    /// Adds a sample standing for `weight` samples (1 unless the gate paused after its window).
    fn add(&mut self, s: &Sample, weight: f64) {
        let ns = s.ns;
        self.all.add(ns, weight);
        // The histogram counts in eighths of a sample, so that weights move the percentiles.
        let units = (weight * 8.0).round().max(1.0) as u64;
        let _ = self.hist.record_n(ns.clamp(1, HIGHEST_NS), units);
        self.by_site.entry(s.site).or_default().add(ns, weight);
        self.by_start.entry(s.start_pc).or_default().add(ns, weight);
        self.by_stack_site
            .entry((s.stack_id, s.site))
            .or_default()
            .add(ns, weight);
        let (agg, reasons) = self.by_stack.entry(s.stack_id).or_default();
        agg.add(ns, weight);
        if s.first_run {
            let (k, w) = self.first_runs.entry(s.site).or_default();
            *k += 1;
            *w += weight;
        } else {
            *reasons.entry(s.wait_reason).or_default() += 1;
        }
    }

    /// The report over the traced time `[start_ns, end_ns]` (what the sample probe's pauses
    /// are measured against; samples still waiting for their weight get it as if the stream
    /// ended at `end_ns`).
    ///
    /// When the gate paused the probe, `runtime` (the runtime's own count of its tracked
    /// transitions over most of the trace) calibrates the counts: the probe slows the program
    /// while attached (each sample costs it about 2 µs), so a window sees fewer transitions than
    /// the pause after it holds, and the windows alone would underestimate the busiest
    /// programs, the very ones the gate pauses.
    pub fn report(
        &self,
        meta: &Meta,
        start_ns: u64,
        end_ns: u64,
        runtime: Option<RuntimeCount>,
    ) -> SampledReport {
        if !self.weighing.is_empty() {
            let mut settled = self.clone();
            for (sample, weight) in settled.weighing.finish(end_ns) {
                settled.add(&sample, weight);
            }
            return settled.report(meta, start_ns, end_ns, runtime);
        }
        let one_in = match meta.capabilities.get(Fact::SampledScheduling) {
            Capability::Sampled { one_in } => one_in,
            _ => goroscope_events::G_TRACKING_PERIOD,
        };
        let mut sampler = self.weighing.time_over(start_ns, end_ns);
        sampler.calibration = self.calibration(&sampler, start_ns, end_ns, runtime);
        let one_in_f = f64::from(one_in.max(1)) * sampler.calibration.unwrap_or(1.0);
        // The transitions a weight stands for: 1 in `one_in` while the probe was attached.
        let scale = |weight: f64| (weight * one_in_f).round() as u64;
        // The chance a transition was sampled, for count intervals: the samples' own ratio to
        // what they stand for (1/one_in when the probe was never paused).
        let chance = |k: u64, weight: f64| {
            if k > 0 && weight > 0.0 {
                k as f64 / (weight * one_in_f)
            } else {
                sampler.attached_share / one_in_f
            }
        };
        let coverage = Coverage::of(
            meta,
            Fact::SampledScheduling,
            self.all.samples > 0,
            "the runtime's sampled scheduling episodes",
        );
        let n = self.all.samples;
        let latency = SampledLatency {
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p99: self.quantile(0.99),
            mean_ns: self.all.mean_ns(),
            max_ns: self.all.max_ns,
            total_ns: self.all.total_ns,
            negative_as_zero: self.negative,
        };
        let row = |key: Location, a: &Agg| SampledRow {
            function: key.function,
            file: key.file,
            line: key.line,
            samples: a.samples,
            estimated_transitions: scale(a.weight),
            total_wait_ns: a.total_ns,
            share_of_waiting: a.share_of(&self.all),
            sample_share: share(a.samples, n),
            sample_share_ci: proportion_ci(a.samples, n),
            mean_ns: a.mean_ns(),
            max_ns: a.max_ns,
        };
        let by_site = top(self
            .by_site
            .iter()
            .map(|(k, a)| row(k.locate(meta.symbolizer.as_ref()), a)));
        let by_start = top(self.by_start.iter().map(|(pc, a)| {
            let loc = if *pc == 0 {
                placeholder("(unknown)")
            } else {
                meta.symbolizer
                    .resolve(*pc)
                    .unwrap_or_else(|| placeholder(&format!("{pc:#x}")))
            };
            row(loc, a)
        }));
        let mut kinds: HashMap<StopKind, Agg> = HashMap::new();
        let mut by_stack: Vec<StackRow> = self
            .by_stack
            .iter()
            .map(|(id, (a, reasons))| {
                let frames: Vec<Location> = id
                    .and_then(|id| meta.stacks.get(&id).cloned())
                    .unwrap_or_default();
                let kind = StopKind::of(&frames, reasons.is_empty() && a.samples > 0);
                let k = kinds.entry(kind).or_default();
                k.samples += a.samples;
                k.total_ns = k.total_ns.saturating_add(a.total_ns);
                k.max_ns = k.max_ns.max(a.max_ns);
                k.weight += a.weight;
                k.weighted_ns += a.weighted_ns;
                let wait_reason = (kind == StopKind::Blocked)
                    .then(|| reasons.iter().max_by_key(|(r, c)| (**c, **r)))
                    .flatten()
                    .map(|(r, _)| meta.wait_reasons.describe(*r));
                StackRow {
                    stack_id: *id,
                    frames,
                    stop: kind,
                    wait_reason,
                    samples: a.samples,
                    total_wait_ns: a.total_ns,
                    share_of_waiting: a.share_of(&self.all),
                    sample_share: share(a.samples, n),
                    sample_share_ci: proportion_ci(a.samples, n),
                    max_ns: a.max_ns,
                }
            })
            .collect();
        by_stack.sort_by(|a, b| {
            b.total_wait_ns
                .cmp(&a.total_wait_ns)
                .then(b.samples.cmp(&a.samples))
                .then(a.stack_id.cmp(&b.stack_id))
        });
        let stacks_total = by_stack.len();
        by_stack.truncate(TOP_ROWS);
        let mut by_stop: Vec<StopRow> = kinds
            .into_iter()
            .map(|(kind, a)| StopRow {
                stop: kind,
                samples: a.samples,
                total_wait_ns: a.total_ns,
                share_of_waiting: a.share_of(&self.all),
                sample_share: share(a.samples, n),
                sample_share_ci: proportion_ci(a.samples, n),
            })
            .collect();
        by_stop.sort_by(|a, b| {
            b.total_wait_ns
                .cmp(&a.total_wait_ns)
                .then(a.stop.cmp(&b.stop))
        });
        let first_runs: u64 = self.first_runs.values().map(|(k, _)| k).sum();
        let first_runs_weight: f64 = self.first_runs.values().map(|(_, w)| w).sum();
        let mut creations: Vec<CreationRow> = self
            .first_runs
            .iter()
            .map(|(site, &(k, weight))| {
                let l = site.locate(meta.symbolizer.as_ref());
                let (lo, hi) = count_ci(k, chance(k, weight));
                CreationRow {
                    function: l.function,
                    file: l.file,
                    line: l.line,
                    sampled: k,
                    estimated: scale(weight),
                    ci_low: lo,
                    ci_high: hi,
                }
            })
            .collect();
        creations.sort_by(|a, b| {
            b.sampled
                .cmp(&a.sampled)
                .then_with(|| a.function.cmp(&b.function))
                .then(a.line.cmp(&b.line))
        });
        let (lo, hi) = count_ci(first_runs, chance(first_runs, first_runs_weight));
        SampledReport {
            coverage,
            precision: "estimated".into(),
            one_in,
            sampler,
            confidence: 0.95,
            stands_for: stands_for(&meta.go_version),
            samples: n,
            estimated_transitions: scale(self.all.weight),
            first_ns: self.first_ts,
            last_ns: self.first_ts.map(|_| self.last_ts),
            latency,
            by_site,
            by_start,
            by_stack,
            stacks_total: stacks_total as u64,
            by_stop,
            syscall_returns: syscall_returns::rows(&self.by_stack_site, meta),
            creations: SampledCreations {
                sampled: first_runs,
                estimated: scale(first_runs_weight),
                ci_low: lo,
                ci_high: hi,
                by_site: creations,
            },
        }
    }

    /// The runtime's count over its window divided by the samples' weighted estimate of it, when
    /// the gate paused the probe and the runtime's readings span most of the trace.
    fn calibration(
        &self,
        sampler: &SamplerTime,
        start_ns: u64,
        end_ns: u64,
        runtime: Option<RuntimeCount>,
    ) -> Option<f64> {
        let r = runtime?;
        let spans_most = r.to_ns.saturating_sub(r.from_ns) * 2 >= end_ns.saturating_sub(start_ns);
        if sampler.pauses == 0 || !spans_most || r.tracked == 0 {
            return None;
        }
        let estimate = self.weighing.estimate_over(r.from_ns, r.to_ns);
        (estimate > 0.0).then(|| r.tracked as f64 / estimate)
    }

    /// The `q` quantile with a distribution-free 95% interval: the order statistics whose ranks
    /// bracket `n q ± z sqrt(n q (1 - q))` (binomial ranks, normal approximation).
    fn quantile(&self, q: f64) -> Estimate {
        let n = self.all.samples;
        if n == 0 {
            return Estimate::default();
        }
        let at_rank = |rank: f64| {
            let r = rank.clamp(1.0, n as f64);
            self.hist
                .value_at_quantile(r / n as f64)
                .min(self.all.max_ns.max(1))
        };
        let nf = n as f64;
        let half = Z95 * (nf * q * (1.0 - q)).sqrt();
        Estimate {
            value_ns: at_rank((nf * q).ceil()),
            ci_low_ns: at_rank((nf * q - half).floor()),
            ci_high_ns: at_rank((nf * q + half).ceil() + 1.0),
        }
    }
}

fn placeholder(function: &str) -> Location {
    Location {
        function: function.to_string(),
        file: String::new(),
        line: 0,
    }
}

fn share(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

/// Wilson 95% interval of a proportion `k / n`.
pub fn proportion_ci(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// 95% interval of the number of occurrences N behind `k` samples taken with probability `p`
/// each (k ~ Binomial(N, p); p = 1/one_in, less where the gate paused the sample probe: then
/// the samples' ratio to what they stand for, which leaves out the variance the pauses add):
/// the N for which k is within z standard deviations, solved as a quadratic in sqrt(N) (normal
/// approximation, Wilson-style).
pub fn count_ci(k: u64, p: f64) -> (u64, u64) {
    if p <= 0.0 {
        return (k, u64::MAX);
    }
    let p = p.min(1.0);
    let q = 1.0 - p;
    let k = k as f64;
    // k = N p ± z sqrt(N p q)  ⇒  p x² ∓ z sqrt(pq) x − k = 0 with x = sqrt(N).
    let b = Z95 * (p * q).sqrt();
    let root = |sign: f64| {
        let bb = sign * b;
        let x = (bb + (bb * bb + 4.0 * p * k).sqrt()) / (2.0 * p);
        x * x
    };
    let lo = root(-1.0).floor().max(k);
    let hi = root(1.0).ceil();
    (lo as u64, hi as u64)
}

/// What one sample stands for in this Go version.
fn stands_for(go_version: &str) -> String {
    let minor = go_version
        .strip_prefix("go1.")
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if m >= 26 => "one goroutine transition in 8 out of running or out of a syscall \
             (except running↔syscall flips) and 1 in 8 new goroutines, each followed to its next \
             start (Go 1.26+, golang/go#79391): a sample is a real wait to run"
            .into(),
        Some(_) => "one goroutine transition in 8 out of running (entering a syscall included: \
             a fast syscall return shows as a 0 ns wait) and 1 in 8 new goroutines, each followed \
             to its next start (Go ≤ 1.25)"
            .into(),
        None => "one goroutine transition in 8 (Go version unknown)".into(),
    }
}

/// Keeps the [`TOP_ROWS`] rows with the most summed waiting.
fn top(rows: impl Iterator<Item = SampledRow>) -> Vec<SampledRow> {
    let mut rows: Vec<SampledRow> = rows.collect();
    rows.sort_by(|a, b| {
        b.total_wait_ns
            .cmp(&a.total_wait_ns)
            .then(b.samples.cmp(&a.samples))
            .then_with(|| a.function.cmp(&b.function))
            .then(a.line.cmp(&b.line))
    });
    rows.truncate(TOP_ROWS);
    rows
}

/// Why a sampled goroutine had stopped, from where it stopped (the innermost frame of its saved
/// `g.sched`): the runtime's `waitreason` is only set at a park, so it says nothing about a
/// goroutine that was preempted or yielded since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// Its first run (a sampled creation).
    FirstRun,
    /// Parked (`gopark`): the wait reason is meaningful.
    Blocked,
    /// `runtime.Gosched` or a guarded yield.
    Yielded,
    /// Preempted asynchronously (SIGURG, `asyncPreempt`).
    PreemptedAsync,
    /// Preempted at a function prologue (stack check, `morestack`): stopped in user code.
    PreemptedSync,
    /// Came back from a system call (the syscall path saved its pc).
    Syscall,
    /// Something else in the runtime.
    Other,
    /// No stop stack (not readable, or the stack table was full).
    Unknown,
}

impl StopKind {
    pub(crate) fn of(frames: &[Location], only_first_runs: bool) -> StopKind {
        let Some(top) = frames.first() else {
            return if only_first_runs {
                StopKind::FirstRun
            } else {
                StopKind::Unknown
            };
        };
        let f = top.function.as_str();
        match f {
            _ if only_first_runs => StopKind::FirstRun,
            "runtime.gopark" | "runtime.goparkunlock" => StopKind::Blocked,
            "runtime.Gosched" | "runtime.goschedguarded" | "runtime.goschedIfBusy" => {
                StopKind::Yielded
            }
            "runtime.asyncPreempt" | "runtime.asyncPreempt2" => StopKind::PreemptedAsync,
            _ if f.contains("syscall") || f.contains("Syscall") => StopKind::Syscall,
            _ if f.starts_with("runtime.") => StopKind::Other,
            _ if f.starts_with("0x") => StopKind::Unknown,
            // Saved by morestack in a user function's prologue.
            _ => StopKind::PreemptedSync,
        }
    }
}

/// A value estimated from the samples, with its 95% interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    pub value_ns: u64,
    pub ci_low_ns: u64,
    pub ci_high_ns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampledLatency {
    pub p50: Estimate,
    pub p90: Estimate,
    pub p99: Estimate,
    pub mean_ns: u64,
    pub max_ns: u64,
    /// Summed waiting of the samples (× one_in estimates everyone's).
    pub total_ns: u64,
    /// Samples with a negative runtime measurement (clock steps), counted as 0 ns.
    pub negative_as_zero: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledRow {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub samples: u64,
    pub estimated_transitions: u64,
    pub total_wait_ns: u64,
    /// This row's share of the samples' summed waiting (an estimate of its share of all
    /// waiting to run).
    pub share_of_waiting: f64,
    /// This row's share of the samples, and its 95% (Wilson) interval.
    pub sample_share: f64,
    pub sample_share_ci: (f64, f64),
    pub mean_ns: u64,
    pub max_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackRow {
    /// Id in the recording's stack table (None: no stack).
    pub stack_id: Option<u32>,
    /// Innermost first: where it had stopped.
    pub frames: Vec<Location>,
    pub stop: StopKind,
    /// The most frequent wait reason, for `blocked` only.
    pub wait_reason: Option<String>,
    pub samples: u64,
    pub total_wait_ns: u64,
    pub share_of_waiting: f64,
    pub sample_share: f64,
    pub sample_share_ci: (f64, f64),
    pub max_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopRow {
    pub stop: StopKind,
    pub samples: u64,
    pub total_wait_ns: u64,
    pub share_of_waiting: f64,
    pub sample_share: f64,
    pub sample_share_ci: (f64, f64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreationRow {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub sampled: u64,
    pub estimated: u64,
    pub ci_low: u64,
    pub ci_high: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledCreations {
    /// First runs seen (a tracked new goroutine's first start).
    pub sampled: u64,
    pub estimated: u64,
    pub ci_low: u64,
    pub ci_high: u64,
    pub by_site: Vec<CreationRow>,
}

/// The report part: `sched_latency_sampled` in the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Always "estimated": from samples, with intervals.
    pub precision: String,
    pub one_in: u32,
    /// How much of the traced time the sample probe was attached (the tracer's gate detaches
    /// it above the rate limit; the samples of the window before each pause stand for the
    /// pause too).
    #[serde(default)]
    pub sampler: SamplerTime,
    /// Of every interval below.
    pub confidence: f64,
    /// What one sample stands for in this Go version.
    pub stands_for: String,
    pub samples: u64,
    pub estimated_transitions: u64,
    #[serde(default)]
    pub first_ns: Option<u64>,
    #[serde(default)]
    pub last_ns: Option<u64>,
    pub latency: SampledLatency,
    pub by_site: Vec<SampledRow>,
    pub by_start: Vec<SampledRow>,
    pub by_stack: Vec<StackRow>,
    /// Distinct stop stacks (`by_stack` keeps the top ones).
    pub stacks_total: u64,
    pub by_stop: Vec<StopRow>,
    /// The samples that came back from a system call, by creation site, with the calls their
    /// stop stacks name (`syscall_returns`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syscall_returns: Vec<SyscallReturnRow>,
    pub creations: SampledCreations,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_interval_covers_the_truth_and_grows_with_k() {
        let (lo, hi) = count_ci(125, 1.0 / 8.0);
        assert!(lo < 1000 && hi > 1000, "{lo} {hi}");
        assert!(lo >= 125);
        let (lo0, hi0) = count_ci(0, 1.0 / 8.0);
        assert_eq!(lo0, 0);
        assert!(hi0 > 0);
        let (l2, h2) = count_ci(1250, 1.0 / 8.0);
        assert!((h2 - l2) as f64 / 10_000.0 < (hi - lo) as f64 / 1000.0);
    }

    #[test]
    fn wilson_interval_is_a_proper_interval() {
        let (lo, hi) = proportion_ci(50, 100);
        assert!(lo < 0.5 && hi > 0.5 && lo > 0.39 && hi < 0.61);
        assert_eq!(proportion_ci(0, 0), (0.0, 1.0));
    }

    #[test]
    fn quantiles_bracket_the_value() {
        let mut s = Sampled::default();
        for i in 1..=1000u64 {
            s.observe(&Event {
                ts_ns: i,
                cpu: 0,
                tid: 1,
                kind: EventKind::GoSample {
                    goid: i,
                    creation_pc: 0x401000,
                    start_pc: 0x402000,
                    runnable_ns: (i * 1000) as i64,
                    p_id: 0,
                    m_id: 0,
                    wait_reason: 0,
                    first_run: i % 10 == 0,
                    locked: false,
                    stack_id: None,
                    stack_cut: false,
                },
            });
        }
        let r = s.report(&Meta::new("go1.27.3"), 0, 1001, None);
        let p50 = r.latency.p50;
        assert!(p50.ci_low_ns <= p50.value_ns && p50.value_ns <= p50.ci_high_ns);
        assert!((490_000..=510_000).contains(&p50.value_ns), "{p50:?}");
        assert!(
            p50.ci_low_ns >= 460_000 && p50.ci_high_ns <= 540_000,
            "{p50:?}"
        );
        assert_eq!(r.samples, 1000);
        assert_eq!(r.creations.sampled, 100);
        assert_eq!(r.creations.estimated, 800);
        assert_eq!(r.estimated_transitions, 8000);
        assert!(r.stands_for.contains("1.26+"));
        assert_eq!(r.sampler.attached_share, 1.0);
    }

    fn sample_at(ts_ns: u64, runnable_ns: i64, creation_pc: u64) -> Event {
        Event {
            ts_ns,
            cpu: 0,
            tid: 1,
            kind: EventKind::GoSample {
                goid: ts_ns,
                creation_pc,
                start_pc: 0x402000,
                runnable_ns,
                p_id: 0,
                m_id: 0,
                wait_reason: 0,
                first_run: true,
                locked: false,
                stack_id: None,
                stack_cut: false,
            },
        }
    }

    fn gate(ts_ns: u64, paused: bool, window_ns: u64) -> Event {
        Event {
            ts_ns,
            cpu: 0,
            tid: 0,
            kind: EventKind::SamplerGate {
                paused,
                rate_per_s: if paused { 50_000 } else { 0 },
                window_ns,
            },
        }
    }

    #[test]
    fn the_samples_of_a_window_before_a_pause_stand_for_the_pause_too() {
        let mut s = Sampled::default();
        // Quiet: 10 samples of site A waiting 1 µs, the probe attached.
        for i in 0..10 {
            s.observe(&sample_at(i * 1_000_000, 1_000, 0x401000));
        }
        // Busy: 20 samples of site B waiting 3 µs in a 20 ms window, then a pause of 80 ms:
        // each stands for 5.
        for i in 0..20 {
            s.observe(&sample_at(100_000_000 + i * 1_000_000, 3_000, 0x403000));
        }
        s.observe(&gate(120_000_000, true, 20_000_000));
        s.observe(&gate(200_000_000, false, 0));
        let r = s.report(&Meta::new("go1.27.3"), 0, 300_000_000, None);
        assert_eq!(r.samples, 30);
        assert_eq!(r.estimated_transitions, (10 + 20 * 5) * 8);
        assert_eq!(r.creations.estimated, 880);
        assert_eq!(r.sampler.pauses, 1);
        assert_eq!(r.sampler.max_rate_per_s, 50_000);
        assert!((r.sampler.attached_share - 220.0 / 300.0).abs() < 1e-9);
        let b = r.by_site.iter().find(|row| row.samples == 20).unwrap();
        assert_eq!(b.estimated_transitions, 800);
        // B's waiting: 100 × 3 µs of 10 × 1 µs + 100 × 3 µs.
        assert!((b.share_of_waiting - 300.0 / 310.0).abs() < 1e-9);
        assert_eq!(r.latency.mean_ns, 310_000 / 110);
        assert_eq!(
            r.latency.p50.value_ns, 3_000,
            "weighted: B's waits are most"
        );
        let (lo, hi) = (r.creations.ci_low, r.creations.ci_high);
        assert!(lo < 880 && 880 < hi, "{lo} {hi}");
        assert_eq!(r.sampler.calibration, None);
        // The runtime counted twice the weighted samples over the trace: every count doubles.
        let runtime = RuntimeCount {
            from_ns: 0,
            to_ns: 300_000_000,
            tracked: 220,
        };
        let r = s.report(&Meta::new("go1.27.3"), 0, 300_000_000, Some(runtime));
        assert_eq!(r.sampler.calibration, Some(2.0));
        assert_eq!(r.estimated_transitions, 1760);
        assert_eq!(r.creations.estimated, 1760);
        // Never calibrated without a pause, nor from readings over less than half the trace.
        let short = RuntimeCount {
            to_ns: 100_000_000,
            ..runtime
        };
        let r = s.report(&Meta::new("go1.27.3"), 0, 300_000_000, Some(short));
        assert_eq!(r.sampler.calibration, None);
        // Still paused at the end: the window stands for the rest of the trace.
        let mut s = Sampled::default();
        for i in 0..4 {
            s.observe(&sample_at(i * 5_000_000, 1_000, 0x401000));
        }
        s.observe(&gate(20_000_000, true, 20_000_000));
        let r = s.report(&Meta::new("go1.27.3"), 0, 100_000_000, None);
        assert_eq!(r.estimated_transitions, 4 * 5 * 8);
    }
}
