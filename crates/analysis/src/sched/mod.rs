//! The scheduler sections of the report, beyond goroutine lifecycles: where goroutines were
//! taken from when scheduled and work stealing (runqueue.rs), preemption and time slices
//! (preemption.rs), idle Ps and spinning Ms (idle.rs), syscalls and P hand-offs (syscalls.rs),
//! LockOSThread (locking.rs), GOMAXPROCS and the CPU limit (procs.rs), stop-the-world pauses
//! and GC cycles (stw.rs), scheduling latency by stack (stacks.rs).
//!
//! Each section sees every event in timestamp order right after the core [`Model`] applied
//! it (so it can ask the model which goroutine runs on a thread, or where one was created),
//! and builds its part of [`SchedulerReport`] at the end (printed by the goroscope-output crate).

pub mod idle;
pub mod locking;
pub mod preemption;
pub mod procs;
pub mod runqueue;
pub mod stacks;
pub mod stw;
pub mod syscalls;

use goroscope_events::{Event, Location, Meta};
use serde::{Deserialize, Serialize};

use crate::sites::SiteKey;
use crate::state::Model;

/// What sections need at the end besides the model.
pub struct FinishInputs<'a> {
    pub meta: &'a Meta,
    pub start_ns: u64,
    pub end_ns: u64,
    /// The source location of a goroutine creation site (cached by the caller).
    pub locate: &'a dyn Fn(SiteKey) -> Location,
    /// The process's CPU limit when the recording started (cgroup, affinity), if known.
    pub cpu_limit: Option<&'a procs::CpuLimit>,
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
    /// One event, in timestamp order, after `model` applied it.
    pub fn observe(&mut self, event: &Event, model: &Model) {
        self.run_queues.observe(event, model);
        self.preemption.observe(event, model);
        self.idle.observe(event, model);
        self.syscalls.observe(event, model);
        self.locking.observe(event, model);
        self.procs.observe(event, model);
        self.stw.observe(event, model);
        self.stacks.observe(event, model);
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
