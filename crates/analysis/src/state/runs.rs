//! Run slices: the intervals during which a goroutine ran, cut from the event stream once for
//! everyone — the preemption section's time slices, the idle section's P busy time and the
//! timeline's running goroutine slices all read these — plus the flows that end at a run
//! (who made the goroutine runnable).
//!
//! A slice starts at `GoStart` (runtime.execute) and ends when the goroutine stops running:
//! `GoPark`, `GoYield`, `SyscallEnter`, `GoPreemptPark`, `GoExit`, or another `GoStart` on the
//! same thread or the same P (a thread and a P run one goroutine at a time, so a second start
//! proves the first goroutine's stop event was lost or came from a path without a probe).
//!
//! After `exitsyscall` the goroutine runs again without a new `execute` (the fast path keeps or
//! reacquires a P): that is a *resumed* slice, attributed to the P it held before the syscall
//! if nobody else started on that P meanwhile (otherwise to no P: the fast path may have taken
//! any idle P and the event does not say which).
//!
//! Flows (timeline only, not tracked when nobody collects): `GoReady` or `GoCreate` of a
//! goroutine → its next `GoStart`; the first ready since its last run wins.

use std::collections::HashMap;

use goroscope_events::{Event, EventKind};

use crate::timeline::{
    Collector, Flow, FlowKind, GoActivity, GoroutineSlice, StopReason, TimelineRecord,
};

/// One closed slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub goid: u64,
    /// The P it ran on (-1: unknown).
    pub p_id: i32,
    pub tid: u32,
    /// The M of the `GoStart` that began the run (-1: not reported).
    pub m_id: i64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub end: StopReason,
    /// Resumed after a system call (no `GoStart`): not a scheduling decision.
    pub resumed: bool,
}

impl Slice {
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// The slice as a timeline record.
    pub fn record(&self) -> TimelineRecord {
        TimelineRecord::Goroutine(GoroutineSlice {
            goid: self.goid,
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            state: GoActivity::Running {
                p: (self.p_id >= 0).then_some(self.p_id),
                tid: self.tid,
                m: (self.m_id >= 0).then_some(self.m_id),
                stop: self.end,
                resumed: self.resumed,
            },
        })
    }
}

/// A slice in progress.
#[derive(Debug, Clone, Copy)]
pub struct OpenSlice {
    pub p_id: i32,
    pub tid: u32,
    pub m_id: i64,
    pub start_ns: u64,
    /// The `GoStart` that began this run (before any syscalls it resumed from).
    pub go_start_ns: u64,
    pub resumed: bool,
}

/// Who made a goroutine runnable, until its next run.
#[derive(Debug, Clone, Copy)]
struct PendingFlow {
    kind: FlowKind,
    from_goid: u64,
    from_ns: u64,
    from_tid: u32,
}

#[derive(Debug, Default)]
pub struct RunSlices {
    open: HashMap<u64, OpenSlice>,
    /// tid → goroutine whose slice is open on it.
    on_thread: HashMap<u32, u64>,
    /// P → goroutine whose slice is open on it.
    on_p: HashMap<i32, u64>,
    /// Goroutines in a syscall: the slice they left for it.
    in_syscall: HashMap<u64, OpenSlice>,
    /// Slices closed by the last event applied.
    closed: Vec<Slice>,
    pending_flows: HashMap<u64, PendingFlow>,
}

impl RunSlices {
    /// Applies one event; the slices it closes are in [`RunSlices::closed`] until the next one,
    /// and go to `out` with the flows that end at a run it starts.
    pub fn apply(&mut self, event: &Event, out: &mut dyn Collector) {
        self.closed.clear();
        self.cut(event);
        if out.enabled() {
            self.flows(event, out);
            for s in &self.closed {
                out.record(s.record());
            }
        }
    }

    /// The slices the last event closed, in the order it closed them.
    pub fn closed(&self) -> &[Slice] {
        &self.closed
    }

