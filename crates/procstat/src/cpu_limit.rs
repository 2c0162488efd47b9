//! Reads the CPU a process may use — cgroup CPU quota, cgroup cpuset, its own affinity mask, the
//! machine's online CPUs — and the cgroup's CPU accounting ([`CpuStat`]): read at the start and
//! end of a recording, the difference shows whether the CPU quota throttled the process. The
//! types are `goroscope_events::facts`, which the recording stores and the analysis reads.
//!
//! A missing controller file (no cgroup, controller not enabled, older kernel) is `None`, never an
//! error: only a vanished process or an unreadable file is.

use std::path::{Path, PathBuf};

use goroscope_events::{CpuLimit, CpuStat};

use crate::cgroup::{self, CgroupDir};
use crate::error::{read_optional, Error, Result};

/// Reads the limits of process `pid`.
pub fn read_cpu_limit(pid: u32) -> Result<CpuLimit> {
    let (cgroups, name) = cgroup::cpu_cgroups(pid)?;
    let quota_cpus = match (&cgroups.cpu, cgroups.version) {
        (Some(dir), Some(version)) => tightest_quota(dir, version)?.map(|q| q.cpus),
        _ => None,
    };
    let cpuset = match &cgroups.cpuset {
        Some(dir) => read_cpuset(dir)?,
        None => None,
    };
    Ok(CpuLimit {
        cgroup: name,
        cgroup_version: cgroups.version,
        quota_cpus,
        cpuset,
        affinity: affinity(pid)?,
        online_cpus: online_cpus(),
    })
}

/// Reads the CPU accounting of process `pid`'s cgroup. None when no cgroup accounts its CPU
/// time.
pub fn read_cpu_stat(pid: u32) -> Result<Option<CpuStat>> {
    let (cgroups, _) = cgroup::cpu_cgroups(pid)?;
    let (Some(cpu), Some(version)) = (&cgroups.cpu, cgroups.version) else {
        return Ok(None);
    };
    let throttle_dir = tightest_quota(cpu, version)?
        .map(|q| q.dir)
        .unwrap_or_else(|| cpu.dir.clone());
    let throttle = read_optional(&throttle_dir.join("cpu.stat"))?.unwrap_or_default();
    let key = |text: &str, k: &str| {
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(name, _)| *name == k)
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
    };
    let stat = if version == 2 {
        let own = read_optional(&cpu.dir.join("cpu.stat"))?;
        let Some(usage) = own.as_deref().and_then(|t| key(t, "usage_usec")) else {
            return Ok(None);
        };
        CpuStat {
            usage_usec: usage,
            nr_periods: key(&throttle, "nr_periods").unwrap_or(0),
            nr_throttled: key(&throttle, "nr_throttled").unwrap_or(0),
            throttled_usec: key(&throttle, "throttled_usec").unwrap_or(0),
        }
    } else {
        // v1: usage in cpuacct (nanoseconds), throttled_time in nanoseconds.
        let usage_ns = match &cgroups.cpuacct {
            Some(acct) => read_optional(&acct.dir.join("cpuacct.usage"))?
                .and_then(|t| t.trim().parse::<u64>().ok()),
            None => None,
        };
        CpuStat {
            usage_usec: usage_ns.map_or(0, |ns| ns / 1000),
            nr_periods: key(&throttle, "nr_periods").unwrap_or(0),
            nr_throttled: key(&throttle, "nr_throttled").unwrap_or(0),
            throttled_usec: key(&throttle, "throttled_time").unwrap_or(0) / 1000,
        }
    };
    Ok(Some(stat))
}

/// A cgroup's quota and the directory that sets it.
struct Quota {
    cpus: f64,
    dir: PathBuf,
}

