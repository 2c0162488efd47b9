//! The Rust mirror of goroscope's event ABI, `include/goroscope.h` (the one definition, in C,
//! shared with the BPF programs): the ring-buffer records, the read-only configuration and the
//! statistics slots. Sizes are asserted at compile time here and in the header; the test
//! `tests/header_matches.rs` reads the header and fails when the two drift apart.
//!
//! Only the decoder (`goroscope-bpf`'s `decode`) and the loader use these structs: everything
//! downstream sees typed `events::Event`s.

use std::mem::size_of;

/// `GS_ABI_VERSION`: bumped whenever a struct or enum changes meaning or size.
pub const ABI_VERSION: u32 = 5;

/// The C header, for tools that want to show or check it.
pub const HEADER: &str = include_str!("../include/goroscope.h");

/// `enum gs_event_type`: the `type` of an event header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum EventType {
    GoCreate = 1,
    GoStatus = 2,
    GoStart = 3,
    GoPark = 4,
    GoReady = 5,
    GoYield = 6,
    GoExit = 7,
    MStart = 8,
    MExit = 9,
    ThreadFork = 10,
    ThreadExit = 11,
    Switch = 12,
    Wakeup = 13,
    Steal = 14,
    PreemptRequest = 15,
    AsyncPreempt = 16,
    PreemptPark = 17,
    SignalGenerate = 18,
    SignalDeliver = 19,
    SyscallEnter = 20,
    SyscallExit = 21,
    Handoff = 22,
    KernelSyscall = 23,
    LockThread = 24,
    UnlockThread = 25,
    MPark = 26,
    ProcResize = 27,
    StwBegin = 28,
    StwStopped = 29,
    StwEnd = 30,
    GcStart = 31,
    GoSample = 32,
}

/// `GS_EV__COUNT`: one past the last event type.
pub const EVENT_TYPE_COUNT: u16 = 33;

impl EventType {
    pub const ALL: [EventType; 32] = [
        EventType::GoCreate,
        EventType::GoStatus,
        EventType::GoStart,
        EventType::GoPark,
        EventType::GoReady,
        EventType::GoYield,
        EventType::GoExit,
        EventType::MStart,
        EventType::MExit,
        EventType::ThreadFork,
        EventType::ThreadExit,
        EventType::Switch,
        EventType::Wakeup,
        EventType::Steal,
        EventType::PreemptRequest,
        EventType::AsyncPreempt,
        EventType::PreemptPark,
        EventType::SignalGenerate,
        EventType::SignalDeliver,
        EventType::SyscallEnter,
        EventType::SyscallExit,
        EventType::Handoff,
        EventType::KernelSyscall,
        EventType::LockThread,
        EventType::UnlockThread,
        EventType::MPark,
        EventType::ProcResize,
        EventType::StwBegin,
        EventType::StwStopped,
        EventType::StwEnd,
        EventType::GcStart,
        EventType::GoSample,
    ];

