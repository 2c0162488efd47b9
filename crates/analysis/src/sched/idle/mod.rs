//! Idle Ps and spinning Ms: per P, busy time (the time slices that ran on it, state/runs.rs) and
//! idle time (the rest of the time it existed); Ms going idle (`MPark`, runtime.stopm); and the
//! runtime's own counters sampled from its memory (`SchedSample`: idle Ps, spinning Ms, global
//! run queue length).
//!
//! When a P counts: from the first event that names it (`GoStart`, `GoReady`, `GoCreate`,
//! `Steal`, `PreemptRequest`, `Handoff`) or from a GOMAXPROCS that includes it (`ProcResize`,
//! or a sample's `gomaxprocs` that differs from the known value), until a GOMAXPROCS that
//! excludes it. Time before a P is first known is not counted (neither busy nor idle).
//!
//! Timeline: each P's runs and the idle gaps between them while it counts, and the sampled
//! counters.

use std::collections::BTreeMap;

use goroscope_events::{Event, EventKind, Fact};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::state::runs::{RunSlices, Slice};
use crate::state::Model;
use crate::timeline::{Collector, Counter, CounterKind, ProcSlice, TimelineRecord};

/// Ps iterated on a GOMAXPROCS change are capped here (a corrupt value must not loop for long;
/// the runtime's own limit is far lower).
const MAX_PROCS: i32 = 1 << 14;

#[derive(Debug, Clone, Copy, Default)]
struct PAccount {
    /// Open accounting window: the P exists since then.
    since: Option<u64>,
    counted_ns: u64,
    busy_ns: u64,
    /// While it counts: idle since then (the end of its last run, or when it began counting).
    idle_from: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Stat {
    sum: i64,
    max: i64,
}

impl Stat {
    fn add(&mut self, v: i32, first: bool) {
        self.sum += i64::from(v);
        self.max = if first {
            i64::from(v)
        } else {
            self.max.max(i64::from(v))
        };
    }

    fn report(&self, count: u64) -> SampleStat {
        SampleStat {
            mean: if count == 0 {
                0.0
            } else {
                self.sum as f64 / count as f64
            },
            max: self.max,
        }
    }
}

#[derive(Debug, Default)]
pub struct Idle {
    saw_default_level: bool,
    gomaxprocs: Option<i32>,
    ps: BTreeMap<i32, PAccount>,
    m_parks: BTreeMap<i64, u64>,
    samples: u64,
    npidle: Stat,
    nmspinning: Stat,
    global_runq: Stat,
    sample_gomaxprocs: Stat,
}

impl Idle {
    pub fn observe(&mut self, event: &Event, model: &Model, out: &mut dyn Collector) {
        let ts = event.ts_ns;
        for s in model.runs.closed() {
            if s.p_id >= 0 {
                let acc = self.ps.entry(s.p_id).or_default();
                acc.busy_ns += s.duration_ns();
                ran(s.p_id, acc, s, out);
            }
        }
        match event.kind {
            EventKind::GoStart { p_id, .. } | EventKind::GoCreate { p_id, .. } => {
                self.saw_default_level = true;
                self.see(p_id, ts);
            }
            EventKind::GoReady { p_id, .. } => {
                self.saw_default_level = true;
                self.see(p_id, ts);
            }
            EventKind::Steal {
                thief_p, victim_p, ..
            } => {
                self.saw_default_level = true;
                self.see(thief_p, ts);
                self.see(victim_p, ts);
            }
            EventKind::PreemptRequest { p_id, .. } | EventKind::Handoff { p_id, .. } => {
                self.see(p_id, ts)
            }
            EventKind::ProcResize { nprocs } => {
                counter(out, ts, CounterKind::Gomaxprocs, nprocs);
                self.resize(&model.runs, nprocs, ts, out)
            }
            EventKind::MPark { m_id } => {
                self.saw_default_level = true;
                *self.m_parks.entry(m_id).or_default() += 1;
            }
            EventKind::SchedSample {
                npidle,
                nmspinning,
                global_runq,
                gomaxprocs,
            } => {
                for (kind, value) in [
                    (CounterKind::IdlePs, npidle),
                    (CounterKind::SpinningMs, nmspinning),
                    (CounterKind::GlobalRunQueue, global_runq),
                    (CounterKind::Gomaxprocs, gomaxprocs),
                ] {
                    counter(out, ts, kind, value);
                }
                let first = self.samples == 0;
                self.samples += 1;
                self.npidle.add(npidle, first);
                self.nmspinning.add(nmspinning, first);
                self.global_runq.add(global_runq, first);
                self.sample_gomaxprocs.add(gomaxprocs, first);
                // A resize whose probe event was lost (or happened before the trace).
                if gomaxprocs > 0 && self.gomaxprocs != Some(gomaxprocs) {
                    self.resize(&model.runs, gomaxprocs, ts, out);
                }
            }
            _ => {}
        }
    }

