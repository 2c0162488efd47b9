//! Synthetic event streams for tests (here and in other crates, with the `testutil` feature):
//! a builder that keeps a clock, a current CPU and thread, and emits typed events.
//!
//! ```text
//! let mut s = StreamBuilder::new();
//! s.on(0, 100).go_create(10, 1, SITE_PC).advance(500).go_start(10, 0, 0);
//! let events = s.build();
//! ```

use std::sync::Arc;

use goroscope_events::{
    Event, EventKind, Location, LossReason, Meta, TableSymbolizer, WaitReasons,
};

/// `_G*` status values (runtime/runtime2.go, identical in Go 1.19–1.27).
pub mod g {
    pub const IDLE: u32 = 0;
    pub const RUNNABLE: u32 = 1;
    pub const RUNNING: u32 = 2;
    pub const SYSCALL: u32 = 3;
    pub const WAITING: u32 = 4;
    pub const DEAD: u32 = 6;
    pub const PREEMPTED: u32 = 9;
    pub const SCAN: u32 = 0x1000;
}

/// Wait reasons of Go 1.21–1.25 used by the tests (go-runtime-internals.md, waitReason table).
pub mod wait {
    pub const SELECT: u8 = 9;
    pub const CHAN_RECEIVE: u8 = 14;
    pub const CHAN_SEND: u8 = 15;
    pub const SLEEP: u8 = 19;
}

/// Builds a `Vec<Event>` in emission order.
#[derive(Debug, Clone)]
pub struct StreamBuilder {
    events: Vec<Event>,
    now: u64,
    cpu: u32,
    tid: u32,
}

