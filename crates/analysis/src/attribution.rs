//! Latency attribution (issue 14): every runnable→running wait the analysis measured (the
//! `SchedWait` records of `sched::stacks`, from a ready/yield/create to the next `GoStart`,
//! `--level full`) split on one time axis into causes:
//!
//! - `stw`: a stop-the-world pause (StwBegin → StwEnd) overlapped the wait;
//! - `kernel`: the thread that ran the goroutine next was runnable but not running in the
//!   kernel (switched out involuntarily: CPU contention, cgroup throttling) — from its
//!   `sched_switch` slices, so a wake-up's own run-queue delay is not included (a lower bound);
//! - `syscall`: that thread was in a system call (a goroutine's `Syscall` state on it);
//! - `ps_busy`: no P was idle (every P known within GOMAXPROCS ran some goroutine, and at
//!   least one did), named by the creation sites of the goroutines that occupied the Ps
//!   meanwhile (a P counts from the first event naming it: see `sched::idle`);
//! - `other`: the rest (e.g. an idle P not yet woken: spinning, `wakep` delay).
//!
//! Precedence where causes overlap: stw > kernel > syscall > ps_busy > other. Each nanosecond
//! of a wait goes to the first cause that covers it, so the causes sum exactly to the total.
//!
//! It reads the timeline records (fed by the analyzer's sink whatever collector is attached),
//! keeps the intervals it needs until the end (memory grows with the recording), and is
//! computed when the report is built.

use std::collections::HashMap;

use goroscope_events::{Meta, Symbolizer};
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
    /// Per thread: a goroutine in a system call on it.
    syscalls: HashMap<u32, Vec<Span>>,
    /// Intervals during which some P was idle.
    idle: Vec<Span>,
    /// (start, end, goid) of each P running a goroutine.
    busy: Vec<(u64, u64, u64)>,
    /// goid → creation pc (goroutines created during the trace).
    created: HashMap<u64, u64>,
    thread_slices: u64,
}

impl Attribution {
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
                self.thread_slices += 1;
                if on_cpu {
                    self.involuntary.insert(tid, end == ThreadEnd::Involuntary);
                } else if self.involuntary.remove(&tid) == Some(true) {
                    self.kernel.entry(tid).or_default().push((start_ns, end_ns));
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

    /// The report section; `latency` is whether runnable→running waits were captured, `cpu`
    /// whether thread switches were (the kernel cause).
    pub fn report(&self, meta: &Meta, latency: &Coverage, cpu: &Coverage) -> AttributionReport {
        if !latency.captured {
            return AttributionReport {
                coverage: Coverage::no(format!(
                    "needs every runnable→running wait (--level full): {}",
                    latency.why_text()
                )),
                ..AttributionReport::default()
            };
        }
        let stw = merge(self.stw.clone());
        let idle = merge(self.idle.clone());
        let running = merge(self.busy.iter().map(|&(a, b, _)| (a, b)).collect());
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
        let mut busy_segments: Vec<Span> = Vec::new();
        let empty: Vec<Span> = Vec::new();
        for &(goid, start, end) in &self.waits {
            if end <= start {
                count += 1;
                by_site.entry(self.site(goid)).or_default().0 += 1;
                continue;
            }
            let tid = self.run_tid.get(&(goid, end)).copied();
            let segs = vec![(start, end)];
            let (in_stw, rest) = split(&segs, &stw);
            let k = tid.and_then(|t| kernel.get(&t)).unwrap_or(&empty);
            let (in_kernel, rest) = split(&rest, k);
            let s = tid.and_then(|t| syscalls.get(&t)).unwrap_or(&empty);
            let (in_syscall, rest) = split(&rest, s);
            let (in_idle, rest) = split(&rest, &idle);
            // Busy only where some P is known to run a goroutine: time before any P is known
            // (e.g. just after attaching) is not blamed on the Ps.
            let (in_busy, unknown) = split(&rest, &running);
            let c = Causes {
                stw_ns: len(&in_stw),
                kernel_ns: len(&in_kernel),
                syscall_ns: len(&in_syscall),
                ps_busy_ns: len(&in_busy),
                other_ns: len(&in_idle) + len(&unknown),
            };
            busy_segments.extend(in_busy);
            count += 1;
            total.add(&c);
            let row = by_site.entry(self.site(goid)).or_default();
            row.0 += 1;
            row.1.add(&c);
        }
        let occupants = self.occupants(busy_segments, symbolizer);
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
        let kernel_how = if cpu.captured {
            "exact: off-CPU time after involuntary switch-outs of the thread that ran it next \
             (sched_switch); a wake-up's own run-queue delay is not counted"
                .to_string()
        } else {
            format!(
                "not separable: thread switches were not captured ({}); such time is in \
                 the causes below",
                cpu.why_text()
            )
        };
        AttributionReport {
            coverage: Coverage::yes(),
            waits: count,
            total_ns: total.sum(),
            causes: total,
            exactness: vec![
                Exactness::new("stw", true, "exact: StwBegin→StwEnd pauses"),
                Exactness {
                    cause: "kernel".into(),
                    exact: cpu.captured,
                    how: kernel_how,
                },
                Exactness::new(
                    "syscall",
                    true,
                    "exact: a goroutine's system call on the thread that ran it next",
                ),
                Exactness::new("ps_busy", true, "exact: no P idle (run slices per P)"),
                Exactness::new("other", true, "exact: the remainder"),
            ],
            ps_busy_occupants: occupants,
            by_site: sites,
        }
    }

    fn site(&self, goid: u64) -> SiteKey {
        self.created
            .get(&goid)
            .map_or(SiteKey::Preexisting, |&pc| SiteKey::from_creation_pc(pc))
    }

    /// Who ran on the Ps while waits were charged to `ps_busy`: each P run slice's overlap
    /// with those segments (a segment shared by two waits counts twice: wait time), by site.
    fn occupants(&self, mut segments: Vec<Span>, symbolizer: &dyn Symbolizer) -> Vec<Occupant> {
        segments.sort_unstable();
        let longest = segments.iter().map(|s| s.1 - s.0).max().unwrap_or(0);
        let mut by_site: HashMap<SiteKey, u64> = HashMap::new();
        for &(a, b, goid) in &self.busy {
            let first = segments.partition_point(|s| s.0 < a.saturating_sub(longest));
            let overlap: u64 = segments[first..]
                .iter()
                .take_while(|s| s.0 < b)
                .map(|s| s.1.min(b).saturating_sub(s.0.max(a)))
                .sum();
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

/// Fed the slices still open when a snapshot is taken (a copy, so the stream goes on as if
/// no snapshot had been taken).
impl Collector for Attribution {
    fn record(&mut self, record: TimelineRecord) {
        Attribution::record(self, &record);
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
}
