//! The timeline's records: what a goroutine, P and thread were doing over time, what linked them
//! (flows), what happened at a point in time (instants), the runtime's counters, and the stacks
//! records refer to. Plain data with ids and CLOCK_MONOTONIC nanoseconds, so an exporter
//! (Perfetto, pprof, a file) can map each record without asking the analysis anything else.

use goroscope_events::Location;

/// One fact of the timeline, as the state machines emit it (each exactly once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineRecord {
    Goroutine(GoroutineSlice),
    Proc(ProcSlice),
    Thread(ThreadSlice),
    Flow(Flow),
    Instant(Instant),
    Counter(Counter),
    /// A runnable→running wait charged to the stack where the goroutine stopped
    /// (`sched::stacks`: the report's latency by stack).
    SchedWait(SchedWait),
    /// A kernel system call of one thread (`raw_syscalls`, default level and above).
    KernelSyscall(KernelSyscall),
    /// The frames of a stack that earlier records named by key (emitted when the analysis
    /// finishes, once the recording's symbols are complete).
    Stack(Stack),
    /// The source location of a creation pc that earlier `GoCreate` instants named (emitted
    /// with the stacks, at the end).
    CreationSite(CreationSite),
}

impl TimelineRecord {
    /// The stack this record refers to, if any.
    pub fn stack(&self) -> Option<StackKey> {
        match self {
            TimelineRecord::Goroutine(GoroutineSlice {
                state: GoActivity::Waiting { stack, .. },
                ..
            }) => *stack,
            TimelineRecord::Instant(Instant {
                kind: InstantKind::AsyncPreempt { stack, .. },
                ..
            }) => *stack,
            TimelineRecord::Instant(Instant {
                kind: InstantKind::GoCreate { start, .. },
                ..
            }) => Some(*start),
            TimelineRecord::SchedWait(w) => w.stack,
            _ => None,
        }
    }
}

/// Where a stack comes from; resolved to frames with [`super::frames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StackKey {
    /// A stack the tracer captured (id in the recording's stack table, full level).
    Captured(u32),
    /// A goroutine's start function (`GoCreate.start_pc`): the stack of a first run.
    Start(u64),
}

/// Where the `go` statements at `creation_pc` are, as the report names creation sites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreationSite {
    pub creation_pc: u64,
    pub location: Location,
}

/// A stack's frames, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub key: StackKey,
    pub frames: Vec<Location>,
}

/// `[start_ns, end_ns)` of one goroutine in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoroutineSlice {
    pub goid: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub state: GoActivity,
}

/// What a goroutine was doing during a [`GoroutineSlice`]. `Running` slices come from the run
/// tracker (`state::runs`, the same slices the report's time slices and P busy time use); the
/// others from the goroutine state machine (`state::goroutines`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoActivity {
    Running {
        /// The P it ran on (None: unknown, e.g. resumed after a syscall on a P that was taken).
        p: Option<i32>,
        tid: u32,
        /// The M of the `GoStart` that began the run (None: not reported).
        m: Option<i64>,
        /// Why it stopped.
        stop: StopReason,
        /// Resumed after a system call (no `GoStart`): not a scheduling decision.
        resumed: bool,
    },
    Runnable,
    /// Parked; `reason` is the raw `waitReason` (decode with `Meta::wait_reasons`), `stack`
    /// where it parked (full level).
    Waiting {
        reason: Option<u8>,
        stack: Option<StackKey>,
    },
    /// In a system call, on thread `tid` (None: entered before it was seen).
    Syscall {
        tid: Option<u32>,
    },
    /// Stopped by `suspendG` (`_Gpreempted`).
    Preempted,
    /// An extra M's goroutine between cgo callbacks.
    IdleExtraM,
    /// Its state before this was not derivable from what was seen.
    Unknown,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Park,
    /// `goschedImpl`: `preempted` (None: the Go version does not say) or `Gosched`.
    Yield {
        preempted: Option<bool>,
    },
    Syscall,
    /// `preemptPark` (GC stack scan).
    PreemptPark,
    Exit,
    /// Another goroutine started on the same thread or P (its stop event was not seen).
    Replaced,
    /// Still running when the trace (or the snapshot) ended: a lower bound.
    TraceEnd,
}

/// `[start_ns, end_ns)`: goroutine `goid` waited to run, charged to `stack` (where it last
/// stopped running, or its start function for a first run; None: not known, e.g. after
/// `Gosched`, a cooperative preemption or a syscall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedWait {
    pub goid: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub stack: Option<StackKey>,
}

