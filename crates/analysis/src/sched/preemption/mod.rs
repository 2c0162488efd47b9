//! Preemption and time slices: sysmon's preemption requests (and STW/GC ones), the SIGURG
//! signals that carry asynchronous preemption, how goroutines were actually stopped (async,
//! cooperative at a stack check, voluntary `Gosched`, parked for a GC stack scan), and how long
//! goroutines ran without stopping (time slices: the model's run slices, state/runs.rs), with
//! the goroutines and start functions that held a P longest.
//!
//! Rules:
//! - `PreemptRequest.by_sysmon`: sysmon's retake (10 ms without a schedule on that P); otherwise
//!   preemptall (stop-the-world, GC). How long the target had run is measured from its last
//!   `GoStart` (across syscalls it returned from), when that start was seen.
//! - A `GoYield{preempted: true}` after an `AsyncPreempt` of the same goroutine since its
//!   `GoStart` is the end of that async preemption; without one it is cooperative (the
//!   goroutine saw `stackguard0 = stackPreempt` at a function prologue).
//! - Slice lengths: the histogram holds the slices that began at a `GoStart` and ended in the
//!   trace; `max_slice_ns` and `running_ns` of the top tables also count runs resumed after a
//!   syscall and the runs still going at the end (lower bounds), so a hog that never stops is
//!   still on top.
//! - Retention (`Options::retain_exited_ns`): a goroutine's counters are folded this long after
//!   its exit into its start function's totals and a best-[`TOP_GOROUTINES`] list, which keeps
//!   both tables exact while the per-goroutine map holds recent goroutines only.

mod targets;

pub use targets::{SysmonTarget, TargetsReport};

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use goroscope_events::{Event, EventKind, Fact, Meta};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::latency::{LatencyRecorder, LatencySummary};
use crate::sites::UNKNOWN_FUNCTION;
use crate::state::runs::{RunSlices, Slice};
use crate::state::Model;
use crate::timeline::{Collector, Instant, InstantKind, StackKey, StopReason, TimelineRecord};

/// SIGURG on x86-64 Linux: the runtime's preemption signal (`sigPreempt`).
pub const SIGURG: u32 = 23;
/// Rows of `top_goroutines` kept in the JSON (one per goroutine could be millions).
pub const TOP_GOROUTINES: usize = 100;

#[derive(Debug, Clone, Copy, Default)]
struct GoStats {
    slices: u64,
    running_ns: u64,
    max_slice_ns: u64,
    async_preemptions: u64,
    sysmon_requests: u64,
}

impl GoStats {
    fn add_slice(&mut self, s: &Slice) {
        let d = s.duration_ns();
        self.running_ns += d;
        self.max_slice_ns = self.max_slice_ns.max(d);
        self.slices += u64::from(!s.resumed);
    }

    /// Whether the goroutine appears in the top tables (it ran).
    fn counts(&self) -> bool {
        self.running_ns > 0 || self.slices > 0
    }
}

impl TopFunction {
    /// One more goroutine of this function.
    fn add(&mut self, g: &GoStats) {
        self.goroutines += 1;
        self.slices += g.slices;
        self.running_ns += g.running_ns;
        self.max_slice_ns = self.max_slice_ns.max(g.max_slice_ns);
    }

    fn merge(&mut self, other: &TopFunction) {
        self.goroutines += other.goroutines;
        self.slices += other.slices;
        self.running_ns += other.running_ns;
        self.max_slice_ns = self.max_slice_ns.max(other.max_slice_ns);
    }
}

/// Ranking of the top tables: longest slice, then most running time, then goid.
fn by_rank(a: &(u64, GoStats), b: &(u64, GoStats)) -> Ordering {
    (b.1.max_slice_ns, b.1.running_ns)
        .cmp(&(a.1.max_slice_ns, a.1.running_ns))
        .then(a.0.cmp(&b.0))
}

/// Exited goroutines folded away (with retention): what the top tables need of them.
#[derive(Debug, Default)]
struct Retired {
    /// start pc (None: unknown) → totals as in [`TopFunction`] (function resolved at the end).
    by_start: HashMap<Option<u64>, TopFunction>,
    /// The best of them by [`by_rank`], with their start pc; trimmed to [`TOP_GOROUTINES`].
    top: Vec<(u64, GoStats, Option<u64>)>,
}

#[derive(Debug, Default)]
pub struct Preemption {
    /// Forget exited goroutines' counters this long after the exit (None: never).
    pub retain_exited_ns: Option<u64>,
    exits: VecDeque<(u64, u64)>,
    retired: Retired,
    saw_default_level: bool,
    slice_lengths: LatencyRecorder,
    goroutines: HashMap<u64, GoStats>,
    start_pc: HashMap<u64, u64>,
    /// Goroutines asynchronously preempted since their last `GoStart`.
    async_pending: HashSet<u64>,
    counts: PreemptionCounts,
    requests: RequestReport,
    sysmon_running_for: LatencyRecorder,
    sysmon_per_p: BTreeMap<i32, u64>,
    sigurg: BTreeMap<u32, SignalRow>,
    targets: targets::SysmonTargets,
}

