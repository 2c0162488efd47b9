//! Which system calls, and whose, behind the hand-offs where the per-event syscalls were not
//! captured (the default level): the calls by name from the kernel aggregates (`kernel.syscalls`:
//! exact counts, time and log2 latency over every thread of the process), the runtime's own
//! idle calls left out; and the creation site from the runtime's sampled waits that came back
//! from a system call (`sched_latency_sampled.syscall_returns`), which also name the calls
//! their stacks made. A call named by both is confirmed; the site is an estimate from samples.

use super::{ms, Evidence, Site};
use crate::Report;

/// Calls the Go runtime makes itself, on threads with no goroutine (parking an idle M, the
/// network poller, sysmon's sleep, signals, memory): they do not hand off a P, and their time
/// (an idle thread's whole life in `futex`) would drown the program's own.
const RUNTIME_OWN: [&str; 20] = [
    "futex",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "nanosleep",
    "clock_nanosleep",
    "sched_yield",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "sigaltstack",
    "tgkill",
    "getpid",
    "gettid",
    "mmap",
    "munmap",
    "madvise",
    "clone",
    "clone3",
    "restart_syscall",
];

/// How many calls are cited.
const TOP_CALLS: usize = 3;

/// What the default level can say.
pub struct Named {
    /// The site the samples point at.
    pub site: Option<Site>,
    /// The call to name in the title: the one the site's stacks name that took the most time,
    /// else the program's call that took the most time.
    pub call: Option<String>,
    pub evidence: Vec<Evidence>,
    /// Samples behind the site (0: none).
    pub samples: u64,
}

pub fn from_aggregates(report: &Report) -> Named {
    let calls: Vec<_> = report
        .kernel
        .syscalls
        .iter()
        .filter(|r| !RUNTIME_OWN.contains(&r.name.as_str()) && r.count > 0)
        .collect(); // already most time first
    let returns = report
        .sched_latency_sampled
        .as_ref()
        .filter(|s| s.coverage.captured)
        .map_or(&[][..], |s| s.syscall_returns.as_slice());
    let top = returns.iter().find(|r| !super::is_runtime(&r.function));
    let mut evidence = Vec::new();
    for c in calls.iter().take(TOP_CALLS) {
        let confirmed = top.is_some_and(|t| t.calls.contains(&c.name));
        evidence.push(Evidence::ns(
            &format!(
                "{} ({}×, p99 ≤ {}){}",
                c.name,
                c.count,
                c.latency.p99_le_ns.map_or("?".into(), ms),
                if confirmed {
                    ", also in the sampled stacks"
                } else {
                    ""
                }
            ),
            c.total_ns,
            "kernel.syscalls[].total_ns",
        ));
    }
    let site = top.map(|r| Site::new(&r.function, &r.file, r.line));
    if let (Some(r), Some(s)) = (top, &site) {
        evidence.push(Evidence::site(
            "sampled goroutines back from a system call: created at",
            s.clone(),
        ));
        evidence.push(Evidence::count(
            "their samples",
            r.samples,
            "sched_latency_sampled.syscall_returns[].samples",
        ));
        if !r.calls.is_empty() {
            evidence.push(Evidence::stack("calls their stacks name", &r.calls));
        }
    }
    // The site's own call that took the most time; else the program's.
    let call = calls
        .iter()
        .find(|c| top.is_some_and(|t| t.calls.contains(&c.name)))
        .or(calls.first())
        .map(|c| c.name.clone());
    Named {
        site,
        call,
        evidence,
        samples: top.map_or(0, |r| r.samples),
    }
}