    /// The type with this header tag, if any.
    pub fn from_tag(tag: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u16 == tag)
    }

    /// Size in bytes of the whole event of this type, header included.
    pub fn event_size(self) -> usize {
        match self {
            EventType::GoCreate => size_of::<GoCreate>(),
            EventType::GoStatus => size_of::<GoStatus>(),
            EventType::GoStart => size_of::<GoStart>(),
            EventType::GoPark => size_of::<GoPark>(),
            EventType::GoReady => size_of::<GoReady>(),
            EventType::GoYield => size_of::<GoYield>(),
            EventType::GoExit => size_of::<GoExit>(),
            EventType::MStart | EventType::MExit | EventType::MPark => size_of::<MEvent>(),
            EventType::SignalGenerate | EventType::SignalDeliver => size_of::<Signal>(),
            EventType::KernelSyscall => size_of::<KernelSyscall>(),
            EventType::ThreadFork => size_of::<ThreadFork>(),
            EventType::ThreadExit => size_of::<ThreadExit>(),
            EventType::Switch => size_of::<Switch>(),
            EventType::Wakeup => size_of::<Wakeup>(),
            EventType::GoSample => size_of::<GoSample>(),
            // The rest share `struct gs_ev_sched` (the test below checks it is exactly them).
            _ => size_of::<Sched>(),
        }
    }

    /// Whether records of this type are a `struct gs_ev_sched` (the scheduler events after
    /// `Wakeup` that have no struct of their own).
    pub fn is_sched(self) -> bool {
        matches!(
            self,
            EventType::Steal
                | EventType::PreemptRequest
                | EventType::AsyncPreempt
                | EventType::PreemptPark
                | EventType::SyscallEnter
                | EventType::SyscallExit
                | EventType::Handoff
                | EventType::LockThread
                | EventType::UnlockThread
                | EventType::ProcResize
                | EventType::StwBegin
                | EventType::StwStopped
                | EventType::StwEnd
                | EventType::GcStart
        )
    }

    /// A short name for statistics ("go_create", ...).
    pub fn name(self) -> &'static str {
        match self {
            EventType::GoCreate => "go_create",
            EventType::GoStatus => "go_status",
            EventType::GoStart => "go_start",
            EventType::GoPark => "go_park",
            EventType::GoReady => "go_ready",
            EventType::GoYield => "go_yield",
            EventType::GoExit => "go_exit",
            EventType::MStart => "m_start",
            EventType::MExit => "m_exit",
            EventType::ThreadFork => "thread_fork",
            EventType::ThreadExit => "thread_exit",
            EventType::Switch => "switch",
            EventType::Wakeup => "wakeup",
            EventType::Steal => "steal",
            EventType::PreemptRequest => "preempt_request",
            EventType::AsyncPreempt => "async_preempt",
            EventType::PreemptPark => "preempt_park",
            EventType::SignalGenerate => "signal_generate",
            EventType::SignalDeliver => "signal_deliver",
            EventType::SyscallEnter => "syscall_enter",
            EventType::SyscallExit => "syscall_exit",
            EventType::Handoff => "handoff",
            EventType::KernelSyscall => "kernel_syscall",
            EventType::LockThread => "lock_thread",
            EventType::UnlockThread => "unlock_thread",
            EventType::MPark => "m_park",
            EventType::GoSample => "go_sample",
            EventType::ProcResize => "procresize",
            EventType::StwBegin => "stw_begin",
            EventType::StwStopped => "stw_stopped",
            EventType::StwEnd => "stw_end",
            EventType::GcStart => "gc_start",
        }
    }
}

/// `GS_GOID_NONE`: goid 0 is g0 / no goroutine (Go numbers goroutines from 1).
pub const GOID_NONE: u64 = 0;
/// `GS_ID_UNKNOWN`: an M or P id that was not readable (or there was no P).
pub const ID_UNKNOWN: i64 = -1;
/// `GS_PREEMPTED_UNKNOWN`: goschedImpl before Go 1.22 has no `preempted` argument.
pub const PREEMPTED_UNKNOWN: u32 = 255;

/// `GS_SWITCH_*` flags of [`Switch::flags`].
pub const SWITCH_PREEMPT: u32 = 1;
pub const SWITCH_PREV_OURS: u32 = 2;
pub const SWITCH_NEXT_OURS: u32 = 4;
/// `GS_WAKEUP_NEW` flag of [`Wakeup::flags`].
pub const WAKEUP_NEW: u32 = 1;
/// `GS_START_*` flags of [`GoStart::flags`].
pub const START_INHERIT_TIME: u32 = 1;
pub const START_LOCKED: u32 = 2;
/// `GS_SCHED_*` flags of [`Sched::flags`].
pub const SCHED_RUNNEXT: u32 = 1;
pub const SCHED_BY_SYSMON: u32 = 2;
pub const SCHED_BLOCKING: u32 = 4;
pub const SCHED_CALLER_HAS_P: u32 = 8;
pub const SCHED_CALLER_LOCKED: u32 = 16;
pub const SCHED_REASON_KNOWN: u32 = 32;
pub const SCHED_LOST_P: u32 = 64;

/// `GS_STAT_*`: slots of the per-CPU statistics array (slot = base + event type).
pub const STAT_STRIDE: u32 = 64;
pub const STAT_SUBMITTED: u32 = 0;
pub const STAT_RESERVE_FAILED: u32 = 64;
pub const STAT_READ_FAILED: u32 = 128;
/// Kernel aggregates: updates lost because `kagg_threads` / `kagg_syscalls` was full.
pub const STAT_KAGG_THREADS_FULL: u32 = 192;
pub const STAT_KAGG_SYSCALLS_FULL: u32 = 193;
/// A system call not timed: its entry found no task-storage slot (no memory, or busy).
pub const STAT_SYSCALL_UNTRACKED: u32 = 194;
pub const STAT_COUNT: u32 = 195;

