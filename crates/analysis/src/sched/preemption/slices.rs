//! Time slices: the intervals during which a goroutine ran on a P, cut from the event stream.
//! Shared by the preemption section (slice lengths, who hogs the CPU) and the idle section (P
//! busy time); each keeps its own tracker.
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

use std::collections::HashMap;

use goroscope_events::{Event, EventKind};

/// Why a slice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceEnd {
    Park,
    Yield,
    Syscall,
    PreemptPark,
    Exit,
    /// Another goroutine started on the same thread or P.
    Replaced,
    /// Still running when the trace ended (a lower bound of the slice).
    TraceEnd,
}

/// One closed slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub goid: u64,
    /// The P it ran on (-1: unknown).
    pub p_id: i32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub end: SliceEnd,
    /// Resumed after a system call (no `GoStart`): not a scheduling decision.
    pub resumed: bool,
}

impl Slice {
    pub fn duration_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }
}

/// A slice in progress.
#[derive(Debug, Clone, Copy)]
pub struct OpenSlice {
    pub p_id: i32,
    pub tid: u32,
    pub start_ns: u64,
    /// The `GoStart` that began this run (before any syscalls it resumed from).
    pub go_start_ns: u64,
    pub resumed: bool,
}

#[derive(Debug, Default)]
pub struct SliceTracker {
    open: HashMap<u64, OpenSlice>,
    /// tid → goroutine whose slice is open on it.
    on_thread: HashMap<u32, u64>,
    /// P → goroutine whose slice is open on it.
    on_p: HashMap<i32, u64>,
    /// Goroutines in a syscall: (P held before it, the run's GoStart time).
    in_syscall: HashMap<u64, (i32, u64)>,
}

impl SliceTracker {
    /// Feeds one event; slices it closes are appended to `closed`.
    pub fn observe(&mut self, event: &Event, closed: &mut Vec<Slice>) {
        let ts = event.ts_ns;
        match event.kind {
            EventKind::GoStart { goid, p_id, .. } => {
                self.close_thread(event.tid, ts, closed);
                if p_id >= 0 {
                    if let Some(&other) = self.on_p.get(&p_id) {
                        self.close(other, ts, SliceEnd::Replaced, closed);
                    }
                }
                self.close(goid, ts, SliceEnd::Replaced, closed);
                self.in_syscall.remove(&goid);
                self.open(goid, p_id, event.tid, ts, ts, false);
            }
            EventKind::GoPark { goid, .. } => {
                self.close(goid, ts, SliceEnd::Park, closed);
            }
            EventKind::GoYield { goid, .. } => {
                self.close(goid, ts, SliceEnd::Yield, closed);
            }
            EventKind::GoPreemptPark { goid } => {
                self.close(goid, ts, SliceEnd::PreemptPark, closed);
            }
            EventKind::GoExit { goid, .. } => {
                self.in_syscall.remove(&goid);
                self.close(goid, ts, SliceEnd::Exit, closed);
            }
            EventKind::SyscallEnter { goid, .. } => {
                if let Some(s) = self.close(goid, ts, SliceEnd::Syscall, closed) {
                    self.in_syscall.insert(goid, (s.p_id, s.go_start_ns));
                }
            }
            EventKind::SyscallExit { goid, .. } => {
                if let Some((p_id, go_start_ns)) = self.in_syscall.remove(&goid) {
                    // The P is ours again only if nobody started on it meanwhile.
                    let p_id = if p_id >= 0 && !self.on_p.contains_key(&p_id) {
                        p_id
                    } else {
                        -1
                    };
                    self.close_thread(event.tid, ts, closed);
                    self.open(goid, p_id, event.tid, ts, go_start_ns, true);
                }
            }
            _ => {}
        }
    }

    /// The slice `goid` is running in, if any.
    pub fn running(&self, goid: u64) -> Option<&OpenSlice> {
        self.open.get(&goid)
    }

    /// The slices still open, closed at `end_ns` with [`SliceEnd::TraceEnd`].
    pub fn open_at(&self, end_ns: u64) -> Vec<Slice> {
        let mut slices: Vec<Slice> = self
            .open
            .iter()
            .map(|(&goid, s)| Slice {
                goid,
                p_id: s.p_id,
                start_ns: s.start_ns,
                end_ns: end_ns.max(s.start_ns),
                end: SliceEnd::TraceEnd,
                resumed: s.resumed,
            })
            .collect();
        slices.sort_by_key(|s| (s.start_ns, s.goid));
        slices
    }

    fn open(&mut self, goid: u64, p_id: i32, tid: u32, ts: u64, go_start_ns: u64, resumed: bool) {
        self.open.insert(
            goid,
            OpenSlice {
                p_id,
                tid,
                start_ns: ts,
                go_start_ns,
                resumed,
            },
        );
        self.on_thread.insert(tid, goid);
        if p_id >= 0 {
            self.on_p.insert(p_id, goid);
        }
    }

    fn close_thread(&mut self, tid: u32, ts: u64, closed: &mut Vec<Slice>) {
        if let Some(&goid) = self.on_thread.get(&tid) {
            self.close(goid, ts, SliceEnd::Replaced, closed);
        }
    }

    fn close(
        &mut self,
        goid: u64,
        ts: u64,
        end: SliceEnd,
        closed: &mut Vec<Slice>,
    ) -> Option<OpenSlice> {
        let s = self.open.remove(&goid)?;
        if self.on_thread.get(&s.tid) == Some(&goid) {
            self.on_thread.remove(&s.tid);
        }
        if self.on_p.get(&s.p_id) == Some(&goid) {
            self.on_p.remove(&s.p_id);
        }
        closed.push(Slice {
            goid,
            p_id: s.p_id,
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

    fn feed(events: &[Event]) -> (SliceTracker, Vec<Slice>) {
        let mut t = SliceTracker::default();
        let mut closed = Vec::new();
        for e in events {
            t.observe(e, &mut closed);
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
                (10, 100, 400, SliceEnd::Park),
                (11, 500, 900, SliceEnd::Replaced)
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
        assert_eq!(closed[0].end, SliceEnd::Syscall);
        assert_eq!(
            (closed[1].p_id, closed[1].resumed, closed[1].end_ns),
            (2, true, 350)
        );
        let open = t.running(10).expect("resumed after the second syscall");
        assert_eq!((open.p_id, open.go_start_ns), (-1, 100));
        assert_eq!(t.open_at(1000).len(), 2);
    }
}