impl Preemption {
    pub fn observe(&mut self, event: &Event, model: &Model, out: &mut dyn Collector) {
        for s in model.runs.closed() {
            if !s.resumed {
                self.slice_lengths.record(s.duration_ns());
            }
            self.goroutines.entry(s.goid).or_default().add_slice(s);
        }
        self.instant(event, out);
        self.fold(event.ts_ns);
        self.targets.observe(event);
        let c = &mut self.counts;
        match event.kind {
            EventKind::GoCreate { goid, start_pc, .. } => {
                self.saw_default_level = true;
                if start_pc != 0 {
                    self.start_pc.insert(goid, start_pc);
                }
            }
            EventKind::GoStart { goid, .. } => {
                self.saw_default_level = true;
                self.async_pending.remove(&goid);
            }
            EventKind::AsyncPreempt { goid, .. } => {
                self.saw_default_level = true;
                c.async_preemptions += 1;
                self.goroutines.entry(goid).or_default().async_preemptions += 1;
                self.async_pending.insert(goid);
            }
            EventKind::GoYield { goid, preempted } => {
                self.saw_default_level = true;
                let after_async = self.async_pending.remove(&goid);
                match preempted {
                    Some(true) if after_async => c.async_then_yield += 1,
                    Some(true) => c.cooperative += 1,
                    Some(false) => c.voluntary_gosched += 1,
                    None => c.yield_reason_unknown += 1,
                }
            }
            EventKind::GoPreemptPark { goid } => {
                self.saw_default_level = true;
                c.preempt_parks += 1;
                if self.async_pending.remove(&goid) {
                    c.async_then_preempt_park += 1;
                }
            }
            EventKind::GoExit { goid, .. } => {
                self.async_pending.remove(&goid);
                if self.retain_exited_ns.is_some() {
                    self.exits.push_back((event.ts_ns, goid));
                }
            }
            EventKind::PreemptRequest {
                goid,
                p_id,
                by_sysmon,
            } => self.request(&model.runs, event.ts_ns, goid, p_id, by_sysmon),
            EventKind::SignalSend {
                sig: SIGURG,
                target_tid,
                result,
            } => {
                let row = self.signal_row(target_tid);
                row.sent += 1;
                row.not_queued += u64::from(result != 0);
            }
            EventKind::SignalDeliver { sig: SIGURG } => self.signal_row(event.tid).delivered += 1,
            _ => {}
        }
    }

    /// The timeline's instants of this section: requests, SIGURGs, async stops.
    fn instant(&self, event: &Event, out: &mut dyn Collector) {
        if !out.enabled() {
            return;
        }
        let kind = match event.kind {
            EventKind::PreemptRequest {
                goid,
                p_id,
                by_sysmon,
            } => InstantKind::PreemptRequest {
                goid,
                p: p_id,
                by_sysmon,
            },
            EventKind::SignalSend {
                sig: SIGURG,
                target_tid,
                result,
            } => InstantKind::SigurgSent {
                target_tid,
                queued: result == 0,
            },
            EventKind::SignalDeliver { sig: SIGURG } => InstantKind::SigurgDelivered,
            EventKind::AsyncPreempt { goid, stack_id } => InstantKind::AsyncPreempt {
                goid,
                stack: stack_id.map(StackKey::Captured),
            },
            _ => return,
        };
        out.record(TimelineRecord::Instant(Instant {
            ts_ns: event.ts_ns,
            tid: event.tid,
            kind,
        }));
    }

    /// Folds the counters of goroutines that exited more than the retention window ago.
    fn fold(&mut self, now: u64) {
        let Some(window) = self.retain_exited_ns else {
            return;
        };
        while let Some(&(ts, goid)) = self.exits.front() {
            if now.saturating_sub(ts) <= window {
                break;
            }
            self.exits.pop_front();
            let start_pc = self.start_pc.remove(&goid);
            let Some(g) = self.goroutines.remove(&goid) else {
                continue;
            };
            if !g.counts() {
                continue;
            }
            self.retired.by_start.entry(start_pc).or_default().add(&g);
            let top = &mut self.retired.top;
            top.push((goid, g, start_pc));
            if top.len() >= 2 * TOP_GOROUTINES {
                top.sort_by(|a, b| by_rank(&(a.0, a.1), &(b.0, b.1)));
                top.truncate(TOP_GOROUTINES);
            }
        }
    }