/// `GS_OFFSET_NONE`: a field the layout does not have.
pub const OFFSET_NONE: u32 = 0xffff_ffff;
/// `GS_CFG_*` flags of [`Config::flags`].
pub const CFG_YIELD_HAS_PREEMPTED: u32 = 1;
pub const CFG_FOLLOW_UPROBE_HITS: u32 = 2;
pub const CFG_STW_HAS_REASON: u32 = 4;
pub const CFG_SYSCALL_KEEPS_P: u32 = 8;
pub const CFG_PARK_STACKS: u32 = 16;
pub const CFG_KERNEL_AGGREGATES: u32 = 32;
pub const CFG_KERNEL_RECORDS: u32 = 64;

/// `GS_KAGG_BUCKETS`: buckets of the kernel aggregates' log2 histograms of nanoseconds.
pub const KAGG_BUCKETS: usize = 40;
/// `GS_KAGG_*` flags of [`KaggThread::flags`].
pub const KAGG_SCHED_INFO: u64 = 1;
pub const KAGG_DEAD: u64 = 2;

/// `struct gs_kagg_thread`: a value of the `kagg_threads` map (key: the tid as a u32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct KaggThread {
    pub read_ns: u64,
    pub sum_exec_runtime: u64,
    pub run_delay: u64,
    pub pcount: u64,
    pub nvcsw: u64,
    pub nivcsw: u64,
    pub start_ns: u64,
    pub exit_ns: u64,
    pub flags: u64,
    pub runnable_ns: u64,
    pub wait_count: u64,
    pub wait_sum_ns: u64,
    pub wait_hist: [u64; KAGG_BUCKETS],
    /// The system call the thread was in at the reading (0: none), copied by the task iterator.
    pub in_syscall_since_ns: u64,
    pub in_syscall_nr: i64,
    pub comm: [u8; 16],
}

impl Default for KaggThread {
    fn default() -> Self {
        // SAFETY: plain integers and arrays of them: all zeroes is a valid value.
        unsafe { std::mem::zeroed() }
    }
}

/// `struct gs_kagg_syscall_key`: a key of the `kagg_syscalls` map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C)]
pub struct KaggSyscallKey {
    pub tid: u32,
    pub nr: u32,
}

/// `struct gs_kagg_syscall`: a value of the `kagg_syscalls` map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct KaggSyscall {
    pub count: u64,
    pub errors: u64,
    pub sum_ns: u64,
    pub hist: [u64; KAGG_BUCKETS],
}

/// `struct gs_syscall_start`: a value of the `syscalls_in_flight` map (key: the tid as a u32).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SyscallStart {
    pub ts_ns: u64,
    pub nr: i64,
}

impl Default for KaggSyscall {
    fn default() -> Self {
        // SAFETY: plain integers and arrays of them: all zeroes is a valid value.
        unsafe { std::mem::zeroed() }
    }
}

/// `struct gs_event_header`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct EventHeader {
    pub ts_ns: u64,
    pub tgid: u32,
    pub tid: u32,
    pub cpu: u32,
    pub kind: u16,
    pub size: u16,
}

/// `struct gs_ev_go_create`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoCreate {
    pub h: EventHeader,
    pub goid: u64,
    pub parent_goid: u64,
    pub creation_pc: u64,
    pub start_pc: u64,
    pub m_id: i64,
    pub p_id: i32,
    pub pad: u32,
}

/// `struct gs_ev_go_status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoStatus {
    pub h: EventHeader,
    pub goid: u64,
    pub old_status: u32,
    pub new_status: u32,
}

/// `struct gs_ev_go_start`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoStart {
    pub h: EventHeader,
    pub goid: u64,
    pub m_id: i64,
    pub p_id: i32,
    pub flags: u32,
}

/// `struct gs_ev_go_park`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoPark {
    pub h: EventHeader,
    pub goid: u64,
    pub wait_reason: u32,
    pub stack_id: i32,
}

/// `GS_STACK_DEPTH`: frames per stack in the tracer's stack-trace map.
pub const STACK_DEPTH: usize = 32;
/// `GS_STACK_NONE`: a park without a captured stack.
pub const STACK_NONE: i32 = -1;

