//! Latency attribution (issue 14): every runnable→running wait the analysis measured (the
//! `SchedWait` records of `sched::stacks`, from a ready/yield/create to the next `GoStart`,
//! `--level full`) split on one time axis into causes:
//!
//! - `stw`: a stop-the-world pause (StwBegin → StwEnd) overlapped the wait;
//! - `kernel`: the thread that ran the goroutine next was runnable but not running in the
//!   kernel (off CPU after an involuntary switch-out: CPU contention, cgroup throttling; or
//!   woken and waiting in the run queue: from its `sched_wakeup` to its switch-in) — from its
//!   `sched_switch` slices and wake-ups; where those were not captured (the default level),
//!   estimated from the kernel aggregates' per-thread run delay (`kernel_estimate`: the
//!   share of the time that thread wanted a CPU that it waited for one, about each second),
//!   and labelled an estimate in `exactness`;
//! - `syscall`: that thread was in a system call (a goroutine's `Syscall` state on it);
//! - `ps_busy`: no P was idle (every P known within GOMAXPROCS ran some goroutine, and at
//!   least one did), named by the creation sites of the goroutines that occupied the Ps
//!   meanwhile (a P counts from the first event naming it: see `sched::idle`);
//! - `other`: the rest (e.g. an idle P not yet woken: spinning, `wakep` delay).
//!
//! Precedence where causes overlap: stw > kernel > syscall > ps_busy > other. Each nanosecond
//! of a wait goes to the first cause that covers it, so the causes sum exactly to the total.
//! An estimated kernel share is a number, not intervals: it is taken from the wait's causes
//! below it in proportion to their sizes, so the sum stays exact.
//!
//! It reads the timeline records (fed by the analyzer's sink whatever collector is attached),
//! keeps the intervals it needs until the end (memory grows with the recording), and is
//! computed when the report is built.

mod kernel_estimate;

use std::collections::HashMap;

use goroscope_events::{Capability, Event, EventKind, Fact, KernelAggregates, Meta, Symbolizer};
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;
use crate::sites::SiteKey;
use crate::timeline::{
    Collector, GoActivity, GoroutineSlice, Instant, InstantKind, ProcSlice, SchedWait, ThreadEnd,
    ThreadSlice, TimelineRecord,
};

/// The causes in precedence order (the report lists them so).
pub const CAUSES: [&str; 5] = ["stw", "kernel", "syscall", "ps_busy", "other"];

/// How many occupant sites the report names.
const TOP_OCCUPANTS: usize = 10;
/// How many creation sites the report lists (by total wait).
const TOP_SITES: usize = 20;

type Span = (u64, u64);

/// The intervals gathered from the timeline.
#[derive(Debug, Default, Clone)]
pub struct Attribution {
    /// (goid, start, end) of each runnable→running wait.
    waits: Vec<(u64, u64, u64)>,
    /// (goid, run start) → thread that ran it.
    run_tid: HashMap<(u64, u64), u32>,
    stw: Vec<Span>,
    stw_open: Option<u64>,
    /// Per thread: runnable-not-running intervals (off CPU after an involuntary switch-out).
    kernel: HashMap<u32, Vec<Span>>,
    involuntary: HashMap<u32, bool>,
    /// Per thread: its latest kernel wake-up (the full level's `Wakeup` events): from there to
    /// its switch-in it was runnable, not running.
    woken: HashMap<u32, u64>,
    /// Per thread: a goroutine in a system call on it.
    syscalls: HashMap<u32, Vec<Span>>,
    /// Intervals during which some P was idle.
    idle: Vec<Span>,
    /// (start, end, goid) of each P running a goroutine.
    busy: Vec<(u64, u64, u64)>,
    /// goid → creation pc (goroutines created during the trace).
    created: HashMap<u64, u64>,
    thread_slices: u64,
    /// The default level's samples: (creation pc, wait start, wait end, thread).
    samples: Vec<(u64, u64, u64, u32)>,
    /// The runtime's counters every 10 ms: (ts, idle Ps).
    npidle: Vec<(u64, i32)>,
    /// The kernel aggregates' per-thread run delay, for the kernel share without switches.
    run_delay: kernel_estimate::RunDelayReadings,
}

