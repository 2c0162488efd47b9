//! Where each goroutine came from when it was scheduled (per P and in total), and work stealing.
//!
//! At each `GoStart` (runtime.execute) on P x, the goroutine is classified, first rule that
//! applies:
//! 1. `stolen`: a `Steal` with `thief_p == x` happened on the same thread since that thread's
//!    previous `GoStart` (runqsteal's caller runs what it stole at once), or the queue model
//!    (sim.rs) says this goroutine was in a batch x stole; the victim P is recorded.
//! 2. `runnext`: `inherit_time` (execute took it from x's runnext slot).
//! 3. `netpoll`: its last park had wait reason "IO wait" (decoded with the trace's wait-reason
//!    strings at the end, since the numbering differs between Go versions).
//! 4. `global`: it became runnable by `GoYield` (goschedImpl puts it on the global queue), the
//!    queue model saw an overflow send it there, or it was readied onto another P than x
//!    without a steal (it reached x through the global queue, or a steal we did not see).
//! 5. `local`: readied (`GoReady.p_id`) or created (`GoCreate.p_id`) onto x.
//! 6. `unknown`: how it became runnable was not seen (before the trace, lost events, P -1).
//!
//! Steals: `runqgrab` takes half the victim's ring rounded up (`queued - queued/2`), or the
//! runnext goroutine alone when the ring is empty.

mod sim;

use std::collections::{BTreeMap, HashMap};

use goroscope_events::{Event, EventKind, Fact};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::state::Model;
use crate::timeline::{Collector, Instant, InstantKind, TimelineRecord};
use sim::QueueModel;

/// The wait reason of goroutines parked on the network poller (same string in every version).
const IO_WAIT: &str = "IO wait";

/// How a runnable goroutine got where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Readied or created onto this P's local queue.
    OntoP(i32),
    Global,
    Stolen {
        thief: i32,
        victim: i32,
    },
    /// Readied or created, but the event did not say onto which P.
    UnknownP,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Source {
    Local,
    Runnext,
    Global,
    Netpoll,
    Stolen,
    Unknown,
}

#[derive(Debug, Default)]
pub struct RunQueues {
    /// Any event of the "default" level seen (GoStart, GoReady, GoCreate, Steal).
    saw_default_level: bool,
    /// tid → (thief, victim) of the last steal since that thread's last GoStart.
    pending_steal: HashMap<u32, (i32, i32)>,
    queues: QueueModel,
    origin: HashMap<u64, Origin>,
    /// Raw wait reason of each goroutine's last park, until it starts again.
    last_park: HashMap<u64, u8>,
    per_p: BTreeMap<i32, Sources>,
    /// Starts of goroutines whose last park reason may be "IO wait": (P, reason, the source
    /// they have if it is not) → count; resolved with the wait-reason strings at the end.
    after_park: HashMap<(i32, u8, Source), u64>,
    pairs: BTreeMap<(i32, i32), PairRow>,
    /// goroutines taken → steals.
    per_steal: BTreeMap<u32, u64>,
    ready: ReadyCounts,
}