/// `struct gs_ev_go_ready`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoReady {
    pub h: EventHeader,
    pub goid: u64,
    pub waker_goid: u64,
    pub p_id: i32,
    pub next: u32,
}

/// `struct gs_ev_go_yield`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoYield {
    pub h: EventHeader,
    pub goid: u64,
    pub preempted: u32,
    pub pad: u32,
}

/// `struct gs_ev_go_exit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoExit {
    pub h: EventHeader,
    pub goid: u64,
    pub locked: u32,
    pub pad: u32,
}

/// `struct gs_ev_sched`: the scheduler events after `Wakeup` (fields' meaning per type).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Sched {
    pub h: EventHeader,
    pub goid: u64,
    pub value: u64,
    pub p_id: i32,
    pub p_id2: i32,
    pub flags: u32,
    pub pad: u32,
}

/// `struct gs_ev_syscall`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct KernelSyscall {
    pub h: EventHeader,
    pub nr: i64,
    pub ret: i64,
    pub duration_ns: u64,
}

/// `struct gs_ev_signal`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Signal {
    pub h: EventHeader,
    pub sig: u32,
    pub target_tid: u32,
    pub result: i32,
    pub pad: u32,
}

/// `struct gs_ev_m`: both M start and M exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MEvent {
    pub h: EventHeader,
    pub m_id: i64,
    pub procid: u64,
}

/// `struct gs_ev_thread_fork`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ThreadFork {
    pub h: EventHeader,
    pub parent_tid: u32,
    pub child_tid: u32,
}

/// `struct gs_ev_thread_exit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ThreadExit {
    pub h: EventHeader,
    pub exit_tid: u32,
    pub is_leader: u32,
}

/// `struct gs_ev_switch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Switch {
    pub h: EventHeader,
    pub prev_tid: u32,
    pub prev_tgid: u32,
    pub next_tid: u32,
    pub next_tgid: u32,
    pub prev_state: u32,
    pub flags: u32,
}

/// `struct gs_ev_wakeup`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Wakeup {
    pub h: EventHeader,
    pub woken_tid: u32,
    pub woken_tgid: u32,
    pub target_cpu: i32,
    pub flags: u32,
}

/// `struct gs_config`: the BPF object's read-only configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Config {
    pub target_tgid: u32,
    pub flags: u32,
    pub go_minor: u32,
    pub wakeup_bytes: u32,
    pub g_goid: u32,
    pub g_atomicstatus: u32,
    pub g_waitreason: u32,
    pub g_m: u32,
    pub g_parent_goid: u32,
    pub g_gopc: u32,
    pub g_startpc: u32,
    pub m_g0: u32,
    pub m_curg: u32,
    pub m_id: u32,
    pub m_procid: u32,
    pub m_p: u32,
    pub p_id: u32,
    pub g_lockedm: u32,
    pub m_lockedg: u32,
    pub p_m: u32,
    pub p_runqhead: u32,
    pub p_runqtail: u32,
    pub p_runnext: u32,
    pub m_oldp: u32,
    pub m_syscalltick: u32,
    pub p_status: u32,
    pub p_syscalltick: u32,
    pub g_sched_pc: u32,
    pub g_sched_bp: u32,
    pub g_runnable_time: u32,
    pub sample_gp_reg: u32,
    pub pad: u32,
}

/// `GS_SAMPLE_DEPTH`: frames of a sampled goroutine's stop stack.
pub const SAMPLE_DEPTH: usize = 16;
/// `GS_SAMPLE_*`: flags of a [`GoSample`].
pub const SAMPLE_FIRST_RUN: u32 = 1;
pub const SAMPLE_STACK_CUT: u32 = 2;
pub const SAMPLE_LOCKED: u32 = 4;

/// `struct gs_ev_go_sample`: a tracked runnable→running transition of the runtime's sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GoSample {
    pub h: EventHeader,
    pub goid: u64,
    pub creation_pc: u64,
    pub start_pc: u64,
    pub runnable_ns: i64,
    pub m_id: i64,
    pub p_id: i32,
    pub wait_reason: u32,
    pub flags: u32,
    pub nframes: u32,
    pub frames: [u64; SAMPLE_DEPTH],
}