impl Attribution {
    /// The events the timeline has no record for: the runtime's sampled waits (`GoSample`:
    /// it ran on the emitting thread after `runnable_ns`) and its idle-P counter.
    pub fn observe(&mut self, event: &Event) {
        match event.kind {
            EventKind::GoSample {
                creation_pc,
                runnable_ns,
                ..
            } => {
                let ns = u64::try_from(runnable_ns).unwrap_or(0);
                self.samples.push((
                    creation_pc,
                    event.ts_ns.saturating_sub(ns),
                    event.ts_ns,
                    event.tid,
                ));
            }
            EventKind::SchedSample { npidle, .. } => self.npidle.push((event.ts_ns, npidle)),
            EventKind::Wakeup { target_tid, .. } => {
                self.woken.insert(target_tid, event.ts_ns);
            }
            _ => {}
        }
    }

    /// A reading of the kernel aggregates (the default level's kernel share is estimated from
    /// them: `kernel_estimate`).
    pub fn observe_aggregates(&mut self, aggregates: &KernelAggregates) {
        self.run_delay.observe(aggregates);
    }

    pub fn record(&mut self, record: &TimelineRecord) {
        match *record {
            TimelineRecord::Goroutine(GoroutineSlice {
                goid,
                start_ns,
                end_ns,
                state,
            }) => match state {
                GoActivity::Running {
                    tid,
                    resumed: false,
                    ..
                } => {
                    self.run_tid.insert((goid, start_ns), tid);
                }
                GoActivity::Syscall { tid: Some(tid) } => self
                    .syscalls
                    .entry(tid)
                    .or_default()
                    .push((start_ns, end_ns)),
                _ => {}
            },
            TimelineRecord::SchedWait(SchedWait {
                goid,
                start_ns,
                end_ns,
                ..
            }) => self.waits.push((goid, start_ns, end_ns)),
            TimelineRecord::Proc(ProcSlice {
                start_ns,
                end_ns,
                goid,
                ..
            }) => match goid {
                Some(goid) => self.busy.push((start_ns, end_ns, goid)),
                None => self.idle.push((start_ns, end_ns)),
            },
            TimelineRecord::Thread(ThreadSlice {
                tid,
                start_ns,
                end_ns,
                on_cpu,
                end,
                ..
            }) => {
                // Slices still open at the end exist without any switch seen.
                self.thread_slices += u64::from(end != ThreadEnd::TraceEnd);
                if on_cpu {
                    self.involuntary.insert(tid, end == ThreadEnd::Involuntary);
                } else {
                    // Preempted: runnable the whole time off CPU. Blocked: runnable from its
                    // wake-up to the switch-in (the kernel run-queue delay).
                    let woken = self.woken.remove(&tid);
                    let span = if self.involuntary.remove(&tid) == Some(true) {
                        Some((start_ns, end_ns))
                    } else {
                        woken
                            .filter(|&w| w >= start_ns && w < end_ns)
                            .map(|w| (w, end_ns))
                    };
                    if let Some(span) = span {
                        self.kernel.entry(tid).or_default().push(span);
                    }
                }
            }
            TimelineRecord::Instant(Instant { ts_ns, kind, .. }) => match kind {
                InstantKind::StwBegin { .. } => self.stw_open = Some(ts_ns),
                InstantKind::StwEnd => {
                    if let Some(start) = self.stw_open.take() {
                        self.stw.push((start, ts_ns));
                    }
                }
                InstantKind::GoCreate {
                    goid, creation_pc, ..
                } => {
                    self.created.insert(goid, creation_pc);
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The report section; `latency` is whether every runnable→running wait was captured (else
    /// the default level's samples are attributed, if any), `cpu` whether thread switches
    /// were (the kernel cause).
    pub fn report(&self, meta: &Meta, latency: &Coverage, cpu: &Coverage) -> AttributionReport {
        // A recording without a level claims nothing: what it holds decides.
        let sampled = !latency.captured || (self.waits.is_empty() && !self.samples.is_empty());
        let waits: Vec<Wait> = if sampled {
            self.samples
                .iter()
                .map(|&(pc, start, end, tid)| Wait {
                    site: SiteKey::from_creation_pc(pc),
                    start,
                    end,
                    tid: Some(tid),
                })
                .collect()
        } else {
            self.waits
                .iter()
                .map(|&(goid, start, end)| Wait {
                    site: self.site(goid),
                    start,
                    end,
                    tid: self.run_tid.get(&(goid, end)).copied(),
                })
                .collect()
        };
        if sampled && waits.is_empty() {
            return AttributionReport {
                coverage: Coverage::no(format!(
                    "needs every runnable→running wait (--level full) or the runtime's sampled \
                     waits (--level default): {}",
                    latency.why_text()
                )),
                ..AttributionReport::default()
            };
        }
        let one_in = match meta.capabilities.get(Fact::SampledScheduling) {
            Capability::Sampled { one_in } if sampled => Some(one_in),
            _ if sampled => Some(8),
            _ => None,
        };
        let kernel_basis = self.kernel_basis(sampled, cpu);
        let stw = merge(self.stw.clone());
        // Default level: no run slices, so the Ps' slices say nothing (all "idle"); the
        // runtime's counter alone decides.
        let idle = if sampled {
            Vec::new()
        } else {
            merge(self.idle.clone())
        };
        let running = if sampled {
            self.no_idle_p()
        } else {
            merge(self.busy.iter().map(|&(a, b, _)| (a, b)).collect())
        };
        let kernel: HashMap<u32, Vec<Span>> = self
            .kernel
            .iter()
            .map(|(t, v)| (*t, merge(v.clone())))
            .collect();
        let syscalls: HashMap<u32, Vec<Span>> = self
            .syscalls
            .iter()
            .map(|(t, v)| (*t, merge(v.clone())))
            .collect();
        let symbolizer = meta.symbolizer.as_ref();
        let mut total = Causes::default();
        let mut count = 0u64;
        let mut by_site: HashMap<SiteKey, (u64, Causes)> = HashMap::new();
        // Busy: some P known to run a goroutine (full: the Ps' run slices; default: the
        // runtime's counter said no P idle) and none idle. Time before any P is known (e.g.
        // just after attaching) is not blamed on the Ps.
        let busy = split(&running, &idle).1;
        let busy_measure = Coverage1D::masked(&[], &busy);
        let mut busy_pieces: Vec<Span> = Vec::new();
        let empty: Vec<Span> = Vec::new();
        for w in &waits {
            count += 1;
            let row = by_site.entry(w.site).or_default();
            row.0 += 1;
            if w.end <= w.start {
                continue;
            }
            let segs = vec![(w.start, w.end)];
            let (in_stw, rest) = split(&segs, &stw);
            let k = w.tid.and_then(|t| kernel.get(&t)).unwrap_or(&empty);
            let (in_kernel, rest) = split(&rest, k);
            let s = w.tid.and_then(|t| syscalls.get(&t)).unwrap_or(&empty);
            let (in_syscall, rest) = split(&rest, s);
            // The Ps' sets are fragmented (every run and idle gap of every P): measure them
            // with prefix sums instead of cutting the wait into pieces.
            let ps_busy_ns: u64 = rest.iter().map(|&(a, b)| busy_measure.between(a, b)).sum();
            let mut c = Causes {
                stw_ns: len(&in_stw),
                kernel_ns: len(&in_kernel),
                syscall_ns: len(&in_syscall),
                ps_busy_ns,
                other_ns: len(&rest) - ps_busy_ns,
            };
            if kernel_basis == KernelBasis::Estimated {
                c.estimate_kernel(&self.run_delay, w);
            }
            busy_pieces.extend(rest);
            total.add(&c);
            row.1.add(&c);
        }
        let occupants = self.occupants(&busy_pieces, &busy, symbolizer);
        let mut sites: Vec<SiteAttribution> = by_site
            .into_iter()
            .map(|(key, (waits, causes))| {
                let loc = key.locate(symbolizer);
                SiteAttribution {
                    function: loc.function,
                    file: loc.file,
                    line: loc.line,
                    waits,
                    total_ns: causes.sum(),
                    causes,
                }
            })
            .collect();
        sites.sort_by(|a, b| {
            b.total_ns
                .cmp(&a.total_ns)
                .then_with(|| a.function.cmp(&b.function))
        });
        sites.truncate(TOP_SITES);
        AttributionReport {
            coverage: Coverage::yes(),
            basis: if sampled { "samples" } else { "every_wait" }.to_string(),
            one_in,
            waits: count,
            total_ns: total.sum(),
            causes: total,
            exactness: exactness(sampled, kernel_basis, self.run_delay.source()),
            ps_busy_occupants: occupants,
            by_site: sites,
        }
    }

    /// How the kernel cause is measured: from thread switches where they were captured (and,
    /// for samples, seen), else estimated from the kernel aggregates where there are two
    /// readings, else not at all.
    fn kernel_basis(&self, sampled: bool, cpu: &Coverage) -> KernelBasis {
        if cpu.captured && (self.thread_slices > 0 || !sampled) {
            KernelBasis::Switches
        } else if self.run_delay.usable() {
            KernelBasis::Estimated
        } else {
            KernelBasis::NotSeparable
        }
    }

    /// Default level: the intervals during which the runtime's 10 ms counter said no P was
    /// idle, each sample holding until the next one (the last one holds no time).
    fn no_idle_p(&self) -> Vec<Span> {
        let mut samples = self.npidle.clone();
        samples.sort_unstable();
        merge(
            samples
                .windows(2)
                .filter(|w| w[0].1 == 0)
                .map(|w| (w[0].0, w[1].0))
                .collect(),
        )
    }

    fn site(&self, goid: u64) -> SiteKey {
        self.created
            .get(&goid)
            .map_or(SiteKey::Preexisting, |&pc| SiteKey::from_creation_pc(pc))
    }

    /// Who ran on the Ps while waits were charged to `ps_busy`: each P run slice's overlap
    /// with the waits' pieces inside `busy` (a moment shared by two waits counts twice: it is
    /// wait time), by site. The pieces' coverage is integrated once, so each run slice costs a
    /// binary search.
    fn occupants(
        &self,
        pieces: &[Span],
        busy: &[Span],
        symbolizer: &dyn Symbolizer,
    ) -> Vec<Occupant> {
        let coverage = Coverage1D::masked(pieces, busy);
        let mut by_site: HashMap<SiteKey, u64> = HashMap::new();
        for &(a, b, goid) in &self.busy {
            let overlap = coverage.between(a, b);
            if overlap > 0 {
                *by_site.entry(self.site(goid)).or_default() += overlap;
            }
        }
        let mut rows: Vec<Occupant> = by_site
            .into_iter()
            .map(|(key, ns)| {
                let loc = key.locate(symbolizer);
                Occupant {
                    function: loc.function,
                    file: loc.file,
                    line: loc.line,
                    ns,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.ns.cmp(&a.ns).then_with(|| a.function.cmp(&b.function)));
        rows.truncate(TOP_OCCUPANTS);
        rows
    }
}

/// One wait to attribute.
struct Wait {
    site: SiteKey,
    start: u64,
    end: u64,
    /// The thread that ran it next.
    tid: Option<u32>,
}

/// How the kernel cause is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KernelBasis {
    /// From `sched_switch`/`sched_wakeup` slices of the thread that ran it next.
    Switches,
    /// From the kernel aggregates' run delay (`kernel_estimate`).
    Estimated,
    /// Neither: its time stays in the causes below.
    NotSeparable,
}

impl Causes {
    /// The kernel share of wait `w` estimated from the run delay of the thread that ran it
    /// (all of it outside stop-the-world pauses is eligible), taken from the causes below.
    fn estimate_kernel(&mut self, run_delay: &kernel_estimate::RunDelayReadings, w: &Wait) {
        let eligible = self.kernel_ns + self.syscall_ns + self.ps_busy_ns + self.other_ns;
        let Some(rho) = run_delay.share(w.tid, w.start, w.end) else {
            return;
        };
        let estimate = (rho * eligible as f64).round() as u64;
        let below = [
            self.syscall_ns,
            self.ps_busy_ns,
            self.other_ns + self.kernel_ns,
        ];
        let (kernel, [syscall, ps_busy, other]) = kernel_estimate::carve(estimate, below);
        (
            self.kernel_ns,
            self.syscall_ns,
            self.ps_busy_ns,
            self.other_ns,
        ) = (kernel, syscall, ps_busy, other);
    }
}

/// How each cause was measured, by basis; `run_delay_source` names the estimate's input.
fn exactness(sampled: bool, basis: KernelBasis, run_delay_source: &str) -> Vec<Exactness> {
    let kernel = match basis {
        KernelBasis::Switches => Exactness::new(
            "kernel",
            true,
            "exact: time the thread that ran it next was runnable but off CPU: after an \
             involuntary switch-out, and from a wake-up to its switch-in (sched_switch, \
             sched_wakeup)",
        ),
        KernelBasis::Estimated => Exactness::new(
            "kernel",
            false,
            &format!(
                "estimated: thread switches were not captured (--level full), so each wait \
                 gets the share of the time the thread that ran it next wanted a CPU that it \
                 spent waiting for one (run delay / (on-CPU + run delay)) over the readings \
                 around the wait, from {run_delay_source}; taken from the causes below in \
                 proportion"
            ),
        ),
        KernelBasis::NotSeparable => Exactness::new(
            "kernel",
            false,
            "not separable: thread switches were not captured (--level full) and there were \
             not two readings of the kernel aggregates; such time is in the causes below",
        ),
    };
    let (busy, other) = if sampled {
        (
            Exactness::new(
                "ps_busy",
                false,
                "estimated: the runtime's idle-P counter sampled every 10 ms was 0 (held until \
                 the next reading); who held the Ps is not known at this level",
            ),
            Exactness::new("other", false, "estimated: the remainder"),
        )
    } else {
        (
            Exactness::new("ps_busy", true, "exact: no P idle (run slices per P)"),
            Exactness::new("other", true, "exact: the remainder"),
        )
    };
    vec![
        Exactness::new("stw", true, "exact: StwBegin→StwEnd pauses"),
        kernel,
        Exactness::new(
            "syscall",
            !sampled,
            if sampled {
                "as captured: a goroutine's system call on the thread that ran it next, where \
                 the level recorded one"
            } else {
                "exact: a goroutine's system call on the thread that ran it next"
            },
        ),
        busy,
        other,
    ]
}

/// Fed the slices still open when a snapshot is taken (a copy, so the stream goes on as if
/// no snapshot had been taken).
impl Collector for Attribution {
    fn record(&mut self, record: TimelineRecord) {
        Attribution::record(self, &record);
    }
}

/// How many spans cover each instant, counted only inside a mask (sorted, disjoint spans),
/// integrated: `integral(t)` sums the covered time before `t`. With no spans, the mask's own
/// measure (each masked instant counts once).
struct Coverage1D {
    /// Breakpoints, the integral at each, and the slope just after it.
    xs: Vec<u64>,
    integral_at: Vec<u64>,
    slope_after: Vec<u64>,
}

impl Coverage1D {
    fn masked(spans: &[Span], mask: &[Span]) -> Coverage1D {
        let plain = spans.is_empty();
        // (time, change of the span count, change of "inside the mask")
        let mut edges: Vec<(u64, i64, i64)> = spans
            .iter()
            .filter(|s| s.1 > s.0)
            .flat_map(|&(a, b)| [(a, 1, 0), (b, -1, 0)])
            .chain(
                mask.iter()
                    .filter(|s| s.1 > s.0)
                    .flat_map(|&(a, b)| [(a, 0, 1), (b, 0, -1)]),
            )
            .collect();
        edges.sort_unstable();
        let (mut xs, mut integral_at, mut slope_after) = (Vec::new(), Vec::new(), Vec::new());
        let (mut count, mut inside, mut integral, mut last, mut slope) =
            (0i64, 0i64, 0u64, 0u64, 0u64);
        for (t, dc, dm) in edges {
            integral += slope * (t - last);
            count += dc;
            inside += dm;
            last = t;
            slope = match (inside > 0, plain) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => count.max(0) as u64,
            };
            if xs.last() == Some(&t) {
                *slope_after.last_mut().expect("pushed with xs") = slope;
            } else {
                xs.push(t);
                integral_at.push(integral);
                slope_after.push(slope);
            }
        }
        Coverage1D {
            xs,
            integral_at,
            slope_after,
        }
    }

    fn integral(&self, t: u64) -> u64 {
        match self.xs.partition_point(|&x| x <= t) {
            0 => 0,
            i => self.integral_at[i - 1] + self.slope_after[i - 1] * (t - self.xs[i - 1]),
        }
    }

    /// The covered time within `[a, b)`.
    fn between(&self, a: u64, b: u64) -> u64 {
        self.integral(b).saturating_sub(self.integral(a))
    }
}

/// Sorts and merges overlapping or touching spans into a disjoint sorted list.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.1 > s.0);
    spans.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.0 <= last.1 => last.1 = last.1.max(s.1),
            _ => out.push(s),
        }
    }
    out
}

/// Splits sorted disjoint `segs` into the parts inside the sorted disjoint `set` and outside.
fn split(segs: &[Span], set: &[Span]) -> (Vec<Span>, Vec<Span>) {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for &(mut a, b) in segs {
        let mut i = set.partition_point(|s| s.1 <= a);
        while a < b {
            match set.get(i) {
                Some(&(s, e)) if s < b => {
                    if s > a {
                        outside.push((a, s));
                    }
                    let stop = e.min(b);
                    inside.push((a.max(s), stop));
                    a = stop;
                    i += 1;
                }
                _ => {
                    outside.push((a, b));
                    a = b;
                }
            }
        }
    }
    (inside, outside)
}

fn len(spans: &[Span]) -> u64 {
    spans.iter().map(|s| s.1 - s.0).sum()
}

/// Wait time per cause, ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Causes {
    pub stw_ns: u64,
    pub kernel_ns: u64,
    pub syscall_ns: u64,
    pub ps_busy_ns: u64,
    pub other_ns: u64,
}

impl Causes {
    fn add(&mut self, o: &Causes) {
        self.stw_ns += o.stw_ns;
        self.kernel_ns += o.kernel_ns;
        self.syscall_ns += o.syscall_ns;
        self.ps_busy_ns += o.ps_busy_ns;
        self.other_ns += o.other_ns;
    }

