//! CpuLimit and CpuStat against limits this test sets itself: a child cgroup with a CPU quota
//! of half a CPU (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` where the cpu controller is
//! bound to v1, as on hybrid systems), a sleeping child moved into it, and `taskset -c 0`. Needs
//! root; skips with a message when no cgroup hierarchy with the cpu controller is writable.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use procstat::{read_cpu_limit, read_cpu_stat, CpuLimit, CpuStat};
use testsupport::QuotaCgroup;

#[test]
#[ignore = "needs root: creates a cgroup (scripts/test.sh runs it as root with --include-ignored)"]
fn quota_of_half_a_cpu_reads_as_0_5() {
    let mut cg = match QuotaCgroup::create("procstat-quota", 50_000) {
        Ok(cg) => cg,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let pid = cg.run(Command::new("sleep").arg("60"));
    let limit = read_cpu_limit(pid).unwrap();
    assert_eq!(limit.quota_cpus, Some(0.5), "{limit:?}");
    assert_eq!(limit.cgroup_version, Some(if cg.v2 { 2 } else { 1 }));
    assert_eq!(
        limit.cgroup.as_deref(),
        Some(format!("/{}", cg.leaf()).as_str())
    );
    // And it survives the recording header's JSON.
    let json = serde_json::to_string(&limit).unwrap();
    assert_eq!(serde_json::from_str::<CpuLimit>(&json).unwrap(), limit);
}

#[test]
#[ignore = "needs root: creates a cgroup (scripts/test.sh runs it as root with --include-ignored)"]
fn a_busy_process_over_its_quota_shows_throttling() {
    // 1 ms per 100 ms: any busy loop that gets the CPU at all runs out of quota.
    let mut cg = match QuotaCgroup::create("procstat-throttle", 1_000) {
        Ok(cg) => cg,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let pid = cg.run(Command::new("sh").args(["-c", "while :; do :; done"]));
    let start = read_cpu_stat(pid)
        .unwrap()
        .expect("the cpu controller accounts");
    // Wait (bounded) for the kernel to throttle it; not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut delta = CpuStat::default();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        delta = read_cpu_stat(pid).unwrap().unwrap().since(&start);
        // throttled time is added when a throttled period ends, so wait for both.
        if delta.nr_throttled > 0 && delta.throttled_usec > 0 {
            break;
        }
    }
    assert!(delta.nr_throttled > 0, "{delta:?}");
    assert!(delta.throttled_usec > 0, "{delta:?}");
    assert!(delta.nr_periods >= delta.nr_throttled, "{delta:?}");
}

#[test]
fn affinity_is_what_taskset_set_and_online_cpus_what_getconf_says() {
    let mut child = Command::new("taskset")
        .args(["-c", "0", "sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("taskset (util-linux) runs");
    let pid = child.id();
    // taskset execs sleep after setting the mask: wait until it has.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() != "sleep")
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let limit = read_cpu_limit(pid);
    let _ = child.kill();
    let _ = child.wait();
    let limit = limit.unwrap();
    assert_eq!(limit.affinity, vec![0]);

    let out = Command::new("getconf")
        .arg("_NPROCESSORS_ONLN")
        .output()
        .unwrap();
    let online: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(limit.online_cpus, online);
}

#[test]
fn a_vanished_process_is_an_error() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(read_cpu_limit(pid).is_err());
}
