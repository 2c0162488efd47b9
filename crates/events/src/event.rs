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
        /// The P whose run queue (runnext) the new goroutine is put on (-1: unknown).
        p_id: i32,
    },
    /// `runtime.casgstatus(gp, from, to)`: raw `_G*` values, `_Gscan` bit included (decode with
    /// [`crate::GStatus`]). Note: up to Go 1.23, `newproc1` switches a recycled g from `_Gdead`
    /// before it assigns the new goid, so `goid` of a `from == _Gdead` event may be stale.
    GoStatus { goid: u64, from: u32, to: u32 },
    /// `runtime.execute`: the goroutine starts running on M `m_id` and P `p_id` (-1: unknown).
    /// `inherit_time`: it came from the P's `runnext` slot and inherits the time slice;
    /// `locked`: it is locked to its thread (`LockOSThread`, `g.lockedm` set).
    GoStart {
        goid: u64,
        p_id: i32,
        m_id: i64,
        inherit_time: bool,
        locked: bool,
    },
    /// `runtime.gopark`: the goroutine is about to block with this raw `waitReason`.
    /// `stack_id`: its user stack at the park, in the recording's stack table (full level only).
    GoPark {
        goid: u64,
        wait_reason: u8,
        stack_id: Option<u32>,
    },
    /// `runtime.ready`: the goroutine is made runnable by `by_goid`, the goroutine running on
    /// the emitting thread (0: the runtime on g0, e.g. the scheduler or netpoll), onto P
    /// `p_id`'s run queue (its `runnext` slot when `next`).
    GoReady {
        goid: u64,
        by_goid: u64,
        p_id: i32,
        next: bool,
    },
    /// `runtime.goschedImpl`: the running goroutine yields (`Gosched`) or is preempted;
    /// `preempted` is `None` when the Go version does not say (before 1.22).
    GoYield { goid: u64, preempted: Option<bool> },
    /// `runtime.goexit1`: the goroutine exits; `locked` if it still holds a `LockOSThread`
    /// (the runtime then destroys its thread).
    GoExit { goid: u64, locked: bool },
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
    /// `runqsteal` (entry): P `thief_p` tries to steal from P `victim_p`, whose local run queue
    /// held `queued` goroutines (`runnext` says whether its runnext slot was taken too). The
    /// thief takes half of the queue, rounded up. Emitted only when there was something to steal.
    Steal {
        thief_p: i32,
        victim_p: i32,
        queued: u32,
        runnext: bool,
    },
    /// `preemptone(pp)`: the runtime asks goroutine `goid` (0: none) running on P `p_id` to stop.
    /// `by_sysmon`: the requesting thread holds no P (sysmon's retake); otherwise it is a
    /// stop-the-world or GC preempting every P.
    PreemptRequest {
        goid: u64,
        p_id: i32,
        by_sysmon: bool,
    },
    /// `asyncPreempt2`: goroutine `goid` was stopped asynchronously by a SIGURG at an unsafe
    /// point of its code (it then yields as preempted, or parks for a GC stack scan).
    /// `stack_id`: where it was stopped, in the recording's stack table (full level only).
    AsyncPreempt { goid: u64, stack_id: Option<u32> },
    /// `preemptPark`: goroutine `goid` was preempted and parked in `_Gpreempted` (GC stack scan,
    /// `suspendG`); it runs again after someone readies it.
    GoPreemptPark { goid: u64 },
    /// `signal_generate`: thread `tid` sent signal `sig` to thread `target_tid` of the traced
    /// process; `result` is the kernel's (0: delivered to the queue).
    SignalSend {
        sig: u32,
        target_tid: u32,
        result: i32,
    },
    /// `signal_deliver`: thread `tid` starts handling signal `sig`.
    SignalDeliver { sig: u32 },
    /// The runtime's syscall path (`reentersyscall`, or `entersyscallblock` when `blocking`, which
    /// hands the P off at once): goroutine `goid` enters a system call.
    SyscallEnter { goid: u64, blocking: bool },
    /// `exitsyscall`: goroutine `goid` returns from its system call; `lost_p`: its P was taken
    /// during the call (by sysmon, or by another thread returning from a syscall), so it must
    /// get one again (Go's tracer calls this a blocked syscall).
    SyscallExit { goid: u64, lost_p: bool },
    /// `handoffp(pp)`: P `p_id` is handed to another M (or put idle) by the emitting thread, whose
    /// M runs `caller_goid` (0: none), holds a P (`caller_has_p`: a GC/STW `forEachP`) and/or is
    /// locked to a goroutine (`caller_locked`: `stoplockedm`). With none of these it is sysmon
    /// retaking a P from a thread blocked in a syscall.
    Handoff {
        p_id: i32,
        caller_goid: u64,
        caller_has_p: bool,
        caller_locked: bool,
    },
    /// `raw_syscalls:sys_exit` (with its `sys_enter`): thread `tid` made system call `nr`, which
    /// returned `ret` after `duration_ns`. `ts_ns` is the exit.
    KernelSyscall { nr: i64, ret: i64, duration_ns: u64 },
    /// `runtime.LockOSThread`: goroutine `goid` wires itself to its thread.
    LockOSThread { goid: u64 },
    /// `runtime.UnlockOSThread` (when not inlined into its caller): `goid` unwires itself.
    UnlockOSThread { goid: u64 },
    /// `runtime.stopm`: M `m_id` has no work and goes to sleep (idle M).
    MPark { m_id: i64 },
    /// `runtime.procresize(nprocs)`: GOMAXPROCS becomes `nprocs` (also at start-up).
    ProcResize { nprocs: i32 },
    /// `stopTheWorldWithSema` entry: a stop-the-world begins, with the runtime's raw `stwReason`
    /// (`None` before Go 1.21, which has no reason argument).
    StwBegin { reason: Option<u8> },
    /// `stopTheWorldWithSema` returned: every P is stopped.
    StwStopped,
    /// `startTheWorldWithSema` returned: the world runs again.
    StwEnd,
    /// `runtime.gcStart(trigger)`: a GC cycle may start (`trigger_kind`: gcTriggerHeap 0,
    /// gcTriggerTime 1, gcTriggerCycle 2, i.e. runtime.GC()). Returns early if one is running.
    GcStart { trigger_kind: u32 },
    /// Sampled by goroscope from the process's memory (not a probe): the runtime's own counters.
    SchedSample {
        npidle: i32,
        nmspinning: i32,
        global_runq: i32,
        gomaxprocs: i32,
    },
    /// The runtime's own scheduling sampler (`casgstatus`'s tracked runnable→running path, about
    /// one goroutine switch in 8, see docs): goroutine `goid` (created at `creation_pc`, running
    /// `start_pc`) is about to run on M `m_id` and P `p_id` (-1: unknown) on the emitting thread,
    /// after waiting `runnable_ns` to run as the runtime itself measured it (`g.runnableTime`,
    /// what `/sched/latencies:seconds` records). `first_run`: its first run since creation (a
    /// sampled creation, `g.sched.pc == g.startpc`). `wait_reason`: the raw `g.waitreason`, which
    /// the runtime only updates at a park: stale when it last stopped by a preemption or a yield
    /// (the stop stack says which). `stack_id`: where it had stopped (its saved `g.sched.pc` and
    /// the frame-pointer chain above, at most 16 frames, `stack_cut` if there were more), in the
    /// recording's stack table.
    GoSample {
        goid: u64,
        creation_pc: u64,
        start_pc: u64,
        runnable_ns: i64,
        p_id: i32,
        m_id: i64,
        wait_reason: u8,
        first_run: bool,
        locked: bool,
        stack_id: Option<u32>,
        stack_cut: bool,
    },
    /// goroscope's sampler gate (not a probe): the sample uprobe was detached (`paused`) or
    /// attached again, to keep the samples under the recording's rate limit. On a pause,
    /// `window_ns`: the window just before it whose samples came at `rate_per_s`, above the
    /// limit: its samples stand for the window and the pause that follows (0 and 0 on a resume).
    SamplerGate {
        paused: bool,
        rate_per_s: u64,
        window_ns: u64,
    },
}

