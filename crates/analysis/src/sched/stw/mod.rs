//! The stop-the-world section: each pause from `StwBegin` (`stopTheWorldWithSema` entry) through
//! `StwStopped` (it returned: every P stopped) to `StwEnd` (`startTheWorldWithSema` returned),
//! with its reason; per-reason totals, the longest pauses, and GC cycles.
//!
//! Rules:
//! - Pauses never overlap (the runtime serializes them on `worldsema`), so events pair in
//!   time order whatever thread emits them. A `StwBegin` while a pause is open means the open
//!   one's end was lost: it is kept with no end (`incomplete`). A `StwStopped` with no pause
//!   open starts one whose begin was lost. A `StwEnd` with none open is counted in
//!   `ends_without_begin`.
//! - Durations: stopping = begin → stopped, stopped = stopped → end (the world is stopped),
//!   total = begin → end; each is null when one of its ends is missing.
//! - Reason: the runtime's raw `stwReason` (Go 1.21+) decoded with the recording's table
//!   (`meta.stw_reasons`), else the table of Go 1.21–1.27 (identical in all of them). Go 1.19
//!   has no reason argument: the first pause after a `GcStart` while no GC cycle is running is
//!   "GC sweep termination" and the next one "GC mark termination" (gcStart and gcMarkDone stop
//!   the world in that order); any other pause is "unknown" (`inferred: true` on these). A
//!   non-GC pause between the two (e.g. ReadMemStats during the mark phase) is mislabelled.
//! - GC cycles: pauses whose reason is "GC sweep termination" (each cycle has exactly one).
//!   `GcStart` calls are counted by trigger kind too, but a call returns early when a cycle
//!   already runs, so they can exceed the cycles.

#[cfg(test)]
mod tests;

use goroscope_events::{Event, EventKind, Fact, Meta};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::state::Model;
use crate::timeline::{Collector, Instant, InstantKind, TimelineRecord};

/// Pauses listed in `longest`.
pub const LONGEST: usize = 20;

pub const SWEEP_TERMINATION: &str = "GC sweep termination";
pub const MARK_TERMINATION: &str = "GC mark termination";

