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
//! random 1 in 8 new goroutines are tracked from birth. Counts are scaled by 8.
//!
//! The intervals treat samples as independent. They are not quite: the runtime tracks with a
//! per-goroutine counter (`trackingSeq`) from a random start, so a goroutine that makes exactly 8
//! transitions per cycle is sampled at the same point of each cycle (e.g. a new goroutine
//! tracked at birth is tracked again at its first park). Sampled creations are independent (the
//! start is random per goroutine), so their binomial interval holds; the latency percentiles'
//! intervals are approximate for such periodic goroutines.

mod syscall_returns;

use std::collections::HashMap;

use goroscope_events::{Capability, Event, EventKind, Fact, Location, Meta};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;
use crate::sites::SiteKey;

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
}

impl Agg {
    fn add(&mut self, ns: u64) {
        self.samples += 1;
        self.total_ns = self.total_ns.saturating_add(ns);
        self.max_ns = self.max_ns.max(ns);
    }
}

/// The accumulator.
#[derive(Debug)]
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
    first_runs: HashMap<SiteKey, u64>,
    first_ts: Option<u64>,
    last_ts: u64,
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
        }
    }
}

impl Sampled {
    pub fn observe(&mut self, event: &Event) {
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
        self.all.add(ns);
        self.hist.saturating_record(ns.clamp(1, HIGHEST_NS));
        let site = SiteKey::from_creation_pc(creation_pc);
        self.by_site.entry(site).or_default().add(ns);
        self.by_start.entry(start_pc).or_default().add(ns);
        self.by_stack_site
            .entry((stack_id, site))
            .or_default()
            .add(ns);
        let (agg, reasons) = self.by_stack.entry(stack_id).or_default();
        agg.add(ns);
        if !first_run {
            *reasons.entry(wait_reason).or_default() += 1;
        }
        if first_run {
            *self.first_runs.entry(site).or_default() += 1;
        }
    }

    pub fn report(&self, meta: &Meta) -> SampledReport {
        let one_in = match meta.capabilities.get(Fact::SampledScheduling) {
            Capability::Sampled { one_in } => one_in,
            _ => goroscope_events::G_TRACKING_PERIOD,
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
            mean_ns: self.all.total_ns.checked_div(n).unwrap_or(0),
            max_ns: self.all.max_ns,
            total_ns: self.all.total_ns,
            negative_as_zero: self.negative,
        };
        let total = self.all.total_ns;
        let row = |key: Location, a: &Agg| SampledRow {
            function: key.function,
            file: key.file,
            line: key.line,
            samples: a.samples,
            estimated_transitions: a.samples * u64::from(one_in),
            total_wait_ns: a.total_ns,
            share_of_waiting: share(a.total_ns, total),
            sample_share: share(a.samples, n),
            sample_share_ci: proportion_ci(a.samples, n),
            mean_ns: a.total_ns.checked_div(a.samples).unwrap_or(0),
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
                    share_of_waiting: share(a.total_ns, total),
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
                share_of_waiting: share(a.total_ns, total),
                sample_share: share(a.samples, n),
                sample_share_ci: proportion_ci(a.samples, n),
            })
            .collect();
        by_stop.sort_by(|a, b| {
            b.total_wait_ns
                .cmp(&a.total_wait_ns)
                .then(a.stop.cmp(&b.stop))
        });
        let first_runs: u64 = self.first_runs.values().sum();
        let mut creations: Vec<CreationRow> = self
            .first_runs
            .iter()
            .map(|(site, &k)| {
                let l = site.locate(meta.symbolizer.as_ref());
                let (lo, hi) = count_ci(k, one_in);
                CreationRow {
                    function: l.function,
                    file: l.file,
                    line: l.line,
                    sampled: k,
                    estimated: k * u64::from(one_in),
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
        let (lo, hi) = count_ci(first_runs, one_in);
        SampledReport {
            coverage,
            precision: "estimated".into(),
            one_in,
            confidence: 0.95,
            stands_for: stands_for(&meta.go_version),
            samples: n,
            estimated_transitions: n * u64::from(one_in),
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
                estimated: first_runs * u64::from(one_in),
                ci_low: lo,
                ci_high: hi,
                by_site: creations,
            },
        }
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

/// 95% interval of the number of occurrences N behind `k` samples taken with probability
/// 1/`one_in` each (k ~ Binomial(N, p)): the N for which k is within z standard deviations,
/// solved as a quadratic in sqrt(N) (normal approximation, Wilson-style).
pub fn count_ci(k: u64, one_in: u32) -> (u64, u64) {
    let p = 1.0 / f64::from(one_in.max(1));
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
        let (lo, hi) = count_ci(125, 8);
        assert!(lo < 1000 && hi > 1000, "{lo} {hi}");
        assert!(lo >= 125);
        let (lo0, hi0) = count_ci(0, 8);
        assert_eq!(lo0, 0);
        assert!(hi0 > 0);
        let (l2, h2) = count_ci(1250, 8);
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
        let p50 = s.quantile(0.5);
        assert!(p50.ci_low_ns <= p50.value_ns && p50.value_ns <= p50.ci_high_ns);
        assert!((490_000..=510_000).contains(&p50.value_ns), "{p50:?}");
        assert!(
            p50.ci_low_ns >= 460_000 && p50.ci_high_ns <= 540_000,
            "{p50:?}"
        );
        let r = s.report(&Meta::new("go1.27.3"));
        assert_eq!(r.samples, 1000);
        assert_eq!(r.creations.sampled, 100);
        assert_eq!(r.creations.estimated, 800);
        assert!(r.stands_for.contains("1.26+"));
    }
}
