//! The thread model: kernel threads of the traced process, their lifetimes (fork/exit, tid
//! reuse), on-CPU / off-CPU time from `sched_switch`, and the M each one runs.
//!
//! Rules:
//! - A thread is created by `ThreadFork`; a tid first seen otherwise existed before the trace
//!   (*preexisting*, alive from the trace start). The kernel reuses tids: after a thread exited,
//!   a `ThreadFork` of the same tid is a new thread. The exited thread's final switch-out still
//!   belongs to it; any other sign of the tid without a fork is a new thread (anomaly: the fork
//!   was lost).
//! - A thread is on CPU from a `Switch` with `next_tid = tid` to the next `Switch` with
//!   `prev_tid = tid`. Before its first switch, time since the thread's start (the trace start
//!   for preexisting threads) is attributed once the first switch says which side it was on:
//!   switched out ⇒ it was on CPU, switched in ⇒ off CPU (no event is missed in between unless
//!   one was lost). A runtime event from a thread proves it is on CPU. A thread with no such
//!   evidence at all is attributed nothing (0 on and 0 off).
//! - A thread seen running (a runtime event, a fork or exit it makes, a switch-out) while it is
//!   off CPU was switched in without a `Switch` saying so: some kernels do not report a switch
//!   whose `prev` is a task they hide from tracing (the idle task, a sandbox's agent), and no
//!   tracepoint form sees it (perf's `sched:sched_switch` misses the same switches). The switch-in
//!   is inferred at that first sign of life, counted in `inferred_switch_ins`, not as an anomaly:
//!   off CPU until then, on CPU from then.
//! - A switch-out with `prev_state == 0` (TASK_RUNNING) is involuntary (preempted), any other
//!   state voluntary (it blocked or exited).
//! - Only `Switch` sides flagged `*_in_target`, runtime events and fork/exit name threads of
//!   the process; `Wakeup` only counts wakeups of threads already known.
//! - Timeline: each on-CPU and off-CPU interval known at both ends is emitted when it closes
//!   (a thread's time before its first switch only once that switch says which side it was on).
//! - Retention (`retain_exited_ns`): threads over (exited and switched out for good) longer than
//!   the window are dropped from `all` in batches; their counts stay, `max_live` keeps the peak
//!   they took part in (computed before dropping them). A preexisting thread first seen after
//!   such a batch is not counted in the peaks of the time before it.

use std::collections::HashMap;

use goroscope_events::{Event, EventKind};

use crate::anomalies::{self, Anomalies};
use crate::timeline::{Collector, ThreadEnd, ThreadSlice, TimelineRecord};

/// include/linux/sched.h: the state of a task switched out for the last time.
const TASK_DEAD: u64 = 0x80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadOrigin {
    /// `ThreadFork` seen.
    Forked,
    /// Alive when the trace started.
    Preexisting,
    /// Its tid reappeared after an exit without a `ThreadFork`.
    Reappeared,
}