/// `stwReason` strings of Go 1.21–1.27 (runtime/proc.go; the same values in every version).
const STW_REASONS: [&str; 17] = [
    "unknown",
    MARK_TERMINATION,
    SWEEP_TERMINATION,
    "write heap dump",
    "goroutine profile",
    "goroutine profile cleanup",
    "all goroutines stack trace",
    "read mem stats",
    "AllThreadsSyscall",
    "GOMAXPROCS",
    "start trace",
    "stop trace",
    "CountPagesInUse (test)",
    "ReadMetricsSlow (test)",
    "ReadMemStatsSlow (test)",
    "PageCachePagesLeaked (test)",
    "ResetDebugLog (test)",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GcPhase {
    /// No cycle known to run.
    Off,
    /// `GcStart` called: the next pause is its sweep termination (Go 1.19 inference).
    Triggered,
    /// Between sweep and mark termination.
    Marking,
}

#[derive(Debug, Clone)]
struct Pause {
    begin: Option<u64>,
    stopped: Option<u64>,
    end: Option<u64>,
    tid: u32,
    raw_reason: Option<u8>,
    /// Go 1.19: the reason inferred from the GC sequence.
    inferred: Option<&'static str>,
}

#[derive(Debug)]
pub struct Stw {
    open: Option<Pause>,
    pauses: Vec<Pause>,
    gc_phase: GcPhase,
    gc_starts: GcStartCalls,
    ends_without_begin: u64,
}

impl Default for Stw {
    fn default() -> Self {
        Stw {
            open: None,
            pauses: Vec::new(),
            gc_phase: GcPhase::Off,
            gc_starts: GcStartCalls::default(),
            ends_without_begin: 0,
        }
    }
}

impl Stw {
    pub fn observe(&mut self, event: &Event, _model: &Model, out: &mut dyn Collector) {
        let (ts, tid) = (event.ts_ns, event.tid);
        let instant = match event.kind {
            EventKind::StwBegin { reason } => Some(InstantKind::StwBegin { reason }),
            EventKind::StwStopped => Some(InstantKind::StwStopped),
            EventKind::StwEnd => Some(InstantKind::StwEnd),
            EventKind::GcStart { trigger_kind } => Some(InstantKind::GcStart { trigger_kind }),
            _ => None,
        };
        if let Some(kind) = instant.filter(|_| out.enabled()) {
            out.record(TimelineRecord::Instant(Instant {
                ts_ns: ts,
                tid,
                kind,
            }));
        }
        match event.kind {
            EventKind::StwBegin { reason } => {
                if let Some(lost_end) = self.open.take() {
                    self.pauses.push(lost_end);
                }
                let inferred = reason.is_none().then(|| self.infer_reason());
                self.open = Some(Pause {
                    begin: Some(ts),
                    stopped: None,
                    end: None,
                    tid,
                    raw_reason: reason,
                    inferred,
                });
            }
            EventKind::StwStopped => {
                let open = self.open.get_or_insert(Pause {
                    begin: None,
                    stopped: None,
                    end: None,
                    tid,
                    raw_reason: None,
                    inferred: None,
                });
                open.stopped.get_or_insert(ts);
            }
            EventKind::StwEnd => match self.open.take() {
                Some(mut pause) => {
                    pause.end = Some(ts);
                    self.pauses.push(pause);
                }
                None => self.ends_without_begin += 1,
            },
            EventKind::GcStart { trigger_kind } => {
                self.gc_starts.add(trigger_kind);
                if self.gc_phase == GcPhase::Off {
                    self.gc_phase = GcPhase::Triggered;
                }
            }
            _ => {}
        }
    }

    /// Go 1.19's missing reason, from where the GC cycle is.
    fn infer_reason(&mut self) -> &'static str {
        match self.gc_phase {
            GcPhase::Triggered => {
                self.gc_phase = GcPhase::Marking;
                SWEEP_TERMINATION
            }
            GcPhase::Marking => {
                self.gc_phase = GcPhase::Off;
                MARK_TERMINATION
            }
            GcPhase::Off => "unknown",
        }
    }

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> StwReport {
        let pauses: Vec<StwPause> = self
            .pauses
            .iter()
            .chain(self.open.as_ref())
            .map(|p| p.row(inputs.meta, inputs.start_ns))
            .collect();
        let seen = !pauses.is_empty() || self.ends_without_begin > 0 || self.gc_starts.total > 0;
        let mut by_reason: Vec<StwReasonRow> = Vec::new();
        for p in &pauses {
            let i = match by_reason.iter().position(|r| r.reason == p.reason) {
                Some(i) => i,
                None => {
                    by_reason.push(StwReasonRow {
                        reason: p.reason.clone(),
                        ..StwReasonRow::default()
                    });
                    by_reason.len() - 1
                }
            };
            if let Some(row) = by_reason.get_mut(i) {
                row.add(p);
            }
        }
        by_reason.sort_by(|a, b| (b.total_ns, &a.reason).cmp(&(a.total_ns, &b.reason)));
        let reasons_from = if pauses.iter().any(|p| p.raw_reason.is_some()) {
            "runtime"
        } else if pauses.iter().any(|p| p.inferred) {
            "inferred"
        } else {
            "none"
        };
        let cycles = pauses
            .iter()
            .filter(|p| p.reason == SWEEP_TERMINATION)
            .count() as u64;
        let mut longest = pauses.clone();
        longest.sort_by(|a, b| {
            (b.total_ns, b.stopped_ns, a.at_ns).cmp(&(a.total_ns, a.stopped_ns, b.at_ns))
        });
        longest.truncate(LONGEST);
        let sum = |f: fn(&StwPause) -> Option<u64>| {
            pauses
                .iter()
                .filter_map(f)
                .fold(0u64, |t, v| t.saturating_add(v))
        };
        StwReport {
            coverage: Coverage::of(inputs.meta, Fact::StopTheWorld, seen, "stop-the-world"),
            count: pauses.len() as u64,
            total_ns: sum(|p| p.total_ns),
            stopped_ns: sum(|p| p.stopped_ns),
            max_ns: pauses.iter().filter_map(|p| p.total_ns).max().unwrap_or(0),
            incomplete: pauses.iter().filter(|p| p.total_ns.is_none()).count() as u64,
            ends_without_begin: self.ends_without_begin,
            reasons_from: reasons_from.to_string(),
            by_reason,
            longest,
            gc: GcReport {
                cycles,
                gc_start_calls: self.gc_starts,
            },
        }
    }
}