/// The smallest quota of the cgroup and its ancestors (each limits everything below it).
fn tightest_quota(cpu: &CgroupDir, version: u8) -> Result<Option<Quota>> {
    let mut best: Option<Quota> = None;
    for dir in cpu.self_and_ancestors() {
        let cpus = if version == 2 {
            read_optional(&dir.join("cpu.max"))?.and_then(|t| parse_cpu_max(&t))
        } else {
            let quota = read_optional(&dir.join("cpu.cfs_quota_us"))?;
            let period = read_optional(&dir.join("cpu.cfs_period_us"))?;
            match (quota, period) {
                (Some(q), Some(p)) => parse_cfs(&q, &p),
                _ => None,
            }
        };
        if let Some(cpus) = cpus {
            if best.as_ref().is_none_or(|b| cpus < b.cpus) {
                best = Some(Quota {
                    cpus,
                    dir: dir.to_path_buf(),
                });
            }
        }
    }
    Ok(best)
}

/// v2 `cpu.max`: "QUOTA PERIOD" in microseconds, QUOTA "max" for unlimited.
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut words = text.split_whitespace();
    let quota: u64 = words.next()?.parse().ok()?; // "max" fails to parse: unlimited
    let period: u64 = words.next()?.parse().ok()?;
    (period > 0).then(|| quota as f64 / period as f64)
}

/// v1 `cpu.cfs_quota_us` (-1 for unlimited) and `cpu.cfs_period_us`.
fn parse_cfs(quota: &str, period: &str) -> Option<f64> {
    let quota: i64 = quota.trim().parse().ok()?;
    let period: i64 = period.trim().parse().ok()?;
    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
}

/// The nearest effective cpuset of the cgroup or an ancestor (v2 has the file only where the
/// cpuset controller is enabled; the nearest one above is what applies).
fn read_cpuset(dir: &CgroupDir) -> Result<Option<Vec<u32>>> {
    for d in dir.self_and_ancestors() {
        for file in ["cpuset.cpus.effective", "cpuset.effective_cpus"] {
            if let Some(text) = read_optional(&d.join(file))? {
                if let Some(cpus) = parse_cpu_list(&text).filter(|c| !c.is_empty()) {
                    return Ok(Some(cpus));
                }
            }
        }
    }
    Ok(None)
}

/// A kernel CPU list ("0-3,5,7-8"), sorted and deduplicated; None when malformed.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    /// More CPUs than any machine has: a bigger range is damage, not a list to expand.
    const MAX_CPUS: u32 = 1 << 16;
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?),
            None => {
                let v = part.parse::<u32>().ok()?;
                (v, v)
            }
        };
        if lo > hi || hi >= MAX_CPUS {
            return None;
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// sched_getaffinity of `pid` (its main thread).
fn affinity(pid: u32) -> Result<Vec<u32>> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let tid = libc::pid_t::try_from(pid).map_err(|_| Error::Process {
        pid,
        detail: "pid out of range".into(),
    })?;
    // SAFETY: the pointer and size describe `set`, which outlives the call.
    let rc = unsafe { libc::sched_getaffinity(tid, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return Err(Error::Process {
            pid,
            detail: format!("sched_getaffinity: {}", std::io::Error::last_os_error()),
        });
    }
    let max = 8 * std::mem::size_of_val(&set);
    // SAFETY: CPU_ISSET reads `set` at an index below its size in bits.
    Ok((0..max)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .map(|cpu| cpu as u32)
        .collect())
}

/// CPUs online: /sys/devices/system/cpu/online, else sysconf.
fn online_cpus() -> u32 {
    std::fs::read_to_string(Path::new("/sys/devices/system/cpu/online"))
        .ok()
        .and_then(|t| parse_cpu_list(&t))
        .map(|l| l.len() as u32)
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            // SAFETY: sysconf has no memory effects.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
            u32::try_from(n).unwrap_or(1).max(1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,5,7-8\n"),
            Some(vec![0, 1, 2, 3, 5, 7, 8])
        );
        assert_eq!(parse_cpu_list("1"), Some(vec![1]));
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-4294967295"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn quotas() {
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("1 0"), None);
        assert_eq!(parse_cfs("-1\n", "100000\n"), None);
        assert_eq!(parse_cfs("200000\n", "100000\n"), Some(2.0));
    }
}
