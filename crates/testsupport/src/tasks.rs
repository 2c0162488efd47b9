//! The kernel's own per-thread counters of a process, the ground truth the context-switch and
//! kernel-aggregate suites compare recordings with: `/proc/PID/task/TID/status`
//! (`voluntary_ctxt_switches`, `nonvoluntary_ctxt_switches`) and `.../schedstat` (on-CPU ns,
//! run-queue ns, runs), and a wait until they stop changing (the process is idle).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One thread's counters so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskCounters {
    pub voluntary: u64,
    pub involuntary: u64,
    pub on_cpu_ns: u64,
    pub runqueue_ns: u64,
    pub runs: u64,
}

/// tid → counters of every thread of `pid` (a thread that exits while read is left out).
pub fn task_counters(pid: u32) -> BTreeMap<u64, TaskCounters> {
    let mut all = BTreeMap::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process's tasks");
    for task in tasks.map_while(Result::ok) {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u64>() else {
            continue;
        };
        let (Ok(status), Ok(schedstat)) = (
            std::fs::read_to_string(task.path().join("status")),
            std::fs::read_to_string(task.path().join("schedstat")),
        ) else {
            continue; // exited meanwhile
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} in {status}"))
        };
        let sched: Vec<u64> = schedstat
            .split_whitespace()
            .map(|v| v.parse().expect("schedstat field"))
            .collect();
        assert_eq!(sched.len(), 3, "schedstat {schedstat:?}");
        all.insert(
            tid,
            TaskCounters {
                voluntary: field("voluntary_ctxt_switches:"),
                involuntary: field("nonvoluntary_ctxt_switches:"),
                on_cpu_ns: sched[0],
                runqueue_ns: sched[1],
                runs: sched[2],
            },
        );
    }
    all
}

/// tid → `pick` of its counters, once that has not changed for `quiet` on any thread (the
/// process is idle as far as `pick` sees); panics after 20 s.
pub fn idle_task_counters<T: PartialEq>(
    pid: u32,
    quiet: Duration,
    pick: impl Fn(&TaskCounters) -> T,
) -> BTreeMap<u64, T> {
    let read = || -> BTreeMap<u64, T> {
        task_counters(pid)
            .iter()
            .map(|(&tid, c)| (tid, pick(c)))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut last, mut since) = (read(), Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = read();
        if now != last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= quiet {
            return now;
        }
        assert!(Instant::now() < deadline, "the process never went idle");
    }
}

/// Voluntary and involuntary switches.
pub fn switches(c: &TaskCounters) -> (u64, u64) {
    (c.voluntary, c.involuntary)
}
