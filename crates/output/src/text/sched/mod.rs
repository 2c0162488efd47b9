//! The scheduler sections of the text report, one module per section of analysis' `sched/`:
//! run queues and stealing, preemption and time slices, idle Ps, syscalls and hand-offs,
//! LockOSThread, GOMAXPROCS, stop-the-world pauses, latency by stack.

pub mod idle;
pub mod locking;
pub mod preemption;
pub mod procs;
pub mod runqueue;
pub mod stacks;
pub mod stw;
pub mod syscalls;

use goroscope_analysis::sched::SchedulerReport;

/// The scheduler sections, in the order of the JSON.
pub fn render(r: &SchedulerReport, out: &mut String) -> std::fmt::Result {
    runqueue::render(&r.run_queues, out)?;
    preemption::render(&r.preemption, out)?;
    idle::render(&r.idle, out)?;
    syscalls::render(&r.syscalls, out)?;
    locking::render(&r.locking, out)?;
    procs::render(&r.gomaxprocs, out)?;
    stw::render(&r.stop_the_world, out)?;
    stacks::render(&r.latency_by_stack, out)
}