// The same sizes as the header's GS_ASSERT_SIZE lines.
const _: () = assert!(size_of::<EventHeader>() == 24);
const _: () = assert!(size_of::<GoCreate>() == 72);
const _: () = assert!(size_of::<GoStatus>() == 40);
const _: () = assert!(size_of::<GoStart>() == 48);
const _: () = assert!(size_of::<GoPark>() == 40);
const _: () = assert!(size_of::<GoReady>() == 48);
const _: () = assert!(size_of::<GoYield>() == 40);
const _: () = assert!(size_of::<GoExit>() == 40);
const _: () = assert!(size_of::<MEvent>() == 40);
const _: () = assert!(size_of::<ThreadFork>() == 32);
const _: () = assert!(size_of::<ThreadExit>() == 32);
const _: () = assert!(size_of::<Switch>() == 48);
const _: () = assert!(size_of::<Wakeup>() == 40);
const _: () = assert!(size_of::<Sched>() == 56);
const _: () = assert!(size_of::<KernelSyscall>() == 48);
const _: () = assert!(size_of::<Signal>() == 40);
const _: () = assert!(size_of::<GoSample>() == 208);
const _: () = assert!(size_of::<Config>() == 128);
const _: () = assert!(size_of::<KaggThread>() == 448);
const _: () = assert!(size_of::<KaggSyscallKey>() == 8);
const _: () = assert!(size_of::<KaggSyscall>() == 344);
const _: () = assert!(size_of::<SyscallStart>() == 16);

/// Plain-old-data ABI structs: only integer fields, `repr(C)`, no implicit padding, so every
/// byte pattern of the right length is a valid value.
///
/// # Safety
/// Implement only for such structs.
pub unsafe trait Plain: Copy {}

unsafe impl Plain for EventHeader {}
unsafe impl Plain for GoCreate {}
unsafe impl Plain for GoStatus {}
unsafe impl Plain for GoStart {}
unsafe impl Plain for GoPark {}
unsafe impl Plain for GoSample {}
unsafe impl Plain for GoReady {}
unsafe impl Plain for GoYield {}
unsafe impl Plain for GoExit {}
unsafe impl Plain for MEvent {}
unsafe impl Plain for ThreadFork {}
unsafe impl Plain for ThreadExit {}
unsafe impl Plain for Switch {}
unsafe impl Plain for Wakeup {}
unsafe impl Plain for Sched {}
unsafe impl Plain for KernelSyscall {}
unsafe impl Plain for Signal {}
unsafe impl Plain for Config {}
unsafe impl Plain for KaggThread {}
unsafe impl Plain for KaggSyscallKey {}
unsafe impl Plain for KaggSyscall {}
unsafe impl Plain for SyscallStart {}

/// Reads a `T` from the start of `bytes`, or None if `bytes` is shorter than `T`.
pub fn read<T: Plain>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: the length was checked; `T: Plain` makes any bytes a valid `T`; the read is
    // unaligned because ring-buffer records only promise 8-byte alignment, slices none.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The bytes of a `T`, e.g. to build test records or copy the config into a skeleton.
pub fn bytes_of<T: Plain>(value: &T) -> &[u8] {
    // SAFETY: `T: Plain` has no padding, so every byte of it is initialised.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_tag() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_tag(t as u16), Some(t));
            assert!(t.event_size() % 8 == 0, "{t:?} size is not a multiple of 8");
        }
        // The scheduler events after Wakeup, and only they, are `struct gs_ev_sched` records.
        let sched: Vec<EventType> = EventType::ALL
            .into_iter()
            .filter(|t| t.is_sched())
            .collect();
        assert_eq!(sched.len(), 14);
        assert!(sched.iter().all(|t| *t as u16 > EventType::Wakeup as u16));
        assert_eq!(EventType::from_tag(0), None);
        assert_eq!(EventType::from_tag(EVENT_TYPE_COUNT), None);
        assert!(u32::from(EVENT_TYPE_COUNT) <= STAT_STRIDE);
    }

    #[test]
    fn read_refuses_short_input_and_round_trips_bytes() {
        let ev = GoExit {
            h: EventHeader {
                ts_ns: 1,
                tgid: 2,
                tid: 3,
                cpu: 4,
                kind: EventType::GoExit as u16,
                size: 40,
            },
            goid: 99,
            locked: 1,
            pad: 0,
        };
        let bytes = bytes_of(&ev);
        assert_eq!(read::<GoExit>(bytes), Some(ev));
        assert_eq!(read::<GoExit>(&bytes[..39]), None);
    }
}
