//! The GOMAXPROCS section: its value over time (every `runtime.procresize`), where the initial
//! value came from, and the process's CPU limit beside it (cgroup quota, cpuset, affinity),
//! flagging more Ps than the quota can run: the classic container throttling problem.
//!
//! Rules:
//! - Initial value: whichever comes first of the first `ProcResize` (the start-up call when the
//!   trace starts with the program) and the first `SchedSample` with a positive `gomaxprocs`
//!   (when attaching to a running program, whose start-up call was before the trace);
//!   unknown without either.
//! - Over quota: some GOMAXPROCS value during the trace exceeds the quota rounded up
//!   (`ceil(quota_cpus)`, what Go 1.25+ picks by itself in a container): that many running Ps
//!   use up the quota early in each period and the whole process is throttled until the next.
//! - Over CPUs: some value exceeds the CPUs the process may run on (cpuset ∩ affinity): more
//!   Ps than CPUs just time-share them (no throttling, but more preemption).

#[cfg(test)]
mod tests;

use goroscope_events::{CpuLimit, CpuStat, Event, EventKind, Throttling};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::state::Model;

#[derive(Debug, Default)]
pub struct Procs {
    /// (time, nprocs) of every `ProcResize`.
    resizes: Vec<(u64, i32)>,
    /// First `SchedSample` with a known GOMAXPROCS: (time, value).
    first_sample: Option<(u64, i32)>,
}

impl Procs {
    pub fn observe(&mut self, event: &Event, _model: &Model) {
        match event.kind {
            EventKind::ProcResize { nprocs } => self.resizes.push((event.ts_ns, nprocs)),
            EventKind::SchedSample { gomaxprocs, .. } if gomaxprocs > 0 => {
                self.first_sample.get_or_insert((event.ts_ns, gomaxprocs));
            }
            _ => {}
        }
    }

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> ProcsReport {
        let first_resize = self.resizes.first().copied();
        let (initial, initial_source) = match (first_resize, self.first_sample) {
            (Some(r), Some(s)) if s.0 < r.0 => (Some(s.1), "sched_sample"),
            (Some(r), _) => (Some(r.1), "proc_resize"),
            (None, Some(s)) => (Some(s.1), "sched_sample"),
            (None, None) => (None, "unknown"),
        };
        // procresize also runs at every start-the-world with the unchanged value (Go 1.19's
        // startTheWorld always calls it): keep the first call and the real changes.
        let mut changes: Vec<GomaxprocsChange> = Vec::new();
        for &(ts, nprocs) in &self.resizes {
            if changes.last().is_some_and(|c| c.nprocs == nprocs) {
                continue;
            }
            changes.push(GomaxprocsChange {
                at_ns: ts.saturating_sub(inputs.start_ns),
                nprocs,
            });
        }
        // The first entry is usually the start-up call that set the initial value: a change is
        // a value different from the one before it.
        let mut times_changed = 0;
        let mut before = initial;
        for c in &changes {
            times_changed += u64::from(before != Some(c.nprocs));
            before = Some(c.nprocs);
        }
        let last = self.resizes.last().map(|r| r.1).or(initial);
        let max = self.resizes.iter().map(|r| r.1).chain(initial).max();
        let coverage = if initial.is_some() {
            Coverage::yes()
        } else {
            Coverage::no(
                "no procresize during the trace (GOMAXPROCS did not change) and no scheduler sample",
            )
        };
        let limit = inputs.cpu_limit.map(|limit| CpuLimitReport {
            limit: limit.clone(),
            throttled: inputs.cpu_stat.map(CpuStat::throttling),
        });
        let over_quota = match (max, limit.as_ref().and_then(|l| l.quota_cpus)) {
            (Some(max), Some(quota)) => Some(f64::from(max) > quota.ceil()),
            _ => None,
        };
        let usable = limit.as_ref().and_then(|l| l.usable_cpus());
        let over_cpus = match (max, usable) {
            (Some(max), Some(cpus)) => Some(i64::from(max) > i64::from(cpus)),
            _ => None,
        };
        ProcsReport {
            coverage,
            initial,
            initial_source: initial_source.to_string(),
            last,
            max,
            changes,
            times_changed,
            cpu_limit: limit,
            usable_cpus: usable,
            over_quota,
            over_cpus,
        }
    }
}

/// `scheduler.gomaxprocs`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProcsReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// GOMAXPROCS at the start of the trace (null: unknown).
    pub initial: Option<i32>,
    /// "proc_resize", "sched_sample" or "unknown".
    pub initial_source: String,
    /// At the end of the trace.
    pub last: Option<i32>,
    /// Highest value during the trace.
    pub max: Option<i32>,
    /// The value at the first `procresize` (start-up when traced from the start), then every
    /// call that changed it, in time order (calls repeating the value at each start-the-world
    /// are left out).
    pub changes: Vec<GomaxprocsChange>,
    /// How many times GOMAXPROCS changed during the trace: entries of `changes` that differ
    /// from the value before them (`initial` for the first), so the start-up call is not one.
    #[serde(default)]
    pub times_changed: u64,
    /// The CPU limit recorded at the start (null: not recorded).
    pub cpu_limit: Option<CpuLimitReport>,
    /// CPUs the process may run on: its affinity, within the cpuset when there is one.
    pub usable_cpus: Option<u32>,
    /// `max` > ceil(quota): throttling territory (null: no quota or unknown).
    pub over_quota: Option<bool>,
    /// `max` > `usable_cpus` (null: unknown).
    pub over_cpus: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GomaxprocsChange {
    /// Nanoseconds since the trace start.
    pub at_ns: u64,
    pub nprocs: i32,
}

/// The CPU limit recorded at the start, with the quota throttling over the recording. Reads
/// like the recorded [`CpuLimit`] (`Deref`); the JSON is its fields plus `throttled`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CpuLimitReport {
    #[serde(flatten)]
    pub limit: CpuLimit,
    /// The cgroup's throttling during the recording (null: no cpu.stat).
    pub throttled: Option<Throttling>,
}

impl std::ops::Deref for CpuLimitReport {
    type Target = CpuLimit;

    fn deref(&self) -> &CpuLimit {
        &self.limit
    }
}