    pub fn sum(&self) -> u64 {
        self.stw_ns + self.kernel_ns + self.syscall_ns + self.ps_busy_ns + self.other_ns
    }

    /// (name, ns) in precedence order.
    pub fn list(&self) -> [(&'static str, u64); 5] {
        [
            (CAUSES[0], self.stw_ns),
            (CAUSES[1], self.kernel_ns),
            (CAUSES[2], self.syscall_ns),
            (CAUSES[3], self.ps_busy_ns),
            (CAUSES[4], self.other_ns),
        ]
    }
}

/// Whether a cause's time is exact or an estimate, and how it was measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exactness {
    pub cause: String,
    pub exact: bool,
    pub how: String,
}

impl Exactness {
    fn new(cause: &str, exact: bool, how: &str) -> Exactness {
        Exactness {
            cause: cause.into(),
            exact,
            how: how.into(),
        }
    }
}

/// A creation site's waits and their causes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteAttribution {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub waits: u64,
    pub total_ns: u64,
    pub causes: Causes,
}

/// The goroutines (by creation site) that ran on the Ps during `ps_busy` time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occupant {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub ns: u64,
}

/// `latency_attribution` (docs/report-schema.md).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AttributionReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `every_wait` (full level) or `samples` (the runtime's 1-in-`one_in` sampled waits,
    /// default level: the totals are those of the samples).
    pub basis: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_in: Option<u32>,
    pub waits: u64,
    /// The measured wait, ns: equals the sum of `causes`.
    pub total_ns: u64,
    pub causes: Causes,
    pub exactness: Vec<Exactness>,
    pub ps_busy_occupants: Vec<Occupant>,
    /// By creation site of the waiting goroutine, most waited first (at most 20).
    pub by_site: Vec<SiteAttribution>,
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn split_and_merge() {
        let set = merge(vec![(10, 20), (15, 30), (40, 50)]);
        assert_eq!(set, vec![(10, 30), (40, 50)]);
        let (i, o) = split(&[(0, 45), (48, 60)], &set);
        assert_eq!(i, vec![(10, 30), (40, 45), (48, 50)]);
        assert_eq!(o, vec![(0, 10), (30, 40), (50, 60)]);
        assert_eq!(len(&i) + len(&o), 45 + 12);
    }

    #[test]
    fn coverage_integrates_overlapping_spans() {
        let c = Coverage1D::masked(&[(10, 20), (15, 30), (15, 16)], &[(0, 100)]);
        assert_eq!(c.integral(0), 0);
        assert_eq!(c.integral(10), 0);
        assert_eq!(c.integral(15), 5);
        assert_eq!(c.integral(16), 5 + 3);
        assert_eq!(c.integral(20), 8 + 8);
        assert_eq!(c.integral(100), 10 + 15 + 1);
        let masked = Coverage1D::masked(&[(10, 20), (15, 30)], &[(12, 18), (25, 40)]);
        assert_eq!(masked.between(0, 100), 3 + 3 * 2 + 5);
        let measure = Coverage1D::masked(&[], &[(12, 18), (25, 40)]);
        assert_eq!(measure.between(15, 30), 3 + 5);
    }
}
