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
//! It reads the timeline records (fed by the analyzer's sink whatever collector is attached)
//! and keeps, until the end, what the causes need: each wait and each P run slice as two
//! timestamps and an interned creation site (three words), the idle Ps', the threads' and the
//! pauses' spans (two words each); the goroutine → creation site map only while a goroutine
//! lives. It is computed when the report is built, consuming what it gathered, with sorted
//! span lists, prefix sums and one sweep ([`spans`]); the README has its report memory
//! and time (under the exports).

mod kernel_estimate;
mod spans;

use std::collections::HashMap;

use goroscope_events::{Capability, Event, EventKind, Fact, KernelAggregates, Meta, Symbolizer};
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;
use crate::sites::SiteKey;
use crate::timeline::{
    Collector, GoActivity, GoroutineSlice, Instant, InstantKind, ProcSlice, SchedWait, ThreadEnd,
    ThreadSlice, TimelineRecord,
};
use spans::{len, merge, split, split_into, Measure, Span, Sweep};

/// The causes in precedence order (the report lists them so).
pub const CAUSES: [&str; 5] = ["stw", "kernel", "syscall", "ps_busy", "other"];

/// How many occupant sites the report names.
const TOP_OCCUPANTS: usize = 10;
/// How many creation sites the report lists (by total wait).
const TOP_SITES: usize = 20;

/// A creation site: its index in [`Attribution::sites`].
type SiteId = u32;

/// A wait's thread before the run that ended it was seen (or if it never is).
const NO_TID: u32 = u32::MAX;

/// One runnable→running wait (or a sampled one) and the thread that ran the goroutine next.
#[derive(Debug, Clone, Copy)]
struct Wait {
    start: u64,
    end: u64,
    site: SiteId,
    tid: u32,
}

/// One P running a goroutine (created at `site`).
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    end: u64,
    site: SiteId,
}

