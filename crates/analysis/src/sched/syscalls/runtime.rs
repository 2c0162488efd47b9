//! System calls through the runtime's syscall path: `SyscallEnter` (`reentersyscall`, or
//! `entersyscallblock` when `blocking`: the P is handed off at once) to `SyscallExit`
//! (`exitsyscall`), per goroutine. Only calls made through `entersyscall` show here (the
//! `syscall` package, file and network I/O); the runtime's own raw calls do not.
//!
//! Rules:
//! - Time in syscall runs from the enter to the exit of the same goroutine; an enter whose
//!   goroutine is still in a call (its exit was lost) replaces the open one, which is dropped.
//! - An exit with no open enter (the call began before the trace) counts as `unmatched_exits`
//!   and adds no time.
//! - A goroutine still in a call at the end of the trace counts its time up to the end.
//! - A call *lost its P* when it was a blocking one (`entersyscallblock` hands the P off at once),
//!   its `SyscallExit` says so (the P was taken during the call: by sysmon's retake, or by
//!   another thread returning from a syscall), or the goroutine's next event is a `GoStart`
//!   (exitsyscall found no P and the goroutine went through the scheduler: the P was taken
//!   after the probe looked): the goroutine had to get a P again (Go's tracer shows these as
//!   blocked syscall ends).
//! - Go 1.26+ switches `_Grunning`↔`_Gsyscall` without `casgstatus` on the fast path, but the
//!   probes sit on `reentersyscall`/`exitsyscall` themselves, present in every supported
//!   version: nothing here depends on the Go version.

use std::collections::HashMap;

use goroscope_events::{Event, EventKind, Fact};
use serde::{Deserialize, Serialize};

use super::TOP_GOROUTINES;
use crate::sched::coverage::Coverage;
use crate::sched::FinishInputs;
use crate::sites::SiteKey;
use crate::state::Model;

#[derive(Debug, Clone, Copy)]
struct Open {
    since: u64,
    blocking: bool,
}

#[derive(Debug, Default)]
struct PerGoroutine {
    site: Option<SiteKey>,
    calls: u64,
    blocking: u64,
    lost_p: u64,
    total_ns: u64,
    max_ns: u64,
}

#[derive(Debug, Default)]
pub struct RuntimeSyscalls {
    open: HashMap<u64, Open>,
    /// Goroutines back from a call that kept its P as far as the exit probe saw: a `GoStart`
    /// before anything else of theirs says it was lost after all.
    returned: HashMap<u64, ()>,
    per_goroutine: HashMap<u64, PerGoroutine>,
    enters: u64,
    blocking: u64,
    exits: u64,
    unmatched_exits: u64,
    lost_exits: u64,
    lost_p: u64,
}

impl RuntimeSyscalls {
    pub fn observe(&mut self, event: &Event, model: &Model) {
        match event.kind {
            EventKind::SyscallEnter { goid, blocking } => {
                self.returned.remove(&goid);
                self.enters += 1;
                self.blocking += u64::from(blocking);
                let g = self.goroutine(goid, model);
                g.calls += 1;
                g.blocking += u64::from(blocking);
                let open = Open {
                    since: event.ts_ns,
                    blocking,
                };
                if self.open.insert(goid, open).is_some() {
                    self.lost_exits += 1;
                }
            }
            EventKind::SyscallExit { goid, lost_p } => {
                self.exits += 1;
                match self.open.remove(&goid) {
                    Some(open) => {
                        let ns = event.ts_ns.saturating_sub(open.since);
                        let lost = lost_p || open.blocking;
                        self.goroutine(goid, model).add(ns);
                        if lost {
                            self.count_lost_p(goid, model);
                        } else {
                            self.returned.insert(goid, ());
                        }
                    }
                    None => self.unmatched_exits += 1,
                }
            }
            EventKind::GoStart { goid, .. } if self.returned.remove(&goid).is_some() => {
                self.count_lost_p(goid, model);
            }
            EventKind::GoPark { goid, .. }
            | EventKind::GoYield { goid, .. }
            | EventKind::GoExit { goid, .. }
            | EventKind::GoPreemptPark { goid } => {
                self.returned.remove(&goid);
            }
            _ => {}
        }
    }

