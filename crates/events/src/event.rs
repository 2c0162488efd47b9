//! [`Event`] and [`EventKind`]: what happened, when, where.
//!
//! The runtime-side kinds come from uprobes on the Go runtime (entry probes, see
//! ../shared/reference/go-runtime-internals.md for the functions and arguments), the kernel-side
//! kinds from the `sched` tracepoints, filtered to the traced process by the BPF side.

use serde::{Deserialize, Serialize};

use crate::LossReason;

/// One thing that happened in the traced process (or in the pipeline that observes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// CLOCK_MONOTONIC nanoseconds (`bpf_ktime_get_ns`).
    pub ts_ns: u64,
    /// The CPU the event happened on (for [`EventKind::Switch`]: the CPU being switched).
    pub cpu: u32,
    /// The kernel thread id that emitted the event: for runtime events the thread running the
    /// probed code, for `Switch` the outgoing task, for `Wakeup` the waker, for `Lost` 0.
    pub tid: u32,
    pub kind: EventKind,
}

/// What happened. Goroutine ids (`goid`) are Go's: 0 means "no goroutine" (g0, the scheduler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// `runtime.newproc1`: goroutine `goid` was created by `parent_goid` (0: by the runtime)
    /// at the `go` statement whose call returns to `creation_pc` (`g.gopc`), to run the
    /// function at `start_pc` (`g.startpc`). The new g goes `_Gdead` → `_Grunnable`.
    GoCreate {
        goid: u64,
        parent_goid: u64,
        creation_pc: u64,
        start_pc: u64,
    },
    /// `runtime.casgstatus(gp, from, to)`: raw `_G*` values, `_Gscan` bit included (decode with
    /// [`crate::GStatus`]). Note: up to Go 1.23, `newproc1` switches a recycled g from `_Gdead`
    /// before it assigns the new goid, so `goid` of a `from == _Gdead` event may be stale.
    GoStatus { goid: u64, from: u32, to: u32 },
    /// `runtime.execute`: the goroutine starts running on M `m_id` and P `p_id` (-1: unknown).
    GoStart { goid: u64, p_id: i32, m_id: i64 },
    /// `runtime.gopark`: the goroutine is about to block with this raw `waitReason`.
    GoPark { goid: u64, wait_reason: u8 },
    /// `runtime.ready`: the goroutine is made runnable by `by_goid`, the goroutine running on
    /// the emitting thread (0: the runtime on g0, e.g. the scheduler or netpoll).
    GoReady { goid: u64, by_goid: u64 },
    /// `runtime.goschedImpl`: the running goroutine yields (`Gosched`) or is preempted;
    /// `preempted` is `None` when the Go version does not say (before 1.22).
    GoYield { goid: u64, preempted: Option<bool> },
    /// `runtime.goexit1`: the goroutine exits.
    GoExit { goid: u64 },
    /// `runtime.mstart1`: M `m_id` starts on the emitting thread.
    MStart { m_id: i64 },
    /// `runtime.mexit`: M `m_id` exits (its thread is about to exit).
    MExit { m_id: i64 },
    /// `sched_process_fork` for a new thread of the traced process; the parent is `tid`.
    ThreadFork { child_tid: u32 },
    /// `sched_process_exit`: thread `tid` exits.
    ThreadExit,
    /// `sched_switch` on CPU `cpu`. `prev_state` is the outgoing task's state: 0
    /// (TASK_RUNNING) means it was still runnable, i.e. switched out involuntarily.
    /// `*_in_target` say which side belongs to the traced process.
    Switch {
        prev_tid: u32,
        next_tid: u32,
        prev_state: u64,
        prev_in_target: bool,
        next_in_target: bool,
    },
    /// `sched_wakeup`/`sched_wakeup_new`: `waker_tid` made `target_tid` runnable.
    Wakeup { target_tid: u32, waker_tid: u32 },
    /// The pipeline lost `count` events for `reason`.
    Lost { reason: LossReason, count: u64 },
}

impl EventKind {
    /// Every kind's [`EventKind::name`], in declaration order (for reports that list all kinds).
    pub const NAMES: [&'static str; 14] = [
        "go_create",
        "go_status",
        "go_start",
        "go_park",
        "go_ready",
        "go_yield",
        "go_exit",
        "m_start",
        "m_exit",
        "thread_fork",
        "thread_exit",
        "switch",
        "wakeup",
        "lost",
    ];

    /// A stable snake_case name of the kind (used as a key in reports).
    pub fn name(&self) -> &'static str {
        Self::NAMES[self.index()]
    }

    /// Position of the kind in [`EventKind::NAMES`].
    pub fn index(&self) -> usize {
        match self {
            EventKind::GoCreate { .. } => 0,
            EventKind::GoStatus { .. } => 1,
            EventKind::GoStart { .. } => 2,
            EventKind::GoPark { .. } => 3,
            EventKind::GoReady { .. } => 4,
            EventKind::GoYield { .. } => 5,
            EventKind::GoExit { .. } => 6,
            EventKind::MStart { .. } => 7,
            EventKind::MExit { .. } => 8,
            EventKind::ThreadFork { .. } => 9,
            EventKind::ThreadExit => 10,
            EventKind::Switch { .. } => 11,
            EventKind::Wakeup { .. } => 12,
            EventKind::Lost { .. } => 13,
        }
    }

    /// Whether the event comes from a uprobe on the Go runtime, i.e. was emitted by a thread of
    /// the traced process while it was running on a CPU.
    pub fn is_runtime(&self) -> bool {
        self.index() <= 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_indexed() {
        let mut names = EventKind::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::NAMES.len());
        let lost = EventKind::Lost {
            reason: LossReason::RingBufferFull,
            count: 1,
        };
        assert_eq!(lost.name(), "lost");
        assert!(!lost.is_runtime());
        assert!(EventKind::MExit { m_id: 1 }.is_runtime());
        assert!(!EventKind::ThreadExit.is_runtime());
    }
}
