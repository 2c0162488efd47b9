//! A cgroup of a test's own with a CPU quota, for the tests of throttling and of reading CPU
//! limits (tests/doctor.rs, tests/attribution.rs, procstat's cpu_limit_live.rs). Needs root.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child cgroup of the hierarchy that holds the cpu controller (v2 `cpu.max`, or v1
/// `cpu.cfs_quota_us` where the controller is bound to v1, as on hybrid systems), with a quota;
/// on drop the children moved into it are killed and it is removed.
pub struct QuotaCgroup {
    pub dir: PathBuf,
    /// cgroup v2 (else v1).
    pub v2: bool,
    children: Vec<Child>,
}

impl QuotaCgroup {
    /// A fresh cgroup named after `name` and this process, limited to `quota_usec` of CPU time
    /// per 100 ms period; or why there is none (no writable hierarchy with the cpu controller).
    pub fn create(name: &str, quota_usec: u64) -> Result<QuotaCgroup, String> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let mounts = procstat::cgroup::parse_mountinfo(&mountinfo);
        let leaf = format!("goroscope-test-{name}-{}", std::process::id());
        let cgroup = if let Some(v2) = mounts.iter().find(|m| {
            m.v2 && m.root == "/" && {
                std::fs::read_to_string(m.mount_point.join("cgroup.controllers"))
                    .is_ok_and(|c| c.split_whitespace().any(|w| w == "cpu"))
            }
        }) {
            // Enabling may fail (e.g. processes in the root under the "no internal processes"
            // rule); then cpu.max is missing and we say so below.
            let _ = std::fs::write(v2.mount_point.join("cgroup.subtree_control"), "+cpu");
            let dir = v2.mount_point.join(&leaf);
            std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let cgroup = QuotaCgroup {
                dir,
                v2: true,
                children: Vec::new(),
            };
            if !cgroup.dir.join("cpu.max").exists() {
                return Err("cgroup v2 is mounted but its cpu controller cannot be enabled".into());
            }
            cgroup
        } else {
            let v1 = mounts
                .iter()
                .find(|m| !m.v2 && m.root == "/" && m.controllers.iter().any(|c| c == "cpu"))
                .ok_or("no cgroup hierarchy (v2 or v1) has the cpu controller")?;
            let dir = v1.mount_point.join(&leaf);
            std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            QuotaCgroup {
                dir,
                v2: false,
                children: Vec::new(),
            }
        };
        cgroup.set_quota(quota_usec)?;
        Ok(cgroup)
    }

    /// Limits the cgroup to `quota_usec` per 100 ms period.
    pub fn set_quota(&self, quota_usec: u64) -> Result<(), String> {
        let write = |file: &str, value: String| {
            std::fs::write(self.dir.join(file), &value)
                .map_err(|e| format!("writing {value} to {file}: {e}"))
        };
        if self.v2 {
            write("cpu.max", format!("{quota_usec} 100000"))
        } else {
            write("cpu.cfs_period_us", "100000".into())?;
            write("cpu.cfs_quota_us", quota_usec.to_string())
        }
    }

    /// Starts `cmd` (stdin from /dev/null) and moves it into this cgroup; its pid.
    pub fn run(&mut self, cmd: &mut Command) -> u32 {
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

    /// `throttled_usec` of its `cpu.stat` (v2; v1's `throttled_time` in µs): the kernel's own
    /// count of the time the quota held its tasks off a CPU.
    pub fn throttled_usec(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        field("throttled_usec ").or_else(|| field("throttled_time ").map(|ns| ns / 1000))
    }

    /// The cgroup's directory name (its path below the hierarchy's root).
    pub fn leaf(&self) -> &str {
        self.dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

impl Drop for QuotaCgroup {
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
        eprintln!("could not remove {}", Path::new(&self.dir).display());
    }
}
