//! Shared helpers of the BPF end-to-end tests (`tests/bpf_*.rs`): they load real programs into
//! the kernel, so they need root, and they check through bpftool that nothing of ours is left
//! loaded afterwards.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// bpftool as Debian installs it (package `bpftool`).
pub const BPFTOOL: &str = "/usr/sbin/bpftool";

pub use testsupport::require_root;

/// A BPF program currently loaded in the kernel, as bpftool lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedProgram {
    pub id: u32,
    pub name: String,
}

/// Every loaded BPF program (`bpftool -j prog show`).
pub fn loaded_programs() -> Vec<LoadedProgram> {
    let out = Command::new(BPFTOOL)
        .args(["-j", "prog", "show"])
        .output()
        .unwrap_or_else(|e| panic!("running {BPFTOOL} (apt-get install bpftool): {e}"));
    assert!(
        out.status.success(),
        "{BPFTOOL} prog show failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    json.as_array()
        .expect("bpftool prog show: a JSON array")
        .iter()
        .map(|p| LoadedProgram {
            id: p["id"].as_u64().expect("program id") as u32,
            name: p["name"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

/// Asserts that none of the programs with these kernel ids is loaded any more. The kernel frees
/// a program after its last reference (link, fd, perf event) goes, partly from deferred work, so
/// this waits a bounded time for that to happen before failing.
pub fn assert_unloaded(ids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<LoadedProgram> = loaded_programs()
            .into_iter()
            .filter(|p| ids.contains(&p.id))
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "BPF programs still loaded after they were dropped: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ids of the BPF programs this process keeps loaded through its file descriptors: program fds
/// and link fds both name their program in /proc/self/fdinfo (`prog_id:`). (bpftool's `pids`
/// column is not available with every bpftool build, so it is not used.)
pub fn prog_ids_held_by_this_process() -> Vec<u32> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .flatten()
    {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if target != "anon_inode:bpf-prog" && target != "anon_inode:bpf_link" {
            continue;
        }
        let fdinfo = Path::new("/proc/self/fdinfo").join(entry.file_name());
        let Ok(info) = std::fs::read_to_string(fdinfo) else {
            continue;
        };
        ids.extend(
            info.lines()
                .filter_map(|l| l.strip_prefix("prog_id:"))
                .filter_map(|v| v.trim().parse::<u32>().ok()),
        );
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Asserts that this process holds no `gs_*` program (other processes on the machine may run
/// goroscope at the same time, so programs held only by them are not ours to judge).
pub fn assert_no_gs_program_held_by_us() {
    let held = prog_ids_held_by_this_process();
    let ours: Vec<LoadedProgram> = loaded_programs()
        .into_iter()
        .filter(|p| p.name.starts_with("gs_") && held.contains(&p.id))
        .collect();
    assert!(
        ours.is_empty(),
        "gs_* programs still held by this test process: {ours:?}"
    );
}

/// Kernel program ids from goroscope output such as "gs_uprobe_hit (id 102), gs_sched_switch
/// (id 104)".
pub fn ids_in(text: &str) -> Vec<u32> {
    text.split("(id ")
        .skip(1)
        .filter_map(|rest| rest.split(')').next()?.trim().parse().ok())
        .collect()
}