impl Default for StreamBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamBuilder {
    /// Clock at 1 ms (so that "0" is never a real timestamp), CPU 0, thread 1000.
    pub fn new() -> Self {
        StreamBuilder {
            events: Vec::new(),
            now: 1_000_000,
            cpu: 0,
            tid: 1000,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// Sets the clock (absolute ns).
    pub fn at(&mut self, ts_ns: u64) -> &mut Self {
        self.now = ts_ns;
        self
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, ns: u64) -> &mut Self {
        self.now += ns;
        self
    }

    /// Following events happen on `cpu`, emitted by thread `tid`.
    pub fn on(&mut self, cpu: u32, tid: u32) -> &mut Self {
        self.cpu = cpu;
        self.tid = tid;
        self
    }

    pub fn emit(&mut self, kind: EventKind) -> &mut Self {
        self.events.push(Event {
            ts_ns: self.now,
            cpu: self.cpu,
            tid: self.tid,
            kind,
        });
        self
    }

    pub fn go_create(&mut self, goid: u64, parent_goid: u64, creation_pc: u64) -> &mut Self {
        self.emit(EventKind::GoCreate {
            goid,
            parent_goid,
            creation_pc,
            start_pc: 0x40_0000,
            p_id: 0,
        })
    }
    pub fn go_status(&mut self, goid: u64, from: u32, to: u32) -> &mut Self {
        self.emit(EventKind::GoStatus { goid, from, to })
    }
    pub fn go_start(&mut self, goid: u64, p_id: i32, m_id: i64) -> &mut Self {
        self.emit(EventKind::GoStart {
            goid,
            p_id,
            m_id,
            inherit_time: false,
            locked: false,
        })
    }
    pub fn go_park(&mut self, goid: u64, wait_reason: u8) -> &mut Self {
        self.emit(EventKind::GoPark {
            goid,
            wait_reason,
            stack_id: None,
        })
    }
    pub fn go_ready(&mut self, goid: u64, by_goid: u64) -> &mut Self {
        self.emit(EventKind::GoReady {
            goid,
            by_goid,
            p_id: 0,
            next: false,
        })
    }
    pub fn go_yield(&mut self, goid: u64) -> &mut Self {
        self.emit(EventKind::GoYield {
            goid,
            preempted: Some(false),
        })
    }
    pub fn go_exit(&mut self, goid: u64) -> &mut Self {
        self.emit(EventKind::GoExit {
            goid,
            locked: false,
        })
    }
    pub fn m_start(&mut self, m_id: i64) -> &mut Self {
        self.emit(EventKind::MStart { m_id })
    }
    pub fn m_exit(&mut self, m_id: i64) -> &mut Self {
        self.emit(EventKind::MExit { m_id })
    }
    pub fn thread_fork(&mut self, child_tid: u32) -> &mut Self {
        self.emit(EventKind::ThreadFork { child_tid })
    }
    pub fn thread_exit(&mut self) -> &mut Self {
        self.emit(EventKind::ThreadExit)
    }
    /// `sched_switch` on the current CPU between two threads of the target.
    pub fn switch(&mut self, prev_tid: u32, next_tid: u32, prev_state: u64) -> &mut Self {
        self.switch_flags(prev_tid, next_tid, prev_state, true, true)
    }
    pub fn switch_flags(
        &mut self,
        prev_tid: u32,
        next_tid: u32,
        prev_state: u64,
        prev_in_target: bool,
        next_in_target: bool,
    ) -> &mut Self {
        let tid = self.tid;
        self.tid = prev_tid;
        self.emit(EventKind::Switch {
            prev_tid,
            next_tid,
            prev_state,
            prev_in_target,
            next_in_target,
        });
        self.tid = tid;
        self
    }
    pub fn wakeup(&mut self, target_tid: u32) -> &mut Self {
        let waker_tid = self.tid;
        self.emit(EventKind::Wakeup {
            target_tid,
            waker_tid,
        })
    }
    pub fn lost(&mut self, reason: LossReason, count: u64) -> &mut Self {
        self.emit(EventKind::Lost { reason, count })
    }

    /// The full life of a goroutine created at `site_pc` by goroutine 1 that runs
    /// `latency_ns` after creation and exits after `run_ns`, as the runtime emits it
    /// (newproc1's `_Gdead → _Grunnable` included).
    pub fn goroutine_lifetime(
        &mut self,
        goid: u64,
        site_pc: u64,
        latency_ns: u64,
        run_ns: u64,
    ) -> &mut Self {
        self.go_create(goid, 1, site_pc)
            .go_status(goid, g::DEAD, g::RUNNABLE)
            .advance(latency_ns)
            .go_start(goid, 0, 0)
            .go_status(goid, g::RUNNABLE, g::RUNNING)
            .advance(run_ns)
            .go_exit(goid)
            .advance(1)
            .go_status(goid, g::RUNNING, g::DEAD)
    }

    pub fn build(&self) -> Vec<Event> {
        self.events.clone()
    }
}

/// A source location in `main.go`.
pub fn location(function: &str, line: u32) -> Location {
    Location {
        function: function.to_string(),
        file: "/src/app/main.go".to_string(),
        line,
    }
}

/// Metadata for tests: Go 1.22 wait-reason strings for the values in [`wait`], and a
/// symbolizer that resolves each `(pc, location)` for the call instruction before `pc` (as
/// creation pcs are return addresses).
pub fn meta(sites: &[(u64, Location)]) -> Meta {
    let mut symbolizer = TableSymbolizer::new();
    for (pc, location) in sites {
        symbolizer.add_range(pc.saturating_sub(5), *pc, location.clone());
    }
    let reasons = [
        (wait::SELECT, "select"),
        (wait::CHAN_RECEIVE, "chan receive"),
        (wait::CHAN_SEND, "chan send"),
        (wait::SLEEP, "sleep"),
    ];
    Meta::new("go1.22.10")
        .with_wait_reasons(WaitReasons(
            reasons.iter().map(|(v, s)| (*v, s.to_string())).collect(),
        ))
        .with_symbolizer(Arc::new(symbolizer))
}
