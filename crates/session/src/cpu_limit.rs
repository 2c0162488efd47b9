//! The analysis' view of a recording's CPU facts: the header's `cpu_limit` (written from
//! `procstat::CpuLimit`) and the end record's `cpu_stat` (`procstat::CpuStat`, end minus start).

use goroscope_analysis::sched::procs::{CpuLimit, Throttling};

/// The analysis' view of the recording's `cpu_limit` (written from `procstat::CpuLimit`).
pub(crate) fn cpu_limit_from(value: Option<&serde_json::Value>) -> Option<CpuLimit> {
    let v = value?.as_object()?;
    let cpus = |key: &str| -> Option<Vec<u32>> {
        v.get(key)?
            .as_array()?
            .iter()
            .map(|c| c.as_u64().and_then(|c| u32::try_from(c).ok()))
            .collect()
    };
    Some(CpuLimit {
        cgroup: v.get("cgroup").and_then(|c| c.as_str()).map(str::to_string),
        quota_cpus: v.get("quota_cpus").and_then(|q| q.as_f64()),
        cpuset: cpus("cpuset"),
        affinity: cpus("affinity").unwrap_or_default(),
        online_cpus: v
            .get("online_cpus")
            .and_then(|c| c.as_u64())
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0),
        throttled: None,
    })
}

/// Quota throttling over the recording, from the end chunk's `cpu_stat` (`procstat::CpuStat`,
/// end minus start).
pub(crate) fn throttling_from(stat: &serde_json::Value) -> Option<Throttling> {
    let n = |key: &str| stat.get(key).and_then(|v| v.as_u64());
    Some(Throttling {
        periods: n("nr_periods")?,
        throttled_periods: n("nr_throttled")?,
        throttled_us: n("throttled_usec")?,
    })
}
