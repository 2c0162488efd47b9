//! Exited goroutine ids (tombstones): Go never reuses a goid, so an event for an exited one is
//! an anomaly, not a new goroutine. Kept forever by default; with a retention window they are
//! forgotten that long after the exit, so a long live session holds only recent ones.

use std::collections::{HashMap, VecDeque};

#[derive(Debug, Default)]
pub struct Tombstones {
    /// goid → exit time.
    exited: HashMap<u64, u64>,
    /// Exits in time order, to forget the oldest first (only with a window).
    queue: VecDeque<(u64, u64)>,
    /// Forget a goid this long after its exit (None: never).
    pub window_ns: Option<u64>,
}

impl Tombstones {
    pub fn insert(&mut self, goid: u64, ts: u64) {
        self.exited.insert(goid, ts);
        if self.window_ns.is_some() {
            self.queue.push_back((ts, goid));
        }
    }

    pub fn contains(&self, goid: u64) -> bool {
        self.exited.contains_key(&goid)
    }

    /// Removes `goid` (its id came back to life); true if it was there.
    pub fn remove(&mut self, goid: u64) -> bool {
        self.exited.remove(&goid).is_some()
    }

    /// Forgets the goroutines that exited more than the window before `now`.
    pub fn expire(&mut self, now: u64) {
        let Some(window) = self.window_ns else { return };
        while let Some(&(ts, goid)) = self.queue.front() {
            if now.saturating_sub(ts) <= window {
                break;
            }
            self.queue.pop_front();
            // Only if this exit is still the goid's latest (it may have died again since).
            if self.exited.get(&goid) == Some(&ts) {
                self.exited.remove(&goid);
            }
        }
    }

    pub fn count(&self) -> usize {
        self.exited.len()
    }
}