impl ThreadOrigin {
    pub fn name(self) -> &'static str {
        match self {
            ThreadOrigin::Forked => "forked",
            ThreadOrigin::Preexisting => "preexisting",
            ThreadOrigin::Reappeared => "reappeared",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cpu {
    Unknown,
    On(u64),
    Off(u64),
    /// Exited and switched out for the last time.
    Gone,
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub tid: u32,
    pub origin: ThreadOrigin,
    /// Start of the thread's life within the trace.
    pub start_ns: u64,
    pub exit_ns: Option<u64>,
    pub m_id: Option<i64>,
    cpu: Cpu,
    pub on_cpu_ns: u64,
    pub off_cpu_ns: u64,
    pub involuntary_switches: u64,
    pub voluntary_switches: u64,
    pub wakeups: u64,
    /// Time runnable but not running: from an involuntary switch-out (preempted by the kernel)
    /// or a wake-up to the next switch-in — the kernel's run-queue delay.
    pub runqueue_wait_ns: u64,
    /// Of `runqueue_wait_ns`, the waits after an involuntary switch-out (the kernel took the
    /// CPU away for another task: contention, not wake-up latency).
    pub preempted_wait_ns: u64,
    /// Waits from a wake-up to the switch-in (their time is the rest of `runqueue_wait_ns`).
    pub wakeup_waits: u64,
    /// Runnable since (an involuntary switch-out, `true`, or a wake-up while off CPU), until
    /// switched in.
    runnable_since: Option<(u64, bool)>,
}

impl Thread {
    /// On-CPU and off-CPU time with the open interval closed at `end_ns` (or the exit).
    pub fn cpu_ns_at(&self, end_ns: u64) -> (u64, u64) {
        let end = self.exit_ns.unwrap_or(end_ns);
        match self.cpu {
            Cpu::On(since) => (self.on_cpu_ns + end.saturating_sub(since), self.off_cpu_ns),
            Cpu::Off(since) => (self.on_cpu_ns, self.off_cpu_ns + end.saturating_sub(since)),
            Cpu::Unknown | Cpu::Gone => (self.on_cpu_ns, self.off_cpu_ns),
        }
    }

    /// Switched in at `ts`: the run-queue wait, if one was open, ends.
    fn end_runnable(&mut self, ts: u64) {
        if let Some((since, preempted)) = self.runnable_since.take() {
            let wait = ts.saturating_sub(since);
            self.runqueue_wait_ns += wait;
            if preempted {
                self.preempted_wait_ns += wait;
            } else {
                self.wakeup_waits += 1;
            }
        }
    }

    fn emit(
        &self,
        start_ns: u64,
        end_ns: u64,
        on_cpu: bool,
        end: ThreadEnd,
        out: &mut dyn Collector,
    ) {
        if out.enabled() {
            out.record(TimelineRecord::Thread(ThreadSlice {
                tid: self.tid,
                m: self.m_id,
                start_ns,
                end_ns: end_ns.max(start_ns),
                on_cpu,
                end,
            }));
        }
    }
}

#[derive(Debug, Default)]
pub struct Threads {
    /// Every thread seen, in order of appearance (tids may repeat).
    pub all: Vec<Thread>,
    /// tid → index in `all` of the latest thread with that tid.
    by_tid: HashMap<u32, usize>,
    /// Start of the trace: preexisting threads are alive from here.
    pub trace_start: u64,
    pub created: u64,
    pub exited: u64,
    pub preexisting: u64,
    pub m_started: u64,
    pub m_exited: u64,
    /// Switch-ins inferred from a thread running while off CPU (see the module rules).
    pub inferred_switch_ins: u64,
    /// Drop threads over this long ago (None: keep every thread).
    pub retain_exited_ns: Option<u64>,
    /// The peak of live threads computed before the last drop (0 if none).
    folded_max_live: u64,
    /// `all.len()` after the last drop: the next waits until it doubled (amortized cost).
    kept_after_fold: usize,
}

impl Threads {
    pub fn apply(&mut self, event: &Event, anomalies: &mut Anomalies, out: &mut dyn Collector) {
        let (ts, tid) = (event.ts_ns, event.tid);
        match event.kind {
            EventKind::ThreadFork { child_tid } => {
                self.running(ts, tid, anomalies, out);
                self.fork(ts, child_tid, anomalies, out);
                self.fold(ts);
            }
            EventKind::ThreadExit => {
                let i = self.running(ts, tid, anomalies, out);
                self.exit(ts, i, anomalies, out);
            }
            EventKind::Switch {
                prev_tid,
                next_tid,
                prev_state,
                prev_in_target,
                next_in_target,
            } => {
                if prev_in_target {
                    self.switch_out(ts, prev_tid, prev_state, anomalies, out);
                }
                if next_in_target {
                    self.switch_in(ts, next_tid, anomalies, out);
                }
            }
            EventKind::Wakeup { target_tid, .. } => {
                if let Some(t) = self
                    .by_tid
                    .get(&target_tid)
                    .and_then(|&i| self.all.get_mut(i))
                {
                    if t.exit_ns.is_none() {
                        t.wakeups += 1;
                        if matches!(t.cpu, Cpu::Off(_)) && t.runnable_since.is_none() {
                            t.runnable_since = Some((ts, false));
                        }
                    }
                }
            }
            EventKind::MStart { m_id } => {
                self.m_started += 1;
                let i = self.running(ts, tid, anomalies, out);
                self.set_m(i, m_id);
            }
            EventKind::MExit { m_id } => {
                // M0's mexit wedges the main thread (parks it for good): not an exit.
                if m_id != 0 {
                    self.m_exited += 1;
                }
                self.running(ts, tid, anomalies, out);
            }
            EventKind::GoStart { m_id, .. } => {
                let i = self.running(ts, tid, anomalies, out);
                self.set_m(i, m_id);
            }
            ref kind if kind.is_runtime() => {
                self.running(ts, tid, anomalies, out);
            }
            _ => {}
        }
    }

    /// Emits the intervals still open, as if they ended at `end_ns` (or the thread's exit).
    pub fn emit_open(&self, end_ns: u64, out: &mut dyn Collector) {
        for t in &self.all {
            let end = t.exit_ns.unwrap_or(end_ns);
            match t.cpu {
                Cpu::On(since) => t.emit(since, end, true, ThreadEnd::TraceEnd, out),
                Cpu::Off(since) => t.emit(since, end, false, ThreadEnd::TraceEnd, out),
                Cpu::Unknown | Cpu::Gone => {}
            }
        }
    }

    /// Most threads alive at the same time, from the lifetimes `[start, exit)` (with
    /// retention, also the peak among threads dropped since).
    pub fn max_live(&self, end_ns: u64) -> u64 {
        self.folded_max_live.max(self.max_live_now(end_ns))
    }

    /// Drops the threads over for longer than the retention window, once enough accumulated.
    fn fold(&mut self, now: u64) {
        let Some(window) = self.retain_exited_ns else {
            return;
        };
        if self.all.len() < 2 * self.kept_after_fold.max(512) {
            return;
        }
        let cutoff = now.saturating_sub(window);
        self.folded_max_live = self.max_live(now);
        self.all
            .retain(|t| !(t.cpu == Cpu::Gone && t.exit_ns.is_some_and(|e| e < cutoff)));
        self.by_tid.clear();
        for (i, t) in self.all.iter().enumerate() {
            self.by_tid.insert(t.tid, i);
        }
        self.kept_after_fold = self.all.len();
    }

    fn max_live_now(&self, end_ns: u64) -> u64 {
        let mut edges: Vec<(u64, i64)> = Vec::with_capacity(self.all.len() * 2);
        for t in &self.all {
            edges.push((t.start_ns, 1));
            edges.push((t.exit_ns.unwrap_or(end_ns).max(t.start_ns), -1));
        }
        // At equal times, exits first: a tid reused at the same nanosecond is not two threads.
        edges.sort_unstable();
        let (mut live, mut max) = (0i64, 0i64);
        for (_, delta) in edges {
            live += delta;
            max = max.max(live);
        }
        max.max(0) as u64
    }

    pub fn live_at_end(&self) -> u64 {
        self.all.iter().filter(|t| t.exit_ns.is_none()).count() as u64
    }

    /// Index of the thread `tid` names now: the latest one with that tid, or a new one if the
    /// tid is unknown (preexisting) or its thread is over (reappeared: seen again after its
    /// final switch-out, with no fork).
    fn lookup(&mut self, ts: u64, tid: u32, anomalies: &mut Anomalies) -> usize {
        match self.by_tid.get(&tid).copied() {
            Some(i) => {
                let Some(t) = self.all.get(i) else {
                    return self.add(
                        tid,
                        ThreadOrigin::Preexisting,
                        self.trace_start,
                        Cpu::Unknown,
                    );
                };
                // A thread's life ends at its final switch-out (TASK_DEAD), not at its exit
                // event: between the two the kernel may still preempt it and switch it back in.
                let over = t.exit_ns.is_some() && t.cpu == Cpu::Gone;
                if over {
                    anomalies.note(anomalies::THREAD_REAPPEARED_WITHOUT_FORK);
                    self.add(tid, ThreadOrigin::Reappeared, ts, Cpu::Unknown)
                } else {
                    i
                }
            }
            None => {
                self.preexisting += 1;
                self.add(
                    tid,
                    ThreadOrigin::Preexisting,
                    self.trace_start,
                    Cpu::Unknown,
                )
            }
        }
    }

    /// A thread emitted an event: it is on CPU now.
    fn running(
        &mut self,
        ts: u64,
        tid: u32,
        anomalies: &mut Anomalies,
        out: &mut dyn Collector,
    ) -> usize {
        let i = self.lookup(ts, tid, anomalies);
        self.ensure_on(ts, i, out);
        i
    }

    /// Makes thread `i`, seen running at `ts`, on CPU: since its start if nothing said which
    /// side it was on, since `ts` (an inferred switch-in) if it was believed off CPU.
    fn ensure_on(&mut self, ts: u64, i: usize, out: &mut dyn Collector) {
        let Some(t) = self.all.get_mut(i) else { return };
        match t.cpu {
            Cpu::Unknown => t.cpu = Cpu::On(t.start_ns),
            Cpu::Off(since) => {
                t.off_cpu_ns += ts.saturating_sub(since);
                t.emit(since, ts, false, ThreadEnd::SwitchedIn, out);
                t.cpu = Cpu::On(ts);
                t.end_runnable(ts);
                self.inferred_switch_ins += 1;
            }
            Cpu::On(_) | Cpu::Gone => {}
        }
    }

    fn add(&mut self, tid: u32, origin: ThreadOrigin, start_ns: u64, cpu: Cpu) -> usize {
        self.all.push(Thread {
            tid,
            origin,
            start_ns,
            exit_ns: None,
            m_id: None,
            cpu,
            on_cpu_ns: 0,
            off_cpu_ns: 0,
            involuntary_switches: 0,
            voluntary_switches: 0,
            wakeups: 0,
            runqueue_wait_ns: 0,
            preempted_wait_ns: 0,
            wakeup_waits: 0,
            runnable_since: None,
        });
        let i = self.all.len() - 1;
        self.by_tid.insert(tid, i);
        i
    }

    fn fork(&mut self, ts: u64, child: u32, anomalies: &mut Anomalies, out: &mut dyn Collector) {
        if let Some(&i) = self.by_tid.get(&child) {
            if self.all.get(i).is_some_and(|t| t.exit_ns.is_none()) {
                anomalies.note(anomalies::THREAD_FORK_OF_LIVE_TID);
                self.exit(ts, i, anomalies, out);
            }
        }
        self.created += 1;
        // A new thread is runnable, not running, until its first switch-in.
        self.add(child, ThreadOrigin::Forked, ts, Cpu::Off(ts));
    }

    fn exit(&mut self, ts: u64, i: usize, anomalies: &mut Anomalies, out: &mut dyn Collector) {
        let Some(t) = self.all.get_mut(i) else { return };
        if t.exit_ns.is_some() {
            anomalies.note(anomalies::THREAD_EXITED_TWICE);
            return;
        }
        t.exit_ns = Some(ts);
        t.runnable_since = None;
        self.exited += 1;
        // Still on CPU until its final switch-out; if it was not, its life ends here.
        match t.cpu {
            Cpu::Off(since) => {
                t.off_cpu_ns += ts.saturating_sub(since);
                t.cpu = Cpu::Gone;
                t.emit(since, ts, false, ThreadEnd::Exited, out);
            }
            Cpu::Unknown => t.cpu = Cpu::Gone,
            Cpu::On(_) | Cpu::Gone => {}
        }
    }

    fn switch_out(
        &mut self,
        ts: u64,
        tid: u32,
        prev_state: u64,
        anomalies: &mut Anomalies,
        out: &mut dyn Collector,
    ) {
        let i = self.lookup(ts, tid, anomalies);
        self.ensure_on(ts, i, out);
        let Some(t) = self.all.get_mut(i) else { return };
        let how = if prev_state == 0 {
            t.involuntary_switches += 1;
            t.runnable_since = Some((ts, true));
            ThreadEnd::Involuntary
        } else {
            t.voluntary_switches += 1;
            t.runnable_since = None;
            ThreadEnd::Voluntary
        };
        let since = match t.cpu {
            Cpu::On(since) => Some(since),
            Cpu::Unknown => Some(t.start_ns),
            Cpu::Off(_) | Cpu::Gone => None,
        };
        if let Some(since) = since {
            t.on_cpu_ns += ts.saturating_sub(since);
            t.emit(since, ts, true, how, out);
        }
        t.cpu = if t.exit_ns.is_some() && prev_state & TASK_DEAD != 0 {
            Cpu::Gone
        } else {
            Cpu::Off(ts)
        };
    }

    fn switch_in(&mut self, ts: u64, tid: u32, anomalies: &mut Anomalies, out: &mut dyn Collector) {
        let i = self.lookup(ts, tid, anomalies);
        let Some(t) = self.all.get_mut(i) else { return };
        let since = match t.cpu {
            Cpu::Off(since) => Some(since),
            Cpu::Unknown => Some(t.start_ns),
            Cpu::On(_) | Cpu::Gone => {
                anomalies.note(anomalies::SWITCH_IN_WHILE_ON_CPU);
                None
            }
        };
        if let Some(since) = since {
            t.off_cpu_ns += ts.saturating_sub(since);
            t.emit(since, ts, false, ThreadEnd::SwitchedIn, out);
        }
        t.end_runnable(ts);
        t.cpu = Cpu::On(ts);
    }

    fn set_m(&mut self, i: usize, m_id: i64) {
        if m_id >= 0 {
            if let Some(t) = self.all.get_mut(i) {
                t.m_id = Some(m_id);
            }
        }
    }

    /// The thread that runs M `m_id` now (the latest thread that announced it).
    pub fn thread_of_m(&self, m_id: i64) -> Option<u32> {
        self.all
            .iter()
            .rev()
            .find(|t| t.m_id == Some(m_id) && t.exit_ns.is_none())
            .map(|t| t.tid)
    }
}
