//! Facts about the traced process gathered outside the event stream, as the recording stores
//! them and the analysis reads them: the CPU it may use ([`CpuLimit`], read at the start) and
//! its cgroup's CPU accounting ([`CpuStat`], end minus start), from which quota
//! [`Throttling`] follows. procstat reads them from /proc and cgroupfs.
//!
//! The JSON is what recordings hold (docs/recording-format.md): field names and order are part
//! of the format. Missing fields read as their default, so older or hand-made files still read.

use serde::{Deserialize, Serialize};

/// The kernel-side aggregates of the process's threads and syscalls, also facts gathered beside
/// the events (defined in [`crate::kernel_aggregates`]).
pub use crate::kernel_aggregates::KernelAggregates;

/// The CPU limits of one process, for the recording header.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuLimit {
    /// The process's cgroup as `/proc/PID/cgroup` names it (the hierarchy holding the cpu
    /// controller; else the unified one). None without cgroups.
    pub cgroup: Option<String>,
    /// 2 (unified) or 1: which cgroup version holds the cpu controller.
    pub cgroup_version: Option<u8>,
    /// CPU quota in CPUs (quota / period, e.g. 0.5 for "50000 100000"), the tightest of the
    /// cgroup and its ancestors. None when unlimited ("max", -1) or unknown.
    pub quota_cpus: Option<f64>,
    /// The cgroup's effective cpuset, sorted. None without a cpuset controller.
    pub cpuset: Option<Vec<u32>>,
    /// The CPUs the process's main thread may run on (sched_getaffinity), sorted.
    pub affinity: Vec<u32>,
    /// CPUs online on the machine.
    pub online_cpus: u32,
}

impl CpuLimit {
    /// CPUs the process may run on: the affinity mask, within the cpuset if any (the kernel
    /// already keeps affinity within the cpuset; intersecting guards stale readings). None when
    /// nothing is known.
    pub fn usable_cpus(&self) -> Option<u32> {
        let n = match (&self.cpuset, self.affinity.is_empty()) {
            (Some(set), false) => self.affinity.iter().filter(|c| set.contains(c)).count(),
            (Some(set), true) => set.len(),
            (None, false) => self.affinity.len(),
            (None, true) => return (self.online_cpus > 0).then_some(self.online_cpus),
        };
        u32::try_from(n).ok()
    }

    /// How many CPUs the process can keep busy at most: the smallest of quota, cpuset,
    /// affinity and online CPUs (what GOMAXPROCS would ideally be).
    pub fn cpu_capacity(&self) -> f64 {
        let mut n = f64::from(self.online_cpus.max(1));
        if !self.affinity.is_empty() {
            n = n.min(self.affinity.len() as f64);
        }
        if let Some(set) = self.cpuset.as_ref().filter(|s| !s.is_empty()) {
            n = n.min(set.len() as f64);
        }
        if let Some(q) = self.quota_cpus {
            n = n.min(q);
        }
        n
    }
}

/// The cgroup's CPU accounting. Counters only grow: subtract a reading at the start of a
/// recording from one at the end ([`CpuStat::since`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStat {
    /// CPU time used by the process's cgroup (all its processes), microseconds.
    pub usage_usec: u64,
    /// Quota periods that had runnable work, of the cgroup holding the tightest quota (where
    /// throttling is accounted). 0 without a quota.
    pub nr_periods: u64,
    /// Of those, periods in which the quota ran out and the cgroup was throttled.
    pub nr_throttled: u64,
    /// Total time the cgroup was throttled, microseconds.
    pub throttled_usec: u64,
}

impl CpuStat {
    /// What happened between `earlier` and `self` (saturating: a counter that went backwards,
    /// e.g. because the process moved cgroup, gives 0 rather than garbage).
    pub fn since(&self, earlier: &CpuStat) -> CpuStat {
        CpuStat {
            usage_usec: self.usage_usec.saturating_sub(earlier.usage_usec),
            nr_periods: self.nr_periods.saturating_sub(earlier.nr_periods),
            nr_throttled: self.nr_throttled.saturating_sub(earlier.nr_throttled),
            throttled_usec: self.throttled_usec.saturating_sub(earlier.throttled_usec),
        }
    }

    /// The quota throttling these counters show (for a difference over a recording: the
    /// throttling during it).
    pub fn throttling(&self) -> Throttling {
        Throttling {
            periods: self.nr_periods,
            throttled_periods: self.nr_throttled,
            throttled_us: self.throttled_usec,
        }
    }
}

/// Quota throttling over a recording, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Throttling {
    /// Quota periods that elapsed.
    pub periods: u64,
    /// Of which the cgroup was throttled in.
    pub throttled_periods: u64,
    /// Time the cgroup's threads spent throttled, in microseconds.
    pub throttled_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header's `cpu_limit` as goroscope has written it since format version 2.
    const LIMIT_JSON: &str = r#"{"cgroup":"/kubepods/pod1","cgroup_version":2,"quota_cpus":1.5,"cpuset":[0,1],"affinity":[0,1,2],"online_cpus":4}"#;
    const STAT_JSON: &str =
        r#"{"usage_usec":30,"nr_periods":5,"nr_throttled":2,"throttled_usec":7}"#;

    #[test]
    fn the_json_is_the_recordings() {
        let limit: CpuLimit = serde_json::from_str(LIMIT_JSON).unwrap();
        assert_eq!(limit.quota_cpus, Some(1.5));
        assert_eq!(limit.cgroup_version, Some(2));
        assert_eq!(serde_json::to_string(&limit).unwrap(), LIMIT_JSON);
        let stat: CpuStat = serde_json::from_str(STAT_JSON).unwrap();
        assert_eq!(serde_json::to_string(&stat).unwrap(), STAT_JSON);
        let none = CpuLimit::default();
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"cgroup":null,"cgroup_version":null,"quota_cpus":null,"cpuset":null,"affinity":[],"online_cpus":0}"#
        );
    }

    #[test]
    fn missing_fields_read_as_defaults() {
        // Written before cgroup_version existed.
        let limit: CpuLimit = serde_json::from_str(r#"{"quota_cpus":0.5}"#).unwrap();
        assert_eq!(
            limit,
            CpuLimit {
                quota_cpus: Some(0.5),
                ..CpuLimit::default()
            }
        );
        let stat: CpuStat = serde_json::from_str(r#"{"nr_throttled":3}"#).unwrap();
        assert_eq!(stat.throttling().throttled_periods, 3);
    }

    #[test]
    fn stat_difference_saturates() {
        let a = CpuStat {
            usage_usec: 10,
            nr_periods: 5,
            nr_throttled: 2,
            throttled_usec: 7,
        };
        let b = CpuStat {
            usage_usec: 30,
            nr_periods: 4,
            nr_throttled: 3,
            throttled_usec: 7,
        };
        let d = b.since(&a);
        assert_eq!((d.usage_usec, d.nr_periods, d.nr_throttled), (20, 0, 1));
        assert_eq!(
            d.throttling(),
            Throttling {
                periods: 0,
                throttled_periods: 1,
                throttled_us: 0
            }
        );
    }

    #[test]
    fn cpu_capacity_is_the_tightest_limit() {
        let limit = CpuLimit {
            cgroup: None,
            cgroup_version: None,
            quota_cpus: Some(1.5),
            cpuset: Some(vec![0, 1]),
            affinity: vec![0, 1, 2],
            online_cpus: 4,
        };
        assert_eq!(limit.cpu_capacity(), 1.5);
        assert_eq!(limit.usable_cpus(), Some(2));
        let unknown = CpuLimit::default();
        assert_eq!(unknown.usable_cpus(), None);
    }
}
