//! P hand-offs (`Handoff`, `runtime.handoffp`): who gave a P away, per P, and the threads the
//! runtime started to take the P.
//!
//! Cause, from the emitting M (first match wins):
//! - `gc_stw`: it holds a P (`forEachP` during a GC phase change or a stop-the-world);
//! - `entersyscallblock`: it runs a goroutine (`caller_goid != 0`) without a P: the goroutine
//!   entered a call known to block and gave its P away at once;
//! - `stoplockedm`: it is locked to a goroutine (the locked goroutine's M has nothing to run
//!   and passes its P on);
//! - `sysmon_retake`: none of these: sysmon took the P of a thread blocked in a syscall.
//!
//! Threads started: `handoffp` may `startm` a new M, whose thread the hand-off's thread forks
//! (`clone` → `ThreadFork` emitted by it). The first `ThreadFork` emitted by the hand-off's
//! thread within [`THREAD_START_WINDOW_NS`] after the hand-off counts as started for it (one
//! thread per hand-off at most). A new M started through the template thread (when the caller
//! is locked to its thread) is forked by another thread and is not counted.

use std::collections::{BTreeMap, HashMap};

use goroscope_events::{Event, EventKind, Fact};
use serde::{Deserialize, Serialize};

use crate::sched::coverage::Coverage;
use crate::sched::FinishInputs;
use crate::timeline::{Collector, HandoffCause as Cause, Instant, InstantKind, TimelineRecord};

/// How long after a hand-off a thread fork on the same thread counts as started for it.
pub const THREAD_START_WINDOW_NS: u64 = 1_000_000;

impl Cause {
    fn of(caller_goid: u64, caller_has_p: bool, caller_locked: bool) -> Cause {
        if caller_has_p {
            Cause::GcStw
        } else if caller_goid != 0 {
            Cause::EnterSyscallBlock
        } else if caller_locked {
            Cause::StopLockedM
        } else {
            Cause::SysmonRetake
        }
    }
}

/// Counts by cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ByCause {
    pub sysmon_retake: u64,
    pub entersyscallblock: u64,
    pub stoplockedm: u64,
    pub gc_stw: u64,
}

impl ByCause {
    fn add(&mut self, cause: Cause) {
        let slot = match cause {
            Cause::GcStw => &mut self.gc_stw,
            Cause::EnterSyscallBlock => &mut self.entersyscallblock,
            Cause::StopLockedM => &mut self.stoplockedm,
            Cause::SysmonRetake => &mut self.sysmon_retake,
        };
        *slot += 1;
    }

    pub fn total(&self) -> u64 {
        self.sysmon_retake + self.entersyscallblock + self.stoplockedm + self.gc_stw
    }
}

#[derive(Debug, Default)]
pub struct Handoffs {
    by_cause: ByCause,
    by_p: BTreeMap<i32, ByCause>,
    threads_started: ByCause,
    /// tid → its latest hand-off not yet followed by a fork: (time, cause).
    pending: HashMap<u32, (u64, Cause)>,
}

impl Handoffs {
    pub fn observe(&mut self, event: &Event, out: &mut dyn Collector) {
        match event.kind {
            EventKind::Handoff {
                p_id,
                caller_goid,
                caller_has_p,
                caller_locked,
            } => {
                let cause = Cause::of(caller_goid, caller_has_p, caller_locked);
                self.by_cause.add(cause);
                self.by_p.entry(p_id).or_default().add(cause);
                self.pending.insert(event.tid, (event.ts_ns, cause));
                if out.enabled() {
                    out.record(TimelineRecord::Instant(Instant {
                        ts_ns: event.ts_ns,
                        tid: event.tid,
                        kind: InstantKind::Handoff { p: p_id, cause },
                    }));
                }
            }
            EventKind::ThreadFork { .. } => {
                if let Some((at, cause)) = self.pending.remove(&event.tid) {
                    if event.ts_ns.saturating_sub(at) <= THREAD_START_WINDOW_NS {
                        self.threads_started.add(cause);
                    }
                }
            }
            _ => {}
        }
    }

    pub fn finish(&self, inputs: &FinishInputs<'_>) -> HandoffReport {
        let seen = self.by_cause.total() > 0;
        HandoffReport {
            coverage: Coverage::of(inputs.meta, Fact::PHandoffs, seen, "P hand-offs"),
            total: self.by_cause.total(),
            by_cause: self.by_cause,
            threads_started: self.threads_started.total(),
            threads_started_by_cause: self.threads_started,
            thread_start_window_ns: THREAD_START_WINDOW_NS,
            by_p: self
                .by_p
                .iter()
                .map(|(&p_id, c)| HandoffPRow {
                    p_id,
                    total: c.total(),
                    by_cause: *c,
                })
                .collect(),
        }
    }
}

/// `scheduler.syscalls.handoffs`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HandoffReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub total: u64,
    pub by_cause: ByCause,
    /// Threads forked for a hand-off (see `thread_start_window_ns`).
    pub threads_started: u64,
    pub threads_started_by_cause: ByCause,
    pub thread_start_window_ns: u64,
    /// Per P id (-1: unknown), in P order.
    pub by_p: Vec<HandoffPRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffPRow {
    pub p_id: i32,
    pub total: u64,
    #[serde(flatten)]
    pub by_cause: ByCause,
}