impl RunQueues {
    pub fn observe(&mut self, event: &Event, _model: &Model, out: &mut dyn Collector) {
        match event.kind {
            EventKind::GoCreate { goid, p_id, .. } => {
                self.saw_default_level = true;
                // newproc: runqput(pp, newg, true).
                self.put(goid, p_id, true);
            }
            EventKind::GoReady {
                goid, p_id, next, ..
            } => {
                self.saw_default_level = true;
                self.ready.total += 1;
                if next {
                    self.ready.runnext += 1;
                } else {
                    self.ready.tail += 1;
                }
                self.put(goid, p_id, next);
            }
            EventKind::GoYield { goid, .. } => {
                self.queues.remove(goid);
                self.last_park.remove(&goid);
                self.origin.insert(goid, Origin::Global);
            }
            EventKind::GoPark {
                goid, wait_reason, ..
            } => {
                self.queues.remove(goid);
                self.origin.remove(&goid);
                self.last_park.insert(goid, wait_reason);
            }
            EventKind::GoPreemptPark { goid } => {
                self.origin.remove(&goid);
                self.last_park.remove(&goid);
            }
            EventKind::GoExit { goid, .. } => {
                self.queues.remove(goid);
                self.origin.remove(&goid);
                self.last_park.remove(&goid);
            }
            EventKind::Steal {
                thief_p,
                victim_p,
                queued,
                runnext,
            } => {
                self.saw_default_level = true;
                let taken = self.steal(event.tid, thief_p, victim_p, queued, runnext);
                if out.enabled() {
                    out.record(TimelineRecord::Instant(Instant {
                        ts_ns: event.ts_ns,
                        tid: event.tid,
                        kind: InstantKind::Steal {
                            thief_p,
                            victim_p,
                            taken,
                        },
                    }));
                }
            }
            EventKind::GoStart {
                goid,
                p_id,
                inherit_time,
                ..
            } => {
                self.saw_default_level = true;
                self.start(event.tid, goid, p_id, inherit_time);
            }
            _ => {}
        }
    }

    fn put(&mut self, goid: u64, p_id: i32, next: bool) {
        if p_id < 0 {
            self.queues.remove(goid);
            self.origin.insert(goid, Origin::UnknownP);
            return;
        }
        self.origin.insert(goid, Origin::OntoP(p_id));
        for moved in self.queues.put(p_id, goid, next) {
            self.origin.insert(moved, Origin::Global);
        }
    }

    /// Returns how many goroutines the steal took.
    fn steal(&mut self, tid: u32, thief: i32, victim: i32, queued: u32, runnext: bool) -> u32 {
        let mut taken = queued - queued / 2;
        let from_runnext = taken == 0 && runnext;
        if from_runnext {
            taken = 1;
        }
        *self.per_steal.entry(taken).or_default() += 1;
        let pair = self.pairs.entry((thief, victim)).or_insert(PairRow {
            thief_p: thief,
            victim_p: victim,
            ..PairRow::default()
        });
        pair.steals += 1;
        pair.goroutines_taken += u64::from(taken);
        for goid in self.queues.steal(thief, victim, taken, from_runnext) {
            self.origin.insert(goid, Origin::Stolen { thief, victim });
        }
        self.pending_steal.insert(tid, (thief, victim));
        taken
    }