impl EventKind {
    /// Every kind's [`EventKind::name`], in declaration order (for reports that list all kinds).
    pub const NAMES: [&'static str; 35] = [
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
        "steal",
        "preempt_request",
        "async_preempt",
        "go_preempt_park",
        "signal_send",
        "signal_deliver",
        "syscall_enter",
        "syscall_exit",
        "handoff",
        "kernel_syscall",
        "lock_os_thread",
        "unlock_os_thread",
        "m_park",
        "proc_resize",
        "stw_begin",
        "stw_stopped",
        "stw_end",
        "gc_start",
        "sched_sample",
        "go_sample",
        "sampler_gate",
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
            EventKind::Steal { .. } => 14,
            EventKind::PreemptRequest { .. } => 15,
            EventKind::AsyncPreempt { .. } => 16,
            EventKind::GoPreemptPark { .. } => 17,
            EventKind::SignalSend { .. } => 18,
            EventKind::SignalDeliver { .. } => 19,
            EventKind::SyscallEnter { .. } => 20,
            EventKind::SyscallExit { .. } => 21,
            EventKind::Handoff { .. } => 22,
            EventKind::KernelSyscall { .. } => 23,
            EventKind::LockOSThread { .. } => 24,
            EventKind::UnlockOSThread { .. } => 25,
            EventKind::MPark { .. } => 26,
            EventKind::ProcResize { .. } => 27,
            EventKind::StwBegin { .. } => 28,
            EventKind::StwStopped => 29,
            EventKind::StwEnd => 30,
            EventKind::GcStart { .. } => 31,
            EventKind::SchedSample { .. } => 32,
            EventKind::GoSample { .. } => 33,
            EventKind::SamplerGate { .. } => 34,
        }
    }

    /// Whether the event comes from a uprobe on the Go runtime, i.e. was emitted by a thread of
    /// the traced process while it was running on a CPU.
    pub fn is_runtime(&self) -> bool {
        !matches!(
            self,
            EventKind::ThreadFork { .. }
                | EventKind::ThreadExit
                | EventKind::Switch { .. }
                | EventKind::Wakeup { .. }
                | EventKind::Lost { .. }
                | EventKind::SignalSend { .. }
                | EventKind::SignalDeliver { .. }
                | EventKind::KernelSyscall { .. }
                | EventKind::SchedSample { .. }
                | EventKind::SamplerGate { .. }
        )
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
        assert!(EventKind::StwEnd.is_runtime());
        assert!(!EventKind::ThreadExit.is_runtime());
        assert!(!EventKind::SignalDeliver { sig: 23 }.is_runtime());
        assert_eq!(
            EventKind::SchedSample {
                npidle: 0,
                nmspinning: 0,
                global_runq: 0,
                gomaxprocs: 1
            }
            .name(),
            "sched_sample"
        );
    }
}