    fn cut(&mut self, event: &Event) {
        let ts = event.ts_ns;
        match event.kind {
            EventKind::GoStart {
                goid, p_id, m_id, ..
            } => {
                self.close_thread(event.tid, ts);
                if p_id >= 0 {
                    if let Some(&other) = self.on_p.get(&p_id) {
                        self.close(other, ts, StopReason::Replaced);
                    }
                }
                self.close(goid, ts, StopReason::Replaced);
                self.in_syscall.remove(&goid);
                self.open(
                    goid,
                    OpenSlice {
                        p_id,
                        tid: event.tid,
                        m_id,
                        start_ns: ts,
                        go_start_ns: ts,
                        resumed: false,
                    },
                );
            }
            EventKind::GoPark { goid, .. } => {
                self.close(goid, ts, StopReason::Park);
            }
            EventKind::GoYield { goid, preempted } => {
                self.close(goid, ts, StopReason::Yield { preempted });
            }
            EventKind::GoPreemptPark { goid } => {
                self.close(goid, ts, StopReason::PreemptPark);
            }
            EventKind::GoExit { goid, .. } => {
                self.in_syscall.remove(&goid);
                self.close(goid, ts, StopReason::Exit);
            }
            EventKind::SyscallEnter { goid, .. } => {
                if let Some(s) = self.close(goid, ts, StopReason::Syscall) {
                    self.in_syscall.insert(goid, s);
                }
            }
            EventKind::SyscallExit { goid, .. } => {
                if let Some(before) = self.in_syscall.remove(&goid) {
                    // The P is ours again only if nobody started on it meanwhile.
                    let p_id = if before.p_id >= 0 && !self.on_p.contains_key(&before.p_id) {
                        before.p_id
                    } else {
                        -1
                    };
                    self.close_thread(event.tid, ts);
                    self.open(
                        goid,
                        OpenSlice {
                            p_id,
                            tid: event.tid,
                            m_id: before.m_id,
                            start_ns: ts,
                            go_start_ns: before.go_start_ns,
                            resumed: true,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn flows(&mut self, event: &Event, out: &mut dyn Collector) {
        let (ts, tid) = (event.ts_ns, event.tid);
        let (goid, kind, from_goid) = match event.kind {
            EventKind::GoReady { goid, by_goid, .. } => (goid, FlowKind::Ready, by_goid),
            EventKind::GoCreate {
                goid, parent_goid, ..
            } => (goid, FlowKind::Create, parent_goid),
            EventKind::GoStart { goid, p_id, .. } => {
                if let Some(f) = self.pending_flows.remove(&goid) {
                    out.record(TimelineRecord::Flow(Flow {
                        kind: f.kind,
                        from_goid: f.from_goid,
                        from_ns: f.from_ns,
                        from_tid: f.from_tid,
                        to_goid: goid,
                        to_ns: ts,
                        to_tid: tid,
                        to_p: (p_id >= 0).then_some(p_id),
                    }));
                }
                return;
            }
            EventKind::GoExit { goid, .. } => {
                self.pending_flows.remove(&goid);
                return;
            }
            _ => return,
        };
        if goid != 0 {
            self.pending_flows.entry(goid).or_insert(PendingFlow {
                kind,
                from_goid,
                from_ns: ts,
                from_tid: tid,
            });
        }
    }

    /// The slice `goid` is running in, if any.
    pub fn running(&self, goid: u64) -> Option<&OpenSlice> {
        self.open.get(&goid)
    }

    /// The slice open on P `p`, if any.
    pub fn running_on_p(&self, p: i32) -> Option<&OpenSlice> {
        self.on_p.get(&p).and_then(|goid| self.open.get(goid))
    }

    /// The slices still open, closed at `end_ns` with [`StopReason::TraceEnd`], by start.
    pub fn open_at(&self, end_ns: u64) -> Vec<Slice> {
        let mut slices: Vec<Slice> = self
            .open
            .iter()
            .map(|(&goid, s)| Slice {
                goid,
                p_id: s.p_id,
                tid: s.tid,
                m_id: s.m_id,
                start_ns: s.start_ns,
                end_ns: end_ns.max(s.start_ns),
                end: StopReason::TraceEnd,
                resumed: s.resumed,
            })
            .collect();
        slices.sort_by_key(|s| (s.start_ns, s.goid));
        slices
    }

    /// Goroutines with an open slice or a pending flow (retained per-goroutine entries).
    pub fn retained(&self) -> usize {
        self.open.len() + self.in_syscall.len() + self.pending_flows.len()
    }

    fn open(&mut self, goid: u64, s: OpenSlice) {
        self.on_thread.insert(s.tid, goid);
        if s.p_id >= 0 {
            self.on_p.insert(s.p_id, goid);
        }
        self.open.insert(goid, s);
    }

    fn close_thread(&mut self, tid: u32, ts: u64) {
        if let Some(&goid) = self.on_thread.get(&tid) {
            self.close(goid, ts, StopReason::Replaced);
        }
    }

    fn close(&mut self, goid: u64, ts: u64, end: StopReason) -> Option<OpenSlice> {
        let s = self.open.remove(&goid)?;
        if self.on_thread.get(&s.tid) == Some(&goid) {
            self.on_thread.remove(&s.tid);
        }
        if self.on_p.get(&s.p_id) == Some(&goid) {
            self.on_p.remove(&s.p_id);
        }
        self.closed.push(Slice {
            goid,
            p_id: s.p_id,
            tid: s.tid,
            m_id: s.m_id,
            start_ns: s.start_ns,
            end_ns: ts.max(s.start_ns),
            end,
            resumed: s.resumed,
        });
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts_ns: u64, tid: u32, kind: EventKind) -> Event {
        Event {
            ts_ns,
            cpu: 0,
            tid,
            kind,
        }
    }

    fn start(goid: u64, p_id: i32) -> EventKind {
        EventKind::GoStart {
            goid,
            p_id,
            m_id: 0,
            inherit_time: false,
            locked: false,
        }
    }

    fn feed(events: &[Event]) -> (RunSlices, Vec<Slice>) {
        let mut t = RunSlices::default();
        let mut closed = Vec::new();
        for e in events {
            t.apply(e, &mut crate::timeline::NoCollector);
            closed.extend_from_slice(t.closed());
        }
        (t, closed)
    }

    #[test]
    fn start_to_park_and_replacement_on_the_same_thread() {
        let (_, closed) = feed(&[
            ev(100, 1, start(10, 0)),
            ev(
                400,
                1,
                EventKind::GoPark {
                    goid: 10,
                    wait_reason: 14,
                    stack_id: None,
                },
            ),
            ev(500, 1, start(11, 0)),
            // 11's stop was lost: 12 starting on the same thread ends it.
            ev(900, 1, start(12, 0)),
        ]);
        let got: Vec<_> = closed
            .iter()
            .map(|s| (s.goid, s.start_ns, s.end_ns, s.end))
            .collect();
        assert_eq!(
            got,
            vec![
                (10, 100, 400, StopReason::Park),
                (11, 500, 900, StopReason::Replaced)
            ]
        );
    }

    #[test]
    fn a_start_on_the_same_p_from_another_thread_ends_the_previous_slice() {
        let (_, closed) = feed(&[ev(100, 1, start(10, 3)), ev(700, 2, start(11, 3))]);
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].goid, closed[0].end_ns), (10, 700));
    }

    #[test]
    fn syscall_return_resumes_on_the_old_p_unless_it_was_taken() {
        let (t, closed) = feed(&[
            ev(100, 1, start(10, 2)),
            ev(
                200,
                1,
                EventKind::SyscallEnter {
                    goid: 10,
                    blocking: false,
                },
            ),
            ev(
                300,
                1,
                EventKind::SyscallExit {
                    goid: 10,
                    lost_p: false,
                },
            ),
            ev(
                350,
                1,
                EventKind::SyscallEnter {
                    goid: 10,
                    blocking: false,
                },
            ),
            // P 2 was handed off and runs goroutine 11 meanwhile.
            ev(360, 2, start(11, 2)),
            ev(
                500,
                1,
                EventKind::SyscallExit {
                    goid: 10,
                    lost_p: false,
                },
            ),
        ]);
        assert_eq!(closed[0].end, StopReason::Syscall);
        assert_eq!(
            (closed[1].p_id, closed[1].resumed, closed[1].end_ns),
            (2, true, 350)
        );
        let open = t.running(10).expect("resumed after the second syscall");
        assert_eq!((open.p_id, open.go_start_ns), (-1, 100));
        assert_eq!(t.open_at(1000).len(), 2);
    }
}