/// The intervals gathered from the timeline.
#[derive(Debug, Default, Clone)]
pub struct Attribution {
    /// Every runnable→running wait, in the order they ended.
    waits: Vec<Wait>,
    /// goid → its latest wait (index in `waits`), until the run that ended it names its thread
    /// (that run's slice is emitted when the run ends, after the wait).
    awaiting_run: HashMap<u64, usize>,
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
    /// Each P running a goroutine.
    busy: Vec<Run>,
    /// goid → creation site, for the goroutines created during the trace, until they exit
    /// (every record naming a goroutine comes before its `GoExit` is observed).
    created: HashMap<u64, SiteId>,
    /// The creation sites named so far, and their ids.
    sites: Vec<SiteKey>,
    site_ids: HashMap<SiteKey, SiteId>,
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
    /// it ran on the emitting thread after `runnable_ns`), its idle-P counter, the kernel's
    /// wake-ups, and goroutine exits (after which nothing names the goroutine).
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
            EventKind::GoExit { goid, .. } => {
                self.created.remove(&goid);
                self.awaiting_run.remove(&goid);
            }
            _ => {}
        }
    }

    /// A reading of the kernel aggregates (the default level's kernel share is estimated from
    /// them: `kernel_estimate`).
    pub fn observe_aggregates(&mut self, aggregates: &KernelAggregates) {
        self.run_delay.observe(aggregates);
    }

    fn intern(&mut self, key: SiteKey) -> SiteId {
        if let Some(&id) = self.site_ids.get(&key) {
            return id;
        }
        let id = SiteId::try_from(self.sites.len()).expect("fewer than 2^32 creation sites");
        self.sites.push(key);
        self.site_ids.insert(key, id);
        id
    }

    fn site(&mut self, goid: u64) -> SiteId {
        match self.created.get(&goid) {
            Some(&id) => id,
            None => self.intern(SiteKey::Preexisting),
        }
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
                    if let Some(&i) = self.awaiting_run.get(&goid) {
                        if self.waits[i].end == start_ns {
                            self.waits[i].tid = tid;
                            self.awaiting_run.remove(&goid);
                        }
                    }
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
            }) => {
                let site = self.site(goid);
                self.awaiting_run.insert(goid, self.waits.len());
                self.waits.push(Wait {
                    start: start_ns,
                    end: end_ns,
                    site,
                    tid: NO_TID,
                });
            }
            TimelineRecord::Proc(ProcSlice {
                start_ns,
                end_ns,
                goid,
                ..
            }) => match goid {
                Some(goid) => {
                    let site = self.site(goid);
                    self.busy.push(Run {
                        start: start_ns,
                        end: end_ns,
                        site,
                    });
                }
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
                    let site = self.intern(SiteKey::from_creation_pc(creation_pc));
                    self.created.insert(goid, site);
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// The report section, consuming what was gathered; `latency` is whether every
    /// runnable→running wait was captured (else the default level's samples are attributed,
    /// if any), `cpu` whether thread switches were (the kernel cause).
    pub fn report(mut self, meta: &Meta, latency: &Coverage, cpu: &Coverage) -> AttributionReport {
        // A recording without a level claims nothing: what it holds decides.
        let sampled = !latency.captured || (self.waits.is_empty() && !self.samples.is_empty());
        let waits: Vec<Wait> = if sampled {
            let samples = std::mem::take(&mut self.samples);
            samples
                .into_iter()
                .map(|(pc, start, end, tid)| Wait {
                    site: self.intern(SiteKey::from_creation_pc(pc)),
                    start,
                    end,
                    tid,
                })
                .collect()
        } else {
            std::mem::take(&mut self.waits)
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
        self.awaiting_run = HashMap::new();
        self.created = HashMap::new();
        let one_in = match meta.capabilities.get(Fact::SampledScheduling) {
            Capability::Sampled { one_in } if sampled => Some(one_in),
            _ if sampled => Some(8),
            _ => None,
        };
        let kernel_basis = self.kernel_basis(sampled, cpu);
        let stw = merge(std::mem::take(&mut self.stw));
        // Default level: no run slices, so the Ps' slices say nothing (all "idle"); the
        // runtime's counter alone decides.
        let idle = if sampled {
            Vec::new()
        } else {
            merge(std::mem::take(&mut self.idle))
        };
        let running = if sampled {
            self.no_idle_p()
        } else {
            merge(self.busy.iter().map(|r| (r.start, r.end)).collect())
        };
        let kernel: HashMap<u32, Vec<Span>> = std::mem::take(&mut self.kernel)
            .into_iter()
            .map(|(t, v)| (t, merge(v)))
            .collect();
        let syscalls: HashMap<u32, Vec<Span>> = std::mem::take(&mut self.syscalls)
            .into_iter()
            .map(|(t, v)| (t, merge(v)))
            .collect();
        let symbolizer = meta.symbolizer.as_ref();
        let mut total = Causes::default();
        // Per site id: waits and their causes.
        let mut by_site: Vec<(u64, Causes)> = vec![(0, Causes::default()); self.sites.len()];
        // Busy: some P known to run a goroutine (full: the Ps' run slices; default: the
        // runtime's counter said no P idle) and none idle. Time before any P is known (e.g.
        // just after attaching) is not blamed on the Ps.
        let busy = Measure::new(split(&running, &idle).1);
        drop((running, idle));
        // The pieces of waits charged to `ps_busy` (where some of them is), for the occupants:
        // their starts and ends, each sorted on its own later.
        let (mut piece_starts, mut piece_ends) = (Vec::new(), Vec::new());
        let (mut in_stw, mut after_stw) = (Vec::new(), Vec::new());
        let (mut in_kernel, mut after_kernel) = (Vec::new(), Vec::new());
        let (mut in_syscall, mut rest) = (Vec::new(), Vec::new());
        let empty: Vec<Span> = Vec::new();
        for w in &waits {
            let row = &mut by_site[w.site as usize];
            row.0 += 1;
            if w.end <= w.start {
                continue;
            }
            split_into(&[(w.start, w.end)], &stw, &mut in_stw, &mut after_stw);
            let k = kernel.get(&w.tid).unwrap_or(&empty);
            split_into(&after_stw, k, &mut in_kernel, &mut after_kernel);
            let s = syscalls.get(&w.tid).unwrap_or(&empty);
            split_into(&after_kernel, s, &mut in_syscall, &mut rest);
            // The Ps' sets are fragmented (every run and idle gap of every P): measure them
            // with prefix sums instead of cutting the wait into pieces.
            let mut ps_busy_ns = 0;
            for &(a, b) in &rest {
                let ns = busy.between(a, b);
                if ns > 0 {
                    ps_busy_ns += ns;
                    piece_starts.push(a);
                    piece_ends.push(b);
                }
            }
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
            total.add(&c);
            row.1.add(&c);
        }
        let count = waits.len() as u64;
        drop(waits);
        let occupants = self.occupants(piece_starts, piece_ends, busy.spans(), symbolizer);
        let mut sites: Vec<SiteAttribution> = by_site
            .into_iter()
            .enumerate()
            .filter(|(_, (waits, _))| *waits > 0)
            .map(|(id, (waits, causes))| {
                let loc = self.sites[id].locate(symbolizer);
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
    fn no_idle_p(&mut self) -> Vec<Span> {
        let mut samples = std::mem::take(&mut self.npidle);
        samples.sort_unstable();
        merge(
            samples
                .windows(2)
                .filter(|w| w[0].1 == 0)
                .map(|w| (w[0].0, w[1].0))
                .collect(),
        )
    }

    /// Who ran on the Ps while waits were charged to `ps_busy`: each P run slice's overlap
    /// with the waits' pieces (`starts`, `ends`) inside `busy` (a moment shared by two waits
    /// counts twice: it is wait time), by site. A run `[a, b)` overlaps `I(b) − I(a)` of the
    /// pieces' integral `I` ([`Sweep`]): a site's total is the sum of `I` at its runs' ends
    /// minus the sum at their starts, so the runs are swept once by start and once by end.
    fn occupants(
        &mut self,
        mut starts: Vec<u64>,
        mut ends: Vec<u64>,
        busy: &[Span],
        symbolizer: &dyn Symbolizer,
    ) -> Vec<Occupant> {
        starts.sort_unstable();
        ends.sort_unstable();
        // Differences of u64 sums: wrapping arithmetic is exact for a result that fits.
        let mut by_site: Vec<u64> = vec![0; self.sites.len()];
        self.busy.sort_unstable_by_key(|r| r.start);
        let mut sweep = Sweep::new(&starts, &ends, busy);
        for r in &self.busy {
            let at = sweep.at(r.start);
            let site = &mut by_site[r.site as usize];
            *site = site.wrapping_sub(at);
        }
        self.busy.sort_unstable_by_key(|r| r.end.max(r.start));
        let mut sweep = Sweep::new(&starts, &ends, busy);
        for r in &self.busy {
            let at = sweep.at(r.end.max(r.start));
            let site = &mut by_site[r.site as usize];
            *site = site.wrapping_add(at);
        }
        let mut rows: Vec<Occupant> = by_site
            .into_iter()
            .enumerate()
            .filter(|&(_, ns)| ns > 0)
            .map(|(id, ns)| {
                let loc = self.sites[id].locate(symbolizer);
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
        let tid = (w.tid != NO_TID).then_some(w.tid);
        let Some(rho) = run_delay.share(tid, w.start, w.end) else {
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