    /// Per-goroutine entries held (goroutines with counters or a known start function).
    pub fn retained(&self) -> usize {
        self.goroutines.len() + self.start_pc.len()
    }

    fn request(&mut self, runs: &RunSlices, ts: u64, goid: u64, p_id: i32, by_sysmon: bool) {
        let r = &mut self.requests;
        if !by_sysmon {
            r.by_stw_or_gc += 1;
            r.by_stw_or_gc_without_goroutine += u64::from(goid == 0);
            return;
        }
        r.by_sysmon += 1;
        *self.sysmon_per_p.entry(p_id).or_default() += 1;
        if goid == 0 {
            r.by_sysmon_without_goroutine += 1;
            return;
        }
        self.goroutines.entry(goid).or_default().sysmon_requests += 1;
        if let Some(s) = runs.running(goid) {
            self.sysmon_running_for
                .record(ts.saturating_sub(s.go_start_ns));
        }
    }

    fn signal_row(&mut self, tid: u32) -> &mut SignalRow {
        self.sigurg.entry(tid).or_insert(SignalRow {
            tid,
            ..SignalRow::default()
        })
    }

    pub fn finish(&self, model: &Model, inputs: &FinishInputs<'_>) -> PreemptionReport {
        let meta = inputs.meta;
        let coverage = Coverage::proven(
            meta,
            Fact::GoroutineScheduling,
            self.saw_default_level,
            "goroutine scheduling events (GoStart, GoYield, AsyncPreempt)",
        );

        let mut goroutines = self.goroutines.clone();
        let open = model.runs.open_at(inputs.end_ns);
        for s in &open {
            goroutines.entry(s.goid).or_default().add_slice(s);
        }
        let running: Vec<(u64, GoStats)> =
            goroutines.into_iter().filter(|(_, g)| g.counts()).collect();
        let mut start_pcs: HashMap<u64, Option<u64>> = HashMap::new();
        for (goid, _, pc) in &self.retired.top {
            start_pcs.insert(*goid, *pc);
        }
        let function = |goid: u64| {
            let pc = start_pcs
                .get(&goid)
                .copied()
                .unwrap_or_else(|| self.start_pc.get(&goid).copied());
            function_of(meta, pc)
        };

        let mut by_function: BTreeMap<String, TopFunction> = BTreeMap::new();
        let mut add = |name: String, f: &TopFunction| {
            by_function
                .entry(name.clone())
                .or_insert(TopFunction {
                    function: name,
                    ..TopFunction::default()
                })
                .merge(f);
        };
        for (goid, g) in &running {
            let mut f = TopFunction::default();
            f.add(g);
            add(function(*goid), &f);
        }
        for (pc, f) in &self.retired.by_start {
            add(function_of(meta, *pc), f);
        }
        let mut top_functions: Vec<TopFunction> = by_function.into_values().collect();
        top_functions.sort_by(|a, b| {
            (b.max_slice_ns, b.running_ns)
                .cmp(&(a.max_slice_ns, a.running_ns))
                .then_with(|| a.function.cmp(&b.function))
        });

        let mut ranked = running;
        ranked.extend(self.retired.top.iter().map(|(goid, g, _)| (*goid, *g)));
        ranked.sort_by(by_rank);
        let top_goroutines = ranked
            .into_iter()
            .take(TOP_GOROUTINES)
            .map(|(goid, g)| TopGoroutine {
                goid,
                function: function(goid),
                slices: g.slices,
                running_ns: g.running_ns,
                max_slice_ns: g.max_slice_ns,
                async_preemptions: g.async_preemptions,
                sysmon_requests: g.sysmon_requests,
            })
            .collect();

        let mut requests = self.requests.clone();
        requests.sysmon_per_p = self
            .sysmon_per_p
            .iter()
            .map(|(&p_id, &requests)| PCount { p_id, requests })
            .collect();
        requests.sysmon_target_running_for = RunningFor {
            coverage: coverage.clone(),
            summary: self.sysmon_running_for.summary(),
        };

        let mut per_thread: Vec<SignalRow> = self.sigurg.values().cloned().collect();
        per_thread.sort_by_key(|r| (std::cmp::Reverse(r.sent + r.delivered), r.tid));
        let start_pc_of = |goid: u64| {
            start_pcs
                .get(&goid)
                .copied()
                .unwrap_or_else(|| self.start_pc.get(&goid).copied())
        };
        PreemptionReport {
            sysmon_targets: self.targets.finish(meta, &start_pc_of),
            requests,
            sigurg: SigurgReport {
                sent: per_thread.iter().map(|r| r.sent).sum(),
                not_queued: per_thread.iter().map(|r| r.not_queued).sum(),
                delivered: per_thread.iter().map(|r| r.delivered).sum(),
                per_thread,
            },
            preemptions: PreemptionCounts {
                coverage: coverage.clone(),
                ..self.counts.clone()
            },
            time_slices: SliceReport {
                coverage,
                summary: self.slice_lengths.summary(),
                open_at_end: open
                    .iter()
                    .filter(|s| s.end == StopReason::TraceEnd)
                    .count() as u64,
                top_goroutines,
                top_functions,
            },
        }
    }
}

