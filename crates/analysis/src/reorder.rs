//! Restores timestamp order. Events reach us per CPU (or from one ring buffer in reservation
//! order), so streams from different CPUs interleave slightly out of order. We hold events in a
//! min-heap and release one only once an event at least `window_ns` newer has arrived (a
//! watermark), which sorts any skew up to the window. An event older than one already released
//! cannot be put in order any more: it is counted in `late_events` and not processed, so the
//! state machines never see time go backwards.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use goroscope_events::Event;

/// The reorder buffer.
#[derive(Debug)]
pub struct Reorderer {
    window_ns: u64,
    heap: BinaryHeap<Reverse<Pending>>,
    /// Arrival counter: ties in `ts_ns` keep arrival order (causal within one CPU's stream).
    seq: u64,
    newest_ts: u64,
    /// Timestamp of the last released event: anything older is late.
    released_upto: Option<u64>,
    late: u64,
}

#[derive(Debug)]
struct Pending {
    seq: u64,
    event: Event,
}

impl Pending {
    fn key(&self) -> (u64, u64) {
        (self.event.ts_ns, self.seq)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl Reorderer {
    /// A buffer that sorts skews up to `window_ns`.
    pub fn new(window_ns: u64) -> Self {
        Reorderer {
            window_ns,
            heap: BinaryHeap::new(),
            seq: 0,
            newest_ts: 0,
            released_upto: None,
            late: 0,
        }
    }

    /// Takes an event; returns false (and counts it as late) if it is older than an event
    /// already released.
    pub fn push(&mut self, event: Event) -> bool {
        if self.released_upto.is_some_and(|upto| event.ts_ns < upto) {
            self.late += 1;
            return false;
        }
        self.newest_ts = self.newest_ts.max(event.ts_ns);
        self.heap.push(Reverse(Pending {
            seq: self.seq,
            event,
        }));
        self.seq += 1;
        true
    }

    /// The oldest event if it is at least `window_ns` older than the newest one seen.
    pub fn pop_ready(&mut self) -> Option<Event> {
        let watermark = self.newest_ts.saturating_sub(self.window_ns);
        let Reverse(oldest) = self.heap.peek()?;
        if oldest.event.ts_ns > watermark {
            return None;
        }
        self.pop_any()
    }

    /// The oldest event regardless of the window (to flush at the end of the stream).
    pub fn pop_any(&mut self) -> Option<Event> {
        let Reverse(pending) = self.heap.pop()?;
        self.released_upto = Some(pending.event.ts_ns);
        Some(pending.event)
    }

    /// Events dropped because they arrived after the window had passed them.
    pub fn late_events(&self) -> u64 {
        self.late
    }

    /// Events held, not yet released.
    pub fn pending(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goroscope_events::EventKind;

    fn ev(ts_ns: u64, cpu: u32) -> Event {
        Event {
            ts_ns,
            cpu,
            tid: 1,
            kind: EventKind::GoExit {
                goid: ts_ns,
                locked: false,
            },
        }
    }

    fn drain(r: &mut Reorderer, out: &mut Vec<u64>) {
        while let Some(e) = r.pop_ready() {
            out.push(e.ts_ns);
        }
    }

    #[test]
    fn sorts_within_window_and_counts_late() {
        let mut r = Reorderer::new(100);
        let mut out = Vec::new();
        for (ts, cpu) in [(10, 0), (50, 0), (30, 1), (120, 0), (20, 1), (200, 1)] {
            assert!(r.push(ev(ts, cpu)));
            drain(&mut r, &mut out);
        }
        // 120 released 10 (watermark 20), so 20 was still in time; 200 released up to 100.
        assert_eq!(out, vec![10, 20, 30, 50]);
        // 60 is newer than the last released event (50): still in order, accepted.
        assert!(r.push(ev(60, 0)));
        // 40 is older than the last released (60 once drained) -> late.
        drain(&mut r, &mut out);
        assert_eq!(out, vec![10, 20, 30, 50, 60]);
        assert!(!r.push(ev(40, 1)));
        assert_eq!(r.late_events(), 1);
        while let Some(e) = r.pop_any() {
            out.push(e.ts_ns);
        }
        assert_eq!(out, vec![10, 20, 30, 50, 60, 120, 200]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn equal_timestamps_keep_arrival_order() {
        let mut r = Reorderer::new(0);
        for goid in [3, 1, 2] {
            r.push(Event {
                ts_ns: 5,
                cpu: 0,
                tid: 1,
                kind: EventKind::GoExit {
                    goid,
                    locked: false,
                },
            });
        }
        let order: Vec<_> = std::iter::from_fn(|| r.pop_any())
            .map(|e| match e.kind {
                EventKind::GoExit { goid, .. } => goid,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![3, 1, 2]);
    }
}