/// `[start_ns, end_ns)` of one kernel system call on thread `tid`, made while goroutine `goid`
/// ran there (None: no goroutine on the thread, the runtime's own call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSyscall {
    pub tid: u32,
    pub goid: Option<u64>,
    pub start_ns: u64,
    pub end_ns: u64,
    /// The x86-64 syscall number (`goroscope_events::syscall_names`).
    pub nr: i64,
    /// The raw return value (`-errno` on error).
    pub ret: i64,
}

/// `[start_ns, end_ns)` of one P: running goroutine `goid`, or idle (`goid` None) while it
/// existed within GOMAXPROCS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSlice {
    pub p: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub goid: Option<u64>,
}

/// `[start_ns, end_ns)` of one kernel thread on or off CPU (`sched_switch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSlice {
    pub tid: u32,
    /// The M it runs, if announced by then.
    pub m: Option<i64>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub on_cpu: bool,
    /// How it left this state.
    pub end: ThreadEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadEnd {
    /// Switched out while still runnable (preempted by the kernel).
    Involuntary,
    /// Switched out because it blocked (or exited).
    Voluntary,
    /// Switched in.
    SwitchedIn,
    /// Its thread exited while off CPU.
    Exited,
    /// Still in this state at the end of the trace (or snapshot).
    TraceEnd,
}

/// An arrow from one goroutine's action to another goroutine's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub kind: FlowKind,
    /// The goroutine that acted (0: the runtime on g0, e.g. netpoll), when and on which thread.
    pub from_goid: u64,
    pub from_ns: u64,
    pub from_tid: u32,
    /// The goroutine it made runnable, and the start of its next run.
    pub to_goid: u64,
    pub to_ns: u64,
    pub to_tid: u32,
    pub to_p: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// `GoReady` → the readied goroutine's next `GoStart`.
    Ready,
    /// `GoCreate` → the new goroutine's first `GoStart`.
    Create,
}

/// Something that happened at one point in time, on thread `tid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    pub ts_ns: u64,
    pub tid: u32,
    pub kind: InstantKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstantKind {
    /// A goroutine was created (`start`: its start function, for naming its track;
    /// `creation_pc`: its `go` statement, located by a [`CreationSite`] record at the end).
    GoCreate {
        goid: u64,
        parent_goid: u64,
        start: StackKey,
        creation_pc: u64,
    },
    /// `preemptone`: sysmon (`by_sysmon`) or a STW/GC asks the goroutine on P `p` to stop.
    PreemptRequest { goid: u64, p: i32, by_sysmon: bool },
    /// SIGURG sent to `target_tid` (`queued`: the kernel queued it).
    SigurgSent { target_tid: u32, queued: bool },
    /// The emitting thread starts handling a SIGURG.
    SigurgDelivered,
    /// `asyncPreempt2`: the goroutine was stopped by a signal, at `stack` (full level).
    AsyncPreempt { goid: u64, stack: Option<StackKey> },
    /// P `thief_p` stole `taken` goroutines from P `victim_p`.
    Steal {
        thief_p: i32,
        victim_p: i32,
        taken: u32,
    },
    /// `handoffp`: P `p` was handed to another M.
    Handoff { p: i32, cause: HandoffCause },
    /// A stop-the-world begins (raw `stwReason`, None before Go 1.21).
    StwBegin { reason: Option<u8> },
    /// Every P is stopped.
    StwStopped,
    /// The world runs again.
    StwEnd,
    /// `gcStart(trigger)`.
    GcStart { trigger_kind: u32 },
}

/// Who gave a P away (see the hand-off rules in `sched::syscalls::handoff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffCause {
    /// The emitting M holds a P: `forEachP` during a GC phase change or a stop-the-world.
    GcStw,
    /// Its goroutine entered a call known to block and gave the P away at once.
    EnterSyscallBlock,
    /// A locked M with nothing to run passes its P on.
    StopLockedM,
    /// sysmon took the P of a thread blocked in a syscall.
    SysmonRetake,
}

/// A value of one of the runtime's counters at `ts_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub ts_ns: u64,
    pub kind: CounterKind,
    pub value: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CounterKind {
    /// `sched.npidle` (sampled).
    IdlePs,
    /// `sched.nmspinning` (sampled).
    SpinningMs,
    /// `sched.runqsize`: goroutines in the global run queue (sampled).
    GlobalRunQueue,
    /// GOMAXPROCS (sampled, or `procresize`).
    Gomaxprocs,
}

impl CounterKind {
    /// A stable name for track titles.
    pub fn name(self) -> &'static str {
        match self {
            CounterKind::IdlePs => "idle_ps",
            CounterKind::SpinningMs => "spinning_ms",
            CounterKind::GlobalRunQueue => "global_run_queue",
            CounterKind::Gomaxprocs => "gomaxprocs",
        }
    }
}
