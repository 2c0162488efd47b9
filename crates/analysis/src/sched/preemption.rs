//! Preemption and time slices: sysmon's preemption requests (and STW/GC ones), the SIGURG
//! signals that carry asynchronous preemption, how goroutines were actually stopped (async,
//! cooperative at a stack check, voluntary `Gosched`, parked for a GC stack scan), and how long
//! goroutines ran without stopping (time slices, slices.rs), with the goroutines and start
//! functions that held a P longest.
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

#[path = "preemption_slices.rs"]
pub mod slices;

use std::collections::{BTreeMap, HashMap, HashSet};

use goroscope_events::{Event, EventKind, Meta};
use serde::{Deserialize, Serialize};

use super::runqueue::capture::Coverage;
use super::FinishInputs;
use crate::latency::{LatencyRecorder, LatencySummary};
use crate::sites::UNKNOWN_FUNCTION;
use crate::state::Model;
use slices::{Slice, SliceEnd, SliceTracker};

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
}

#[derive(Debug, Default)]
pub struct Preemption {
    slices: SliceTracker,
    closed: Vec<Slice>,
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
}

impl Preemption {
    pub fn observe(&mut self, event: &Event, _model: &Model) {
        self.slices.observe(event, &mut self.closed);
        for s in self.closed.drain(..) {
            if !s.resumed {
                self.slice_lengths.record(s.duration_ns());
            }
            self.goroutines.entry(s.goid).or_default().add_slice(&s);
        }
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
            }
            EventKind::PreemptRequest {
                goid,
                p_id,
                by_sysmon,
            } => self.request(event.ts_ns, goid, p_id, by_sysmon),
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

    fn request(&mut self, ts: u64, goid: u64, p_id: i32, by_sysmon: bool) {
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
        if let Some(s) = self.slices.running(goid) {
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

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> PreemptionReport {
        let meta = inputs.meta;
        let coverage = Coverage::default_level(
            meta,
            self.saw_default_level,
            "goroutine scheduling events (GoStart, GoYield, AsyncPreempt)",
        );

        let mut goroutines = self.goroutines.clone();
        let open = self.slices.open_at(inputs.end_ns);
        for s in &open {
            goroutines.entry(s.goid).or_default().add_slice(s);
        }
        let running: Vec<(u64, GoStats)> = goroutines
            .into_iter()
            .filter(|(_, g)| g.running_ns > 0 || g.slices > 0)
            .collect();
        let function = |goid: u64| function_of(meta, self.start_pc.get(&goid).copied());

        let mut by_function: BTreeMap<String, TopFunction> = BTreeMap::new();
        for (goid, g) in &running {
            let name = function(*goid);
            let f = by_function.entry(name.clone()).or_insert(TopFunction {
                function: name,
                ..TopFunction::default()
            });
            f.goroutines += 1;
            f.slices += g.slices;
            f.running_ns += g.running_ns;
            f.max_slice_ns = f.max_slice_ns.max(g.max_slice_ns);
        }
        let mut top_functions: Vec<TopFunction> = by_function.into_values().collect();
        top_functions.sort_by(|a, b| {
            (b.max_slice_ns, b.running_ns)
                .cmp(&(a.max_slice_ns, a.running_ns))
                .then_with(|| a.function.cmp(&b.function))
        });

        let mut ranked = running;
        ranked.sort_by(|(ga, a), (gb, b)| {
            (b.max_slice_ns, b.running_ns)
                .cmp(&(a.max_slice_ns, a.running_ns))
                .then(ga.cmp(gb))
        });
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
        PreemptionReport {
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
                open_at_end: open.iter().filter(|s| s.end == SliceEnd::TraceEnd).count() as u64,
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
#[path = "preemption_tests.rs"]
mod tests;
