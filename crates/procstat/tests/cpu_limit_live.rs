//! CpuLimit and CpuStat against limits this test sets itself: a child cgroup with a CPU quota
//! of half a CPU (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` where the cpu controller is
//! bound to v1, as on hybrid systems), a sleeping child moved into it, and `taskset -c 0`. Needs
//! root; skips with a message when no cgroup hierarchy with the cpu controller is writable.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use procstat::cgroup::parse_mountinfo;
use procstat::{read_cpu_limit, read_cpu_stat, CpuLimit, CpuStat};

/// A cgroup this test created, and the children it moved there; all removed on drop.
struct TestCgroup {
    dir: PathBuf,
    v2: bool,
    children: Vec<Child>,
}

impl TestCgroup {
    /// A fresh child cgroup of the hierarchy holding the cpu controller, or why there is none.
    fn create(name: &str) -> Result<TestCgroup, String> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let mounts = parse_mountinfo(&mountinfo);
        let leaf = format!("goroscope-procstat-{name}-{}", std::process::id());
        if let Some(v2) = mounts.iter().find(|m| m.v2 && m.root == "/") {
            let root = &v2.mount_point;
            let has_cpu = |p: &Path| {
                std::fs::read_to_string(p.join("cgroup.controllers"))
                    .is_ok_and(|c| c.split_whitespace().any(|w| w == "cpu"))
            };
            if has_cpu(root) {
                // Enabling may fail (e.g. processes in the root with the "no internal
                // processes" rule); then cpu.max will be missing and we skip below.
                let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu");
                let dir = root.join(&leaf);
                std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let cg = TestCgroup {
                    dir,
                    v2: true,
                    children: Vec::new(),
                };
                if cg.dir.join("cpu.max").exists() {
                    return Ok(cg);
                }
                return Err("cgroup v2 is mounted but its cpu controller cannot be enabled".into());
            }
        }
        let v1 = mounts
            .iter()
            .find(|m| !m.v2 && m.root == "/" && m.controllers.iter().any(|c| c == "cpu"))
            .ok_or("no cgroup hierarchy (v2 or v1) has the cpu controller")?;
        let dir = v1.mount_point.join(&leaf);
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(TestCgroup {
            dir,
            v2: false,
            children: Vec::new(),
        })
    }

    /// Limits the cgroup to `quota_usec` per 100 ms period.
    fn set_quota(&self, quota_usec: u64) {
        let write = |file: &str, value: String| {
            std::fs::write(self.dir.join(file), &value)
                .unwrap_or_else(|e| panic!("writing {value} to {file}: {e}"))
        };
        if self.v2 {
            write("cpu.max", format!("{quota_usec} 100000"));
        } else {
            write("cpu.cfs_period_us", "100000".into());
            write("cpu.cfs_quota_us", quota_usec.to_string());
        }
    }

    /// Starts `cmd` and moves it into this cgroup; its pid.
    fn run(&mut self, cmd: &mut Command) -> u32 {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let pid = child.id();
        self.children.push(child);
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("moving {pid} into {}: {e}", self.dir.display()));
        pid
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The kernel may take a moment to see the killed tasks leave.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("could not remove {}", self.dir.display());
    }
}

#[test]
#[ignore = "needs root: creates a cgroup (scripts/test.sh runs it as root with --include-ignored)"]
fn quota_of_half_a_cpu_reads_as_0_5() {
    let mut cg = match TestCgroup::create("quota") {
        Ok(cg) => cg,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    cg.set_quota(50_000);
    let pid = cg.run(Command::new("sleep").arg("60"));
    let limit = read_cpu_limit(pid).unwrap();
    assert_eq!(limit.quota_cpus, Some(0.5), "{limit:?}");
    assert_eq!(limit.cgroup_version, Some(if cg.v2 { 2 } else { 1 }));
    let leaf = cg.dir.file_name().unwrap().to_str().unwrap();
    assert_eq!(limit.cgroup.as_deref(), Some(format!("/{leaf}").as_str()));
    // And it survives the recording header's JSON.
    let json = serde_json::to_string(&limit).unwrap();
    assert_eq!(serde_json::from_str::<CpuLimit>(&json).unwrap(), limit);
}

#[test]
#[ignore = "needs root: creates a cgroup (scripts/test.sh runs it as root with --include-ignored)"]
fn a_busy_process_over_its_quota_shows_throttling() {
    let mut cg = match TestCgroup::create("throttle") {
        Ok(cg) => cg,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    // 1 ms per 100 ms: any busy loop that gets the CPU at all runs out of quota.
    cg.set_quota(1_000);
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