impl Pause {
    fn row(&self, meta: &Meta, start_ns: u64) -> StwPause {
        let reason = match (self.raw_reason, self.inferred) {
            (Some(raw), _) => reason_name(meta, raw),
            (None, Some(inferred)) => inferred.to_string(),
            (None, None) => "unknown".to_string(),
        };
        let span = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?));
        StwPause {
            at_ns: self
                .begin
                .or(self.stopped)
                .map_or(0, |t| t.saturating_sub(start_ns)),
            reason,
            raw_reason: self.raw_reason,
            inferred: self.inferred.is_some(),
            tid: self.tid,
            stopping_ns: span(self.begin, self.stopped),
            stopped_ns: span(self.stopped, self.end),
            total_ns: span(self.begin, self.end),
        }
    }
}

/// The runtime's string for `stwReason` value `raw`.
fn reason_name(meta: &Meta, raw: u8) -> String {
    match meta.stw_reasons.get(raw) {
        Some(s) => s.to_string(),
        None => STW_REASONS
            .get(usize::from(raw))
            .map_or_else(|| format!("stwReason {raw}"), |s| s.to_string()),
    }
}

/// `GcStart` calls by `gcTrigger.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GcStartCalls {
    pub total: u64,
    /// gcTriggerHeap: the heap reached its goal.
    pub heap: u64,
    /// gcTriggerTime: forced after 2 minutes without a GC.
    pub time: u64,
    /// gcTriggerCycle: runtime.GC().
    pub cycle: u64,
    pub other: u64,
}

impl GcStartCalls {
    fn add(&mut self, kind: u32) {
        self.total += 1;
        match kind {
            0 => self.heap += 1,
            1 => self.time += 1,
            2 => self.cycle += 1,
            _ => self.other += 1,
        }
    }
}

/// `scheduler.stop_the_world`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StwReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Pauses, complete or not.
    pub count: u64,
    /// Sum of begin → end over the complete pauses.
    pub total_ns: u64,
    /// Sum of stopped → end (the world stopped).
    pub stopped_ns: u64,
    /// Longest begin → end.
    pub max_ns: u64,
    /// Pauses with a missing begin or end (lost, or the trace ended during one).
    pub incomplete: u64,
    pub ends_without_begin: u64,
    /// "runtime" (Go 1.21+), "inferred" (Go 1.19) or "none" (no pause).
    pub reasons_from: String,
    /// Per reason, most total time first.
    pub by_reason: Vec<StwReasonRow>,
    /// The longest pauses (at most 20), longest first.
    pub longest: Vec<StwPause>,
    pub gc: GcReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StwReasonRow {
    pub reason: String,
    pub count: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    /// Sum of begin → stopped.
    pub stopping_ns: u64,
    /// Sum of stopped → end.
    pub stopped_ns: u64,
}

impl StwReasonRow {
    fn add(&mut self, p: &StwPause) {
        self.count += 1;
        let total = p.total_ns.unwrap_or(0);
        self.total_ns = self.total_ns.saturating_add(total);
        self.max_ns = self.max_ns.max(total);
        self.stopping_ns = self.stopping_ns.saturating_add(p.stopping_ns.unwrap_or(0));
        self.stopped_ns = self.stopped_ns.saturating_add(p.stopped_ns.unwrap_or(0));
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StwPause {
    /// Begin (or stopped, if the begin was lost), ns since the trace start.
    pub at_ns: u64,
    pub reason: String,
    /// The runtime's `stwReason` value (null before Go 1.21).
    pub raw_reason: Option<u8>,
    /// The reason was inferred (Go 1.19).
    pub inferred: bool,
    /// The thread that stopped the world.
    pub tid: u32,
    pub stopping_ns: Option<u64>,
    pub stopped_ns: Option<u64>,
    pub total_ns: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GcReport {
    /// Pauses for "GC sweep termination": one per GC cycle.
    pub cycles: u64,
    pub gc_start_calls: GcStartCalls,
}