    fn start(&mut self, tid: u32, goid: u64, p: i32, inherit_time: bool) {
        let pending = self.pending_steal.remove(&tid);
        let origin = self.origin.remove(&goid);
        let parked = self.last_park.remove(&goid);
        self.queues.remove(goid);

        let stolen_from = match (pending, origin) {
            (Some((thief, victim)), _) if thief == p && p >= 0 => Some(victim),
            (_, Some(Origin::Stolen { thief, victim })) if thief == p && p >= 0 => Some(victim),
            _ => None,
        };
        let source = if let Some(victim) = stolen_from {
            if let Some(pair) = self.pairs.get_mut(&(p, victim)) {
                pair.started += 1;
            }
            Source::Stolen
        } else if inherit_time {
            Source::Runnext
        } else {
            match origin {
                Some(Origin::Global) => Source::Global,
                Some(Origin::OntoP(q)) if q == p => Source::Local,
                // The model's steal named the wrong goroutine: it never left its P.
                Some(Origin::Stolen { victim, .. }) if victim == p => Source::Local,
                Some(Origin::OntoP(_) | Origin::Stolen { .. }) if p >= 0 => Source::Global,
                _ => Source::Unknown,
            }
        };
        match (source, parked) {
            (Source::Stolen | Source::Runnext, _) | (_, None) => {
                self.per_p.entry(p).or_default().add(source, 1)
            }
            (_, Some(reason)) => *self.after_park.entry((p, reason, source)).or_default() += 1,
        }
    }

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> RunQueueReport {
        let meta = inputs.meta;
        let mut per_p = self.per_p.clone();
        for (&(p, reason, fallback), &n) in &self.after_park {
            let source = if meta.wait_reasons.get(reason) == Some(IO_WAIT) {
                Source::Netpoll
            } else {
                fallback
            };
            per_p.entry(p).or_default().add(source, n);
        }
        let mut from = Sources::default();
        let per_p: Vec<PRow> = per_p
            .into_iter()
            .map(|(p_id, s)| {
                from.merge(&s);
                PRow {
                    p_id,
                    starts: s.total(),
                    from: s,
                }
            })
            .collect();
        let coverage = Coverage::proven(
            meta,
            Fact::GoroutineScheduling,
            self.saw_default_level,
            "GoStart events",
        );
        let mut per_pair: Vec<PairRow> = self.pairs.values().cloned().collect();
        per_pair.sort_by_key(|r| (std::cmp::Reverse(r.steals), r.thief_p, r.victim_p));
        RunQueueReport {
            stealing: StealReport {
                coverage: coverage.clone(),
                steals: self.per_steal.values().sum(),
                goroutines_taken: self.per_steal.iter().map(|(&n, &k)| u64::from(n) * k).sum(),
                per_pair,
                per_steal: self
                    .per_steal
                    .iter()
                    .map(|(&goroutines, &steals)| TakenRow { goroutines, steals })
                    .collect(),
            },
            coverage,
            starts: from.total(),
            from,
            per_p,
            ready: self.ready.clone(),
        }
    }
}

/// Goroutine starts by where the goroutine was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Sources {
    pub local: u64,
    pub runnext: u64,
    pub global: u64,
    pub netpoll: u64,
    pub stolen: u64,
    pub unknown: u64,
}

impl Sources {
    fn add(&mut self, source: Source, n: u64) {
        let slot = match source {
            Source::Local => &mut self.local,
            Source::Runnext => &mut self.runnext,
            Source::Global => &mut self.global,
            Source::Netpoll => &mut self.netpoll,
            Source::Stolen => &mut self.stolen,
            Source::Unknown => &mut self.unknown,
        };
        *slot += n;
    }

    fn merge(&mut self, o: &Sources) {
        self.local += o.local;
        self.runnext += o.runnext;
        self.global += o.global;
        self.netpoll += o.netpoll;
        self.stolen += o.stolen;
        self.unknown += o.unknown;
    }

    pub fn total(&self) -> u64 {
        self.local + self.runnext + self.global + self.netpoll + self.stolen + self.unknown
    }
}

/// The `scheduler.run_queues` object (docs/report-schema.md).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunQueueReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `GoStart` events classified.
    pub starts: u64,
    pub from: Sources,
    /// By P id (-1: the event did not say).
    pub per_p: Vec<PRow>,
    pub ready: ReadyCounts,
    pub stealing: StealReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PRow {
    pub p_id: i32,
    pub starts: u64,
    pub from: Sources,
}

/// `GoReady` events by the slot the goroutine was put in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadyCounts {
    pub total: u64,
    /// `next`: put in the P's runnext slot (runs next, inheriting the time slice).
    pub runnext: u64,
    /// Put at the tail of the P's local queue.
    pub tail: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StealReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub steals: u64,
    pub goroutines_taken: u64,
    /// Most steals first.
    pub per_pair: Vec<PairRow>,
    /// Distribution of goroutines taken per steal, by increasing count.
    pub per_steal: Vec<TakenRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PairRow {
    pub thief_p: i32,
    pub victim_p: i32,
    pub steals: u64,
    pub goroutines_taken: u64,
    /// Starts on the thief classified `stolen` from this victim.
    pub started: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TakenRow {
    pub goroutines: u32,
    pub steals: u64,
}

#[cfg(test)]
mod tests;