/// The start function of a goroutine created in the trace, "(unknown)" otherwise.
fn function_of(meta: &Meta, start_pc: Option<u64>) -> String {
    match start_pc {
        None => UNKNOWN_FUNCTION.to_string(),
        // A function entry, not a return address: resolved as is.
        Some(pc) => meta
            .symbolizer
            .resolve(pc)
            .map(|l| l.function)
            .unwrap_or_else(|| format!("{pc:#x}")),
    }
}

/// The `scheduler.preemption` object (docs/report-schema.md).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PreemptionReport {
    pub requests: RequestReport,
    /// The goroutines sysmon asked to stop, with what the samples say of them (every level).
    #[serde(default)]
    pub sysmon_targets: TargetsReport,
    pub sigurg: SigurgReport,
    pub preemptions: PreemptionCounts,
    pub time_slices: SliceReport,
}

/// `preemptone` calls (captured at every level).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestReport {
    pub by_sysmon: u64,
    /// sysmon asked a P that ran no user goroutine (or one in a syscall with no curg).
    pub by_sysmon_without_goroutine: u64,
    pub by_stw_or_gc: u64,
    pub by_stw_or_gc_without_goroutine: u64,
    pub sysmon_per_p: Vec<PCount>,
    pub sysmon_target_running_for: RunningFor,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PCount {
    pub p_id: i32,
    pub requests: u64,
}

/// How long sysmon's targets had run since their `GoStart` when asked to stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningFor {
    #[serde(flatten)]
    pub coverage: Coverage,
    #[serde(flatten)]
    pub summary: LatencySummary,
}

impl Default for RunningFor {
    fn default() -> Self {
        RunningFor {
            coverage: Coverage::default(),
            summary: LatencyRecorder::new().summary(),
        }
    }
}

/// SIGURG (the preemption signal) from the kernel's signal tracepoints (every level).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SigurgReport {
    pub sent: u64,
    /// Sends the kernel did not queue (`signal_generate` result ≠ 0: already pending, ignored).
    pub not_queued: u64,
    pub delivered: u64,
    /// By receiving thread, most signals first.
    pub per_thread: Vec<SignalRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SignalRow {
    pub tid: u32,
    /// SIGURGs sent to this thread.
    pub sent: u64,
    pub not_queued: u64,
    /// SIGURGs this thread started handling.
    pub delivered: u64,
}

/// How goroutines were stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PreemptionCounts {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `asyncPreempt2`: stopped by SIGURG at an async-safe point.
    pub async_preemptions: u64,
    /// ... which then yielded to the global queue.
    pub async_then_yield: u64,
    /// ... which then parked for a GC stack scan.
    pub async_then_preempt_park: u64,
    /// Preempted yields without an async preemption: at a function prologue's stack check.
    pub cooperative: u64,
    /// `runtime.Gosched`.
    pub voluntary_gosched: u64,
    /// Yields whose reason the Go version does not report.
    pub yield_reason_unknown: u64,
    /// `preemptPark` (`_Gpreempted`, suspended by the GC), async or not.
    pub preempt_parks: u64,
}

/// Time slices: `count`..`histogram` summarize completed slices (ns), like `sched_latency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    #[serde(flatten)]
    pub summary: LatencySummary,
    /// Slices still running at the end (not in the summary; in the top tables as lower bounds).
    pub open_at_end: u64,
    /// Longest slice first, then most running time; at most [`TOP_GOROUTINES`].
    pub top_goroutines: Vec<TopGoroutine>,
    /// The same by start function, all of them.
    pub top_functions: Vec<TopFunction>,
}

impl Default for SliceReport {
    fn default() -> Self {
        SliceReport {
            coverage: Coverage::default(),
            summary: LatencyRecorder::new().summary(),
            open_at_end: 0,
            top_goroutines: Vec::new(),
            top_functions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TopGoroutine {
    pub goid: u64,
    /// Start function (`GoCreate.start_pc`), "(unknown)" if created before the trace.
    pub function: String,
    /// Slices begun by a `GoStart` (including one still running at the end).
    pub slices: u64,
    pub running_ns: u64,
    /// Longest run without stopping (a slice, or a run resumed after a syscall).
    pub max_slice_ns: u64,
    pub async_preemptions: u64,
    pub sysmon_requests: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TopFunction {
    pub function: String,
    pub goroutines: u64,
    pub slices: u64,
    pub running_ns: u64,
    pub max_slice_ns: u64,
}

#[cfg(test)]
mod tests;