    /// P `p` exists at `ts` (a P that runs things exists whatever GOMAXPROCS we believe).
    fn see(&mut self, p: i32, ts: u64) {
        if p >= 0 {
            let acc = self.ps.entry(p).or_default();
            if acc.since.is_none() {
                acc.since = Some(ts);
                acc.idle_from = Some(ts);
            }
        }
    }

    fn resize(&mut self, runs: &RunSlices, nprocs: i32, ts: u64, out: &mut dyn Collector) {
        let n = nprocs.clamp(0, MAX_PROCS);
        for (&p, acc) in self.ps.range_mut(n..) {
            if let Some(since) = acc.since.take() {
                acc.counted_ns += ts.saturating_sub(since);
                // Idle until now, or until the run still going on it began.
                let until = runs.running_on_p(p).map_or(ts, |s| s.start_ns.min(ts));
                idle(p, acc.idle_from.take(), until, out);
            }
        }
        for p in 0..n {
            self.see(p, ts);
        }
        self.gomaxprocs = Some(nprocs);
    }

    /// Emits each P's run still going and its idle time until `end_ns`, without closing them.
    pub fn emit_open(&self, model: &Model, end_ns: u64, out: &mut dyn Collector) {
        let mut ps = self.ps.clone();
        for s in model.runs.open_at(end_ns) {
            if s.p_id >= 0 {
                ran(s.p_id, ps.entry(s.p_id).or_default(), &s, out);
            }
        }
        for (&p, acc) in &ps {
            if acc.since.is_some() {
                idle(p, acc.idle_from, end_ns, out);
            }
        }
    }

