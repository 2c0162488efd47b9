//! A model of each P's local run queue (`runnext` slot + 256-entry ring), fed by the events that
//! put goroutines on it, so that the goroutines a steal moves and the ones an overflow sends to
//! the global queue can be named (the `Steal` event only says how many).
//!
//! Mirrors runtime/proc.go: `runqput(pp, gp, next)` puts gp in `runnext` and kicks the old one
//! to the tail; a full ring makes `runqputslow` move its first half plus gp to the global
//! queue; `runqgrab` (stealing) takes the first half of the ring, rounded up, or `runnext`
//! alone when the ring is empty. It is a model: goroutines put on a queue without an event
//! (`injectglist` after netpoll or GC, `globrunqget` batches) are missing from it, so a steal may
//! name the wrong goroutines; the classification that uses it checks where they start.

use std::collections::{HashMap, VecDeque};

/// `len(p.runq)` in every Go version traced.
const RING: usize = 256;

#[derive(Debug, Default)]
struct LocalQueue {
    runnext: Option<u64>,
    ring: VecDeque<u64>,
}

#[derive(Debug, Default)]
pub struct QueueModel {
    queues: HashMap<i32, LocalQueue>,
    /// goid → the P whose queue holds it.
    holder: HashMap<u64, i32>,
}

impl QueueModel {
    /// `runqput(p, goid, next)`; returns the goroutines an overflow moved to the global queue.
    pub fn put(&mut self, p: i32, goid: u64, next: bool) -> Vec<u64> {
        self.remove(goid);
        let q = self.queues.entry(p).or_default();
        let tail = if next {
            match q.runnext.replace(goid) {
                Some(old) => old,
                None => {
                    self.holder.insert(goid, p);
                    return Vec::new();
                }
            }
        } else {
            goid
        };
        if goid != tail {
            self.holder.insert(goid, p);
        }
        if q.ring.len() < RING {
            q.ring.push_back(tail);
            self.holder.insert(tail, p);
            return Vec::new();
        }
        // runqputslow: the first half of the ring and the goroutine being put go global.
        let mut moved: Vec<u64> = q.ring.drain(..RING / 2).collect();
        moved.push(tail);
        for g in &moved {
            self.holder.remove(g);
        }
        moved
    }

    /// `runqgrab` of `victim` by `thief`, which took `taken` goroutines (`from_runnext`: the
    /// ring was empty and runnext was taken). The first `taken - 1` go to the thief's ring (the
    /// last one is run at once). Returns the goroutines the model believes were stolen.
    pub fn steal(&mut self, thief: i32, victim: i32, taken: u32, from_runnext: bool) -> Vec<u64> {
        let Some(q) = self.queues.get_mut(&victim) else {
            return Vec::new();
        };
        let stolen: Vec<u64> = if from_runnext {
            q.runnext.take().into_iter().collect()
        } else {
            let n = (taken as usize).min(q.ring.len());
            q.ring.drain(..n).collect()
        };
        for g in &stolen {
            self.holder.remove(g);
        }
        if let Some((_, rest)) = stolen.split_last() {
            let tq = self.queues.entry(thief).or_default();
            for &g in rest {
                if tq.ring.len() < RING {
                    tq.ring.push_back(g);
                    self.holder.insert(g, thief);
                }
            }
        }
        stolen
    }

    /// Forgets `goid` (it started running, or exited).
    pub fn remove(&mut self, goid: u64) {
        let Some(p) = self.holder.remove(&goid) else {
            return;
        };
        if let Some(q) = self.queues.get_mut(&p) {
            if q.runnext == Some(goid) {
                q.runnext = None;
            } else if let Some(i) = q.ring.iter().position(|&g| g == goid) {
                q.ring.remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnext_kicks_the_old_one_to_the_tail() {
        let mut m = QueueModel::default();
        m.put(0, 1, false);
        m.put(0, 2, true);
        m.put(0, 3, true);
        // ring [1, 2], runnext 3: a steal of half the ring (1) takes goroutine 1.
        assert_eq!(m.steal(1, 0, 1, false), vec![1]);
        assert_eq!(m.steal(1, 0, 1, false), vec![2]);
        assert_eq!(m.steal(1, 0, 1, true), vec![3]);
        assert!(m.steal(1, 0, 1, true).is_empty());
    }

    #[test]
    fn a_full_ring_sends_half_and_the_new_one_global() {
        let mut m = QueueModel::default();
        for g in 0..256 {
            assert!(m.put(0, g, false).is_empty());
        }
        let moved = m.put(0, 1000, false);
        let mut expected: Vec<u64> = (0..128).collect();
        expected.push(1000);
        assert_eq!(moved, expected);
        // The ring now starts at 128.
        assert_eq!(m.steal(1, 0, 1, false), vec![128]);
    }

    #[test]
    fn stolen_batch_lands_on_the_thief_but_the_last() {
        let mut m = QueueModel::default();
        for g in 1..=4 {
            m.put(0, g, false);
        }
        assert_eq!(m.steal(1, 0, 2, false), vec![1, 2]);
        // Goroutine 1 is now on P 1's ring: a steal from P 1 finds it.
        assert_eq!(m.steal(2, 1, 1, false), vec![1]);
        m.remove(3);
        assert_eq!(m.steal(2, 0, 5, false), vec![4]);
    }
}
