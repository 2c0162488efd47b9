//! sysmon's targets by goroutine, at every level. sysmon asks a goroutine to stop
//! (`retake` → `preemptone`) when its P has run it for 10 ms (`forcePreemptNS`) without a
//! schedule, so a goroutine asked again and again computes for tens of milliseconds without
//! yielding: a CPU hog, told without time slices (which only the full level has).
//!
//! - The SIGURG that carries the request (`preemptM`, unless one is still pending on that
//!   thread) is sent from sysmon's own thread right after its `preemptone`: the next SIGURG
//!   sent by the thread that made a request is counted for the request's goroutine.
//! - What the goroutine is comes from the runtime's own samples of it (`GoSample`, default
//!   level): its start function and creation site, and where it had stopped — a goroutine
//!   stopped by a preemption was stopped in the code that ran without yielding. Samples are
//!   kept only for goroutines sysmon asked about (the hog is sampled when it runs again after a
//!   preemption, so after a request), which keeps this small.

use std::collections::HashMap;

use goroscope_events::{Event, EventKind, Location, Meta};
use serde::{Deserialize, Serialize};

use super::SIGURG;
use crate::sampled::StopKind;
use crate::sched::coverage::Coverage;
use crate::sites::SiteKey;

/// Rows kept in the JSON.
pub const TOP_TARGETS: usize = 20;

#[derive(Debug, Default)]
struct Target {
    requests: u64,
    sigurg_sent: u64,
    /// From the samples of this goroutine (0: none).
    start_pc: u64,
    creation_pc: u64,
    samples: u64,
    /// Samples by stop stack id (None: no stack).
    stops: HashMap<Option<u32>, u64>,
}

#[derive(Debug, Default)]
pub struct SysmonTargets {
    goroutines: HashMap<u64, Target>,
    /// sysmon's thread → the goroutine of its last request, until the SIGURG that follows.
    awaiting_signal: HashMap<u32, u64>,
    requests_seen: bool,
}

impl SysmonTargets {
    pub fn observe(&mut self, event: &Event) {
        match event.kind {
            EventKind::PreemptRequest {
                goid,
                by_sysmon: true,
                ..
            } => {
                self.requests_seen = true;
                if goid == 0 {
                    self.awaiting_signal.remove(&event.tid);
                    return;
                }
                self.goroutines.entry(goid).or_default().requests += 1;
                self.awaiting_signal.insert(event.tid, goid);
            }
            EventKind::SignalSend { sig: SIGURG, .. } => {
                if let Some(goid) = self.awaiting_signal.remove(&event.tid) {
                    if let Some(t) = self.goroutines.get_mut(&goid) {
                        t.sigurg_sent += 1;
                    }
                }
            }
            EventKind::GoSample {
                goid,
                creation_pc,
                start_pc,
                stack_id,
                ..
            } => {
                let Some(t) = self.goroutines.get_mut(&goid) else {
                    return;
                };
                t.samples += 1;
                t.start_pc = start_pc;
                t.creation_pc = creation_pc;
                *t.stops.entry(stack_id).or_default() += 1;
            }
            _ => {}
        }
    }

    /// The report rows; `start_pc_of` knows the start pc of goroutines created in the trace
    /// (full level), for those never sampled.
    pub fn finish(&self, meta: &Meta, start_pc_of: &dyn Fn(u64) -> Option<u64>) -> TargetsReport {
        let coverage = Coverage::of(
            meta,
            goroscope_events::Fact::PreemptRequests,
            self.requests_seen,
            "sysmon's preemption requests (preemptone)",
        );
        let mut rows: Vec<SysmonTarget> = self
            .goroutines
            .iter()
            .map(|(&goid, t)| {
                let start_pc = Some(t.start_pc)
                    .filter(|&pc| pc != 0)
                    .or_else(|| start_pc_of(goid));
                let (preempted_samples, stopped_at) = preempted_stops(meta, &t.stops);
                SysmonTarget {
                    goid,
                    requests: t.requests,
                    sigurg_sent: t.sigurg_sent,
                    function: super::function_of(meta, start_pc),
                    created_at: (t.creation_pc != 0).then(|| {
                        SiteKey::from_creation_pc(t.creation_pc).locate(meta.symbolizer.as_ref())
                    }),
                    samples: t.samples,
                    preempted_samples,
                    stopped_at,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.goid.cmp(&b.goid)));
        let goroutines = rows.len() as u64;
        rows.truncate(TOP_TARGETS);
        TargetsReport {
            coverage,
            goroutines,
            by_goroutine: rows,
        }
    }
}

/// How many of a goroutine's samples had stopped by a preemption, and the stack (innermost
/// first) it was most often preempted at.
fn preempted_stops(meta: &Meta, stops: &HashMap<Option<u32>, u64>) -> (u64, Vec<Location>) {
    let mut preempted = 0;
    let mut best: Option<(u64, Option<u32>, Vec<Location>)> = None;
    for (&id, &n) in stops {
        let frames: Vec<Location> = id
            .and_then(|id| meta.stacks.get(&id).cloned())
            .unwrap_or_default();
        if !matches!(
            StopKind::of(&frames, false),
            StopKind::PreemptedAsync | StopKind::PreemptedSync
        ) {
            continue;
        }
        preempted += n;
        // Most samples, then the lowest stack id: deterministic.
        if best
            .as_ref()
            .is_none_or(|(bn, bid, _)| n > *bn || (n == *bn && id < *bid))
        {
            best = Some((n, id, frames));
        }
    }
    (preempted, best.map(|(_, _, f)| f).unwrap_or_default())
}

/// `scheduler.preemption.sysmon_targets`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TargetsReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Goroutines sysmon asked to stop at least once.
    pub goroutines: u64,
    /// Most requests first, at most [`TOP_TARGETS`].
    pub by_goroutine: Vec<SysmonTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SysmonTarget {
    pub goid: u64,
    /// sysmon's requests (each: it had run 10 ms or more without a schedule).
    pub requests: u64,
    /// SIGURGs sysmon sent right after those requests.
    pub sigurg_sent: u64,
    /// Start function, from its samples (or its creation at the full level); "(unknown)".
    pub function: String,
    /// Creation site (`go` statement), from its samples.
    pub created_at: Option<Location>,
    /// Runtime samples of it (1 in 8 of its returns to running).
    pub samples: u64,
    /// Of which it had stopped by a preemption (async or at a prologue).
    pub preempted_samples: u64,
    /// The stop stack it was most often preempted at, innermost first (empty: none).
    pub stopped_at: Vec<Location>,
}