    pub fn finish(&self, model: &Model, inputs: &FinishInputs<'_>) -> IdleReport {
        let meta = inputs.meta;
        let end = inputs.end_ns;
        let mut ps = self.ps.clone();
        for s in model.runs.open_at(end) {
            if s.p_id >= 0 {
                ps.entry(s.p_id).or_default().busy_ns += s.duration_ns();
            }
        }
        let per_p: Vec<PIdleRow> = ps
            .into_iter()
            .map(|(p_id, acc)| {
                let counted_ns =
                    acc.counted_ns + acc.since.map_or(0, |since| end.saturating_sub(since));
                PIdleRow {
                    p_id,
                    counted_ns,
                    busy_ns: acc.busy_ns,
                    idle_ns: counted_ns.saturating_sub(acc.busy_ns),
                    busy_percent: percent(acc.busy_ns.min(counted_ns), counted_ns),
                }
            })
            .collect();
        let proven = |fact, what| Coverage::proven(meta, fact, self.saw_default_level, what);
        let samples = self.samples;
        let ps_coverage = proven(Fact::GoroutineScheduling, "GoStart events (time slices)");
        // Without goroutine runs every P would look idle: show no numbers rather than those.
        let per_p = if ps_coverage.captured {
            per_p
        } else {
            Vec::new()
        };
        IdleReport {
            ps: PIdleReport {
                coverage: ps_coverage,
                gomaxprocs_at_end: self.gomaxprocs,
                busy_ns: per_p.iter().map(|p| p.busy_ns).sum(),
                idle_ns: per_p.iter().map(|p| p.idle_ns).sum(),
                per_p,
            },
            m_parks: MParkReport {
                coverage: proven(Fact::IdleMs, "M parks (runtime.stopm)"),
                total: self.m_parks.values().sum(),
                per_m: self
                    .m_parks
                    .iter()
                    .map(|(&m_id, &parks)| MParkRow { m_id, parks })
                    .collect(),
            },
            samples: SampleReport {
                coverage: if samples > 0 {
                    Coverage::yes()
                } else {
                    Coverage::no(
                        "no scheduler samples in the trace (the runtime's sched counters \
                         could not be read from the process, or the recording predates them)",
                    )
                },
                count: samples,
                npidle: self.npidle.report(samples),
                nmspinning: self.nmspinning.report(samples),
                global_runq: self.global_runq.report(samples),
                gomaxprocs: self.sample_gomaxprocs.report(samples),
            },
        }
    }
}

/// Run `s` ended on P `p`: its idle gap before the run, the run, and idle again after it if
/// the P counts.
fn ran(p: i32, acc: &mut PAccount, s: &Slice, out: &mut dyn Collector) {
    idle(p, acc.idle_from, s.start_ns, out);
    if out.enabled() {
        out.record(TimelineRecord::Proc(ProcSlice {
            p,
            start_ns: s.start_ns,
            end_ns: s.end_ns,
            goid: Some(s.goid),
        }));
    }
    acc.idle_from = acc.since.map(|_| s.end_ns);
}

/// P `p` idle from `from` (if it counted) to `until`.
fn idle(p: i32, from: Option<u64>, until: u64, out: &mut dyn Collector) {
    match from {
        Some(from) if from < until && out.enabled() => {
            out.record(TimelineRecord::Proc(ProcSlice {
                p,
                start_ns: from,
                end_ns: until,
                goid: None,
            }))
        }
        _ => {}
    }
}

fn counter(out: &mut dyn Collector, ts_ns: u64, kind: CounterKind, value: i32) {
    if out.enabled() {
        out.record(TimelineRecord::Counter(Counter {
            ts_ns,
            kind,
            value: i64::from(value),
        }));
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl PIdleReport {
    /// Time counted over every P.
    pub fn counted_ns(&self) -> u64 {
        self.per_p.iter().map(|p| p.counted_ns).sum()
    }

    /// Busy share of [`Self::counted_ns`], all Ps together, as each row's `busy_percent`.
    pub fn busy_percent(&self) -> f64 {
        let counted = self.counted_ns();
        percent(self.busy_ns.min(counted), counted)
    }
}

/// The `scheduler.idle` object (docs/report-schema.md).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IdleReport {
    pub ps: PIdleReport,
    pub m_parks: MParkReport,
    pub samples: SampleReport,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PIdleReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// The last GOMAXPROCS seen (`ProcResize` or a sample), if any.
    pub gomaxprocs_at_end: Option<i32>,
    pub busy_ns: u64,
    pub idle_ns: u64,
    /// By P id.
    pub per_p: Vec<PIdleRow>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PIdleRow {
    pub p_id: i32,
    /// Time the P was known to exist within GOMAXPROCS.
    pub counted_ns: u64,
    /// Sum of the time slices that ran on it.
    pub busy_ns: u64,
    /// `counted_ns - busy_ns` (0 if busy exceeds it, which lost events can cause).
    pub idle_ns: u64,
    pub busy_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MParkReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub total: u64,
    /// By M id.
    pub per_m: Vec<MParkRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MParkRow {
    pub m_id: i64,
    pub parks: u64,
}

/// The runtime's counters as sampled (about every 10 ms).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub count: u64,
    /// `sched.npidle`: idle Ps.
    pub npidle: SampleStat,
    /// `sched.nmspinning`: Ms looking for work.
    pub nmspinning: SampleStat,
    /// `sched.runqsize`: goroutines in the global run queue.
    pub global_runq: SampleStat,
    pub gomaxprocs: SampleStat,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SampleStat {
    pub mean: f64,
    pub max: i64,
}

#[cfg(test)]
mod tests;
