//! The scheduler sections of the report, beyond goroutine lifecycles: where goroutines were
//! taken from when scheduled and work stealing (runqueue/), preemption and time slices
//! (preemption/), idle Ps and spinning Ms (idle/), syscalls and P hand-offs (syscalls/),
//! LockOSThread (locking/), GOMAXPROCS and the CPU limit (procs/), stop-the-world pauses
//! and GC cycles (stw/), scheduling latency by stack (stacks.rs); whether each part was
//! captured, from the recording's capabilities (coverage.rs).
//!
//! Each section sees every event in timestamp order right after the core [`Model`] applied
//! it (so it can ask the model which goroutine runs on a thread, or where one was created),
//! and builds its part of [`SchedulerReport`] at the end (printed by the goroscope-output crate).

pub mod coverage;
pub mod idle;
pub mod locking;
pub mod preemption;
pub mod procs;
pub mod runqueue;
pub mod stacks;
pub mod stw;
pub mod syscalls;

use goroscope_events::{CpuLimit, CpuStat, Event, Location, Meta};
use serde::{Deserialize, Serialize};

use crate::sites::SiteKey;
use crate::state::Model;
use crate::timeline::Collector;

/// What sections need at the end besides the model.
pub struct FinishInputs<'a> {
    pub meta: &'a Meta,
    pub start_ns: u64,
    pub end_ns: u64,
    /// The source location of a goroutine creation site (cached by the caller).
    pub locate: &'a dyn Fn(SiteKey) -> Location,
    /// The process's CPU limit when the recording started (cgroup, affinity), if known.
    pub cpu_limit: Option<&'a CpuLimit>,
    /// Its cgroup's CPU accounting over the recording (end minus start), if known.
    pub cpu_stat: Option<&'a CpuStat>,
}

/// Every scheduler section's state.
#[derive(Debug, Default)]
pub struct Scheduler {
    pub run_queues: runqueue::RunQueues,
    pub preemption: preemption::Preemption,
    pub idle: idle::Idle,
    pub syscalls: syscalls::Syscalls,
    pub locking: locking::Locking,
    pub procs: procs::Procs,
    pub stw: stw::Stw,
    pub stacks: stacks::StackLatency,
}

impl Scheduler {
    /// Sections that keep per-goroutine state forget exited goroutines this long after their
    /// exit, folding what the report needs of them (None: keep everything).
    pub fn with_retention(mut self, window_ns: Option<u64>) -> Self {
        self.preemption.retain_exited_ns = window_ns;
        self
    }

    /// One event, in timestamp order, after `model` applied it; timeline records to `out`.
    pub fn observe(&mut self, event: &Event, model: &Model, out: &mut dyn Collector) {
        self.run_queues.observe(event, model, out);
        self.preemption.observe(event, model, out);
        self.idle.observe(event, model, out);
        self.syscalls.observe(event, model, out);
        self.locking.observe(event, model);
        self.procs.observe(event, model);
        self.stw.observe(event, model, out);
        self.stacks.observe(event, model, out);
    }

    /// Emits the timeline intervals the sections hold open at `end_ns`, without closing them.
    pub fn emit_open(&self, model: &Model, end_ns: u64, out: &mut dyn Collector) {
        if out.enabled() {
            self.idle.emit_open(model, end_ns, out);
        }
    }

    pub fn finish(&self, model: &Model, inputs: &FinishInputs<'_>) -> SchedulerReport {
        SchedulerReport {
            run_queues: self.run_queues.finish(model, inputs),
            preemption: self.preemption.finish(model, inputs),
            idle: self.idle.finish(model, inputs),
            syscalls: self.syscalls.finish(model, inputs),
            locking: self.locking.finish(model, inputs),
            gomaxprocs: self.procs.finish(model, inputs),
            stop_the_world: self.stw.finish(model, inputs),
            latency_by_stack: self.stacks.finish(model, inputs),
        }
    }
}

/// The `scheduler` object of the JSON report (docs/report-schema.md).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SchedulerReport {
    pub run_queues: runqueue::RunQueueReport,
    pub preemption: preemption::PreemptionReport,
    pub idle: idle::IdleReport,
    pub syscalls: syscalls::SyscallReport,
    pub locking: locking::LockingReport,
    pub gomaxprocs: procs::ProcsReport,
    pub stop_the_world: stw::StwReport,
    pub latency_by_stack: stacks::StackLatencyReport,
}
