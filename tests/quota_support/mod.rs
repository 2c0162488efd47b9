//! A cgroup of the test's own with a CPU quota, for the tests of throttling (`doctor.rs`,
//! `attribution.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A cgroup of its own with a CPU quota (v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), removed on
/// drop with the children moved into it.
pub struct QuotaCgroup {
    pub dir: PathBuf,
    children: Vec<Child>,
}

impl QuotaCgroup {
    pub fn create(quota_usec: u64) -> Result<QuotaCgroup, String> {
        let mountinfo =
            std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
        let mounts = procstat::cgroup::parse_mountinfo(&mountinfo);
        let leaf = format!("goroscope-doctor-{}", std::process::id());
        let write = |dir: &Path, file: &str, value: String| {
            std::fs::write(dir.join(file), &value).map_err(|e| format!("{file}: {e}"))
        };
        if let Some(v2) = mounts.iter().find(|m| m.v2 && m.root == "/") {
            let root = &v2.mount_point;
            if std::fs::read_to_string(root.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|w| w == "cpu"))
            {
                let _ = std::fs::write(root.join("cgroup.subtree_control"), "+cpu");
                let dir = root.join(&leaf);
                std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
                write(&dir, "cpu.max", format!("{quota_usec} 100000"))?;
                return Ok(QuotaCgroup {
                    dir,
                    children: Vec::new(),
                });
            }
        }
        let v1 = mounts
            .iter()
            .find(|m| !m.v2 && m.root == "/" && m.controllers.iter().any(|c| c == "cpu"))
            .ok_or("no cgroup hierarchy with the cpu controller")?;
        let dir = v1.mount_point.join(&leaf);
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        write(&dir, "cpu.cfs_period_us", "100000".into())?;
        write(&dir, "cpu.cfs_quota_us", quota_usec.to_string())?;
        Ok(QuotaCgroup {
            dir,
            children: Vec::new(),
        })
    }

    pub fn run(&mut self, cmd: &mut Command) -> u32 {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        let pid = child.id();
        self.children.push(child);
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .expect("moving into the cgroup");
        pid
    }
}

impl Drop for QuotaCgroup {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl QuotaCgroup {
    #[allow(dead_code)] // each test binary uses part of this module
    /// `throttled_usec` of its `cpu.stat` (v2; v1's `throttled_time` in µs): the kernel's
    /// own count of the time the quota held its tasks off a CPU.
    pub fn throttled_usec(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(self.dir.join("cpu.stat")).ok()?;
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
        };
        field("throttled_usec ").or_else(|| field("throttled_time ").map(|ns| ns / 1000))
    }
}
