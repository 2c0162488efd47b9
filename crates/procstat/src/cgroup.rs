//! Where a process's cgroup lives on this machine: `/proc/PID/cgroup` names its cgroup per
//! hierarchy, `/proc/self/mountinfo` says where each hierarchy is mounted. Handles cgroup v2
//! (unified), v1, and the hybrid layout where v2 is mounted but the cpu and cpuset controllers
//! are still bound to v1 hierarchies (then the v1 ones are the ones that limit the process).

use std::path::{Path, PathBuf};

use crate::error::{read_optional, Error, Result};

/// One line of `/proc/PID/cgroup`: "hierarchy-id:controllers:path".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Empty for the v2 (unified) line "0::/path".
    pub controllers: Vec<String>,
    pub path: String,
}

/// A cgroup filesystem mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    pub mount_point: PathBuf,
    /// The cgroup shown at the mount point (not "/" inside a cgroup namespace or bind mount).
    pub root: String,
    pub v2: bool,
    /// v1: the controllers bound to this hierarchy (from the super options).
    pub controllers: Vec<String>,
}

/// A cgroup directory and the mount point above which its ancestors are not visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupDir {
    pub dir: PathBuf,
    pub mount_point: PathBuf,
    /// The path as `/proc/PID/cgroup` names it.
    pub path: String,
}

impl CgroupDir {
    /// This directory, then each parent up to and including the mount point.
    pub fn self_and_ancestors(&self) -> impl Iterator<Item = &Path> {
        self.dir
            .ancestors()
            .take_while(move |d| d.starts_with(&self.mount_point))
    }
}

/// Which directories hold a process's CPU controllers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuCgroups {
    /// 2 when the cpu controller is in the unified hierarchy, 1 when in a v1 hierarchy.
    pub version: Option<u8>,
    /// `cpu.max` (v2) or `cpu.cfs_quota_us` and `cpu.stat` (v1).
    pub cpu: Option<CgroupDir>,
    /// v1 only: `cpuacct.usage` (v2 has usage in `cpu.stat`).
    pub cpuacct: Option<CgroupDir>,
    /// `cpuset.cpus.effective` (v2) or `cpuset.effective_cpus` (v1).
    pub cpuset: Option<CgroupDir>,
}