    fn count_lost_p(&mut self, goid: u64, model: &Model) {
        self.lost_p += 1;
        self.goroutine(goid, model).lost_p += 1;
    }

    fn goroutine(&mut self, goid: u64, model: &Model) -> &mut PerGoroutine {
        let g = self.per_goroutine.entry(goid).or_default();
        if g.site.is_none() {
            g.site = model.goroutines.get(goid).map(|g| g.site);
        }
        g
    }

    pub fn finish(&self, inputs: &FinishInputs<'_>) -> RuntimeSyscallReport {
        let seen = self.enters + self.exits > 0;
        let coverage = Coverage::of(
            inputs.meta,
            Fact::RuntimeSyscalls,
            seen,
            "the runtime's syscall path (entersyscall/exitsyscall)",
        );
        // Close the calls still open at the end.
        let mut totals: HashMap<u64, (u64, u64)> = self
            .per_goroutine
            .iter()
            .map(|(&goid, g)| (goid, (g.total_ns, g.max_ns)))
            .collect();
        for (goid, open) in &self.open {
            let ns = inputs.end_ns.saturating_sub(open.since);
            let (total, max) = totals.entry(*goid).or_default();
            *total = total.saturating_add(ns);
            *max = (*max).max(ns);
        }
        let mut by_goroutine: Vec<RuntimeSyscallRow> = self
            .per_goroutine
            .iter()
            .map(|(&goid, g)| {
                let (total_ns, max_ns) = totals.get(&goid).copied().unwrap_or_default();
                let location = (inputs.locate)(g.site.unwrap_or(SiteKey::UnknownPc));
                RuntimeSyscallRow {
                    goid,
                    function: location.function,
                    file: location.file,
                    line: location.line,
                    calls: g.calls,
                    blocking: g.blocking,
                    lost_p: g.lost_p,
                    total_ns,
                    max_ns,
                    in_syscall_at_end: self.open.contains_key(&goid),
                }
            })
            .collect();
        by_goroutine.sort_by(|a, b| (b.total_ns, a.goid).cmp(&(a.total_ns, b.goid)));
        let goroutines = by_goroutine.len() as u64;
        let time_in_syscalls_ns = by_goroutine
            .iter()
            .fold(0u64, |t, r| t.saturating_add(r.total_ns));
        by_goroutine.truncate(TOP_GOROUTINES);
        RuntimeSyscallReport {
            coverage,
            calls: self.enters,
            blocking: self.blocking,
            exits: self.exits,
            unmatched_exits: self.unmatched_exits,
            lost_exits: self.lost_exits,
            lost_p: self.lost_p,
            in_syscall_at_end: self.open.len() as u64,
            time_in_syscalls_ns,
            goroutines,
            by_goroutine,
        }
    }
}

impl PerGoroutine {
    fn add(&mut self, ns: u64) {
        self.total_ns = self.total_ns.saturating_add(ns);
        self.max_ns = self.max_ns.max(ns);
    }
}

/// `scheduler.syscalls.through_runtime`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RuntimeSyscallReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `SyscallEnter` events (calls that went through entersyscall).
    pub calls: u64,
    /// Of which through `entersyscallblock` (the P was handed off at once).
    pub blocking: u64,
    pub exits: u64,
    /// Exits with no enter seen (the call began before the trace).
    pub unmatched_exits: u64,
    /// Enters whose exit was never seen before the goroutine's next enter.
    pub lost_exits: u64,
    /// Finished calls that lost their P (blocking, or retaken by sysmon while in the call).
    pub lost_p: u64,
    /// Goroutines still in a call at the end of the trace.
    pub in_syscall_at_end: u64,
    /// Sum of every goroutine's time in calls, calls still open counted to the end.
    pub time_in_syscalls_ns: u64,
    /// Distinct goroutines that entered a call.
    pub goroutines: u64,
    /// The goroutines with the most time in calls (at most 50).
    pub by_goroutine: Vec<RuntimeSyscallRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeSyscallRow {
    pub goid: u64,
    /// The goroutine's creation site.
    pub function: String,
    pub file: String,
    pub line: u32,
    pub calls: u64,
    pub blocking: u64,
    /// Finished calls that lost their P.
    pub lost_p: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    pub in_syscall_at_end: bool,
}