/// Parses `/proc/PID/cgroup`.
pub fn parse_proc_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some(Membership {
                controllers: controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// Parses the cgroup and cgroup2 mounts of a `mountinfo` file:
/// "id parent maj:min root mount-point options [optional...] - fstype source super-options".
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let mut right = right.split(' ');
            let fstype = right.next()?;
            let _source = right.next()?;
            let super_options = right.next().unwrap_or("");
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if v2 {
                Vec::new()
            } else {
                super_options
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains('='))
                    .map(str::to_string)
                    .collect()
            };
            Some(CgroupMount {
                root: unescape(left.get(3)?),
                mount_point: PathBuf::from(unescape(left.get(4)?)),
                v2,
                controllers,
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directory of the cgroup `path` under `mount`, or None when the mount shows a different
/// subtree (the process is outside what this mount namespace can see).
fn dir_under(mount: &CgroupMount, path: &str) -> Option<CgroupDir> {
    let rel = if mount.root == "/" {
        path
    } else {
        let rest = path.strip_prefix(mount.root.as_str())?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    Some(CgroupDir {
        dir: mount.mount_point.join(rel.trim_start_matches('/')),
        mount_point: mount.mount_point.clone(),
        path: path.to_string(),
    })
}

/// Combines a process's memberships with the mounts: for each controller goroscope reads, the
/// directory that holds it. The v2 hierarchy holds a controller when its root lists it in
/// `cgroup.controllers`; otherwise the v1 hierarchy bound to it does.
pub fn locate(
    memberships: &[Membership],
    mounts: &[CgroupMount],
    v2_controllers: impl Fn(&Path) -> Vec<String>,
) -> CpuCgroups {
    let mut out = CpuCgroups::default();
    let unified = memberships
        .iter()
        .find(|m| m.controllers.is_empty())
        .and_then(|m| {
            let mount = mounts.iter().find(|mt| mt.v2)?;
            let dir = dir_under(mount, &m.path)?;
            Some((v2_controllers(&mount.mount_point), dir))
        });
    let v1 = |controller: &str| {
        let member = memberships
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))?;
        let mount = mounts
            .iter()
            .find(|mt| !mt.v2 && mt.controllers.iter().any(|c| c == controller))?;
        dir_under(mount, &member.path)
    };
    let in_v2 = |controller: &str| {
        unified
            .as_ref()
            .filter(|(ctl, _)| ctl.iter().any(|c| c == controller))
            .map(|(_, dir)| dir.clone())
    };
    if let Some(dir) = in_v2("cpu") {
        out.version = Some(2);
        out.cpu = Some(dir);
    } else if let Some(dir) = v1("cpu") {
        out.version = Some(1);
        out.cpu = Some(dir);
        out.cpuacct = v1("cpuacct");
    }
    out.cpuset = in_v2("cpuset").or_else(|| v1("cpuset"));
    if out.version.is_none() && unified.is_some() {
        // v2 without the cpu controller: still the process's cgroup.
        out.version = Some(2);
    }
    out
}

/// The CPU cgroups of process `pid`, as this process's mount namespace sees them.
pub fn cpu_cgroups(pid: u32) -> Result<(CpuCgroups, Option<String>)> {
    let proc_cgroup = PathBuf::from(format!("/proc/{pid}/cgroup"));
    let text = match std::fs::read_to_string(&proc_cgroup) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Process {
                pid,
                detail: "no such process (or no cgroup support in this kernel)".into(),
            })
        }
        Err(source) => {
            return Err(Error::Io {
                path: proc_cgroup,
                source,
            })
        }
    };
    let memberships = parse_proc_cgroup(&text);
    let mountinfo = read_optional(Path::new("/proc/self/mountinfo"))?.unwrap_or_default();
    let mounts = parse_mountinfo(&mountinfo);
    let located = locate(&memberships, &mounts, |mount_point| {
        std::fs::read_to_string(mount_point.join("cgroup.controllers"))
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    });
    // The name to show: the hierarchy holding the cpu controller, else the unified one.
    let name = located.cpu.as_ref().map(|d| d.path.clone()).or_else(|| {
        memberships
            .iter()
            .find(|m| m.controllers.is_empty())
            .map(|m| m.path.clone())
    });
    Ok((located, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_CGROUP: &str = "4:memory:/box/1\n3:cpuset:/\n1:cpu:/box\n0::/\n";
    const HYBRID_MOUNTS: &str = "\
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
33 30 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
34 30 0:30 / /sys/fs/cgroup/my\\040acct rw - cgroup cgroup rw,cpuacct,name=x
";

    #[test]
    fn hybrid_layout_uses_the_v1_cpu_hierarchy() {
        let m = parse_proc_cgroup(HYBRID_CGROUP);
        let mounts = parse_mountinfo(HYBRID_MOUNTS);
        assert_eq!(mounts.len(), 4);
        assert_eq!(
            mounts[3].mount_point,
            PathBuf::from("/sys/fs/cgroup/my acct")
        );
        assert_eq!(mounts[3].controllers, vec!["cpuacct"]);
        let c = locate(&m, &mounts, |_| vec!["hugetlb".into()]);
        assert_eq!(c.version, Some(1));
        assert_eq!(c.cpu.unwrap().dir, PathBuf::from("/sys/fs/cgroup/cpu/box"));
        assert_eq!(
            c.cpuset.unwrap().dir,
            PathBuf::from("/sys/fs/cgroup/cpuset/")
        );
        assert_eq!(c.cpuacct, None, "the process has no cpuacct line");
    }

    #[test]
    fn pure_v2_uses_the_unified_hierarchy_for_everything() {
        let m = parse_proc_cgroup("0::/system.slice/app.service\n");
        let mounts =
            parse_mountinfo("29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
        let c = locate(&m, &mounts, |_| vec!["cpuset".into(), "cpu".into()]);
        assert_eq!(c.version, Some(2));
        let cpu = c.cpu.unwrap();
        assert_eq!(
            cpu.dir,
            PathBuf::from("/sys/fs/cgroup/system.slice/app.service")
        );
        let chain: Vec<_> = cpu.self_and_ancestors().collect();
        assert_eq!(chain.len(), 3);
        assert_eq!(chain[2], Path::new("/sys/fs/cgroup"));
        assert_eq!(c.cpuset.unwrap().path, "/system.slice/app.service");
    }

    #[test]
    fn namespaced_root_is_stripped_and_outside_paths_are_refused() {
        let mounts = parse_mountinfo("1 0 0:1 /pod /sys/fs/cgroup rw - cgroup2 none rw\n");
        let inside = dir_under(&mounts[0], "/pod/c1").unwrap();
        assert_eq!(inside.dir, PathBuf::from("/sys/fs/cgroup/c1"));
        assert_eq!(dir_under(&mounts[0], "/podx"), None);
        assert_eq!(dir_under(&mounts[0], "/other"), None);
    }

    #[test]
    fn junk_never_panics() {
        for text in [
            "",
            ":",
            "::",
            "\\",
            "a - b",
            "1 2 3 4 \\7 - cgroup x",
            "x\\0",
        ] {
            let _ = parse_proc_cgroup(text);
            let _ = parse_mountinfo(text);
            let _ = unescape(text);
        }
    }
}
