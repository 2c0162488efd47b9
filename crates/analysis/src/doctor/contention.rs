//! Kernel CPU contention: the program's threads were runnable but not running — preempted by
//! the kernel or woken and still queued — because other processes (or the program's own
//! threads beyond its CPUs) competed for the same CPUs. Evidence: the kernel run-queue delay of
//! every thread (`threads.per_thread[].runqueue_wait_ns`, from `sched_switch` and
//! `sched_wakeup`), its share of the time the threads wanted a CPU, the involuntary switches,
//! and the CPUs the process may use against GOMAXPROCS (`scheduler.gomaxprocs.usable_cpus`).
//!
//! share = run-queue wait / (run-queue wait + on-CPU time), over threads that wanted a CPU at
//! least 10% of the traced time and 100 ms in all. Severity: share ≥ 50% critical, ≥ 20%
//! warning, ≥ 10% info; capped at info when the cgroup was throttled (then
//! `gomaxprocs_over_quota` explains it). impact = share.

use super::{share, Check, Confidence, Evidence, Finding, Rule, Severity};
use crate::Report;

/// Below this much wanted CPU time in all, a share says nothing (a program that exits at once).
const MIN_WANTED_NS: u64 = 100_000_000;

pub const RULE: Rule = Rule {
    id: "kernel_cpu_contention",
    title: "Threads waiting for a CPU in the kernel (CPU contention)",
    check,
};

fn check(report: &Report) -> Check {
    let threads = &report.threads;
    if !threads.cpu.captured {
        return Check::NotCaptured(format!(
            "context switches were not captured: {}",
            threads.cpu.why_text()
        ));
    }
    let waited: u64 = threads.per_thread.iter().map(|t| t.runqueue_wait_ns).sum();
    let on: u64 = threads.per_thread.iter().map(|t| t.on_cpu_ns).sum();
    let involuntary: u64 = threads
        .per_thread
        .iter()
        .map(|t| t.involuntary_switches)
        .sum();
    let wanted = waited + on;
    if (wanted as f64) < report.duration_ns as f64 * 0.10 || wanted < MIN_WANTED_NS {
        return Check::Clean; // mostly idle, or too short to tell
    }
    let ratio = share(waited as f64, wanted as f64);
    let procs = &report.scheduler.gomaxprocs;
    let throttled = procs
        .cpu_limit
        .as_ref()
        .and_then(|l| l.throttled.as_ref())
        .is_some_and(|t| t.throttled_periods > 0);
    let severity = if ratio >= 0.50 {
        Severity::Critical
    } else if ratio >= 0.20 {
        Severity::Warning
    } else if ratio >= 0.10 {
        Severity::Info
    } else {
        return Check::Clean;
    };
    let severity = if throttled {
        severity.min(Severity::Info)
    } else {
        severity
    };
    let gomaxprocs = super::gomaxprocs(report);
    let mut evidence = vec![
        Evidence::ns(
            "time threads were runnable but not running",
            waited,
            "Σ threads.per_thread[].runqueue_wait_ns",
        ),
        Evidence::ns("time threads ran", on, "Σ threads.per_thread[].on_cpu_ns"),
        Evidence::percent(
            "of the time they wanted a CPU, waiting",
            ratio * 100.0,
            "wait / (wait + on-CPU)",
        ),
        Evidence::count(
            "involuntary switches (preempted by the kernel)",
            involuntary,
            "Σ threads.per_thread[].involuntary_switches",
        ),
    ];
    if let Some(n) = gomaxprocs {
        evidence.push(Evidence::count(
            "GOMAXPROCS",
            n as u64,
            "scheduler.gomaxprocs.last",
        ));
    }
    if let Some(usable) = procs.usable_cpus {
        evidence.push(Evidence::count(
            "CPUs the process may use (affinity, cpuset)",
            u64::from(usable),
            "scheduler.gomaxprocs.usable_cpus",
        ));
    }
    if let Some(limit) = &procs.cpu_limit {
        evidence.push(Evidence::count(
            "CPUs online",
            u64::from(limit.limit.online_cpus),
            "scheduler.gomaxprocs.cpu_limit.online_cpus",
        ));
    }
    let mut top: Vec<_> = threads.per_thread.iter().collect();
    top.sort_by_key(|t| std::cmp::Reverse(t.runqueue_wait_ns));
    for t in top.iter().take(3).filter(|t| t.runqueue_wait_ns > 0) {
        evidence.push(Evidence::Thread {
            tid: t.tid,
            m_id: t.m_id,
            note: format!(
                "waited {:.1} ms for a CPU, ran {:.1} ms, preempted {} times",
                t.runqueue_wait_ns as f64 / 1e6,
                t.on_cpu_ns as f64 / 1e6,
                t.involuntary_switches
            ),
        });
    }
    let narrow = procs.over_cpus == Some(true);
    let fix = if narrow {
        format!(
            "GOMAXPROCS ({}) is above the CPUs this process may run on ({}): its own threads \
             compete for them. Set GOMAXPROCS to the CPUs it gets, or widen its affinity/cpuset.",
            gomaxprocs.unwrap_or(0),
            procs.usable_cpus.unwrap_or(0)
        )
    } else {
        "Other work competes for the same CPUs (another process, or more busy threads than \
         CPUs). Find it (`top -H`, `perf sched`), and give this program CPUs of its own: move \
         or pin the competitor elsewhere (taskset/cpuset), raise this program's priority (nice, \
         cpu.weight), or add CPUs; GOMAXPROCS above the CPUs it really gets only adds \
         preemptions."
            .to_string()
    };
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!(
            "CPU contention: threads waited for a CPU {:.0}% of the time they wanted one",
            ratio * 100.0
        ),
        severity,
        impact: ratio.min(1.0),
        summary: format!(
            "the program's threads were runnable but not running for {:.0} ms while they ran \
             {:.0} ms ({:.0}% waiting), preempted by the kernel {involuntary} times{}",
            waited as f64 / 1e6,
            on as f64 / 1e6,
            ratio * 100.0,
            if throttled {
                "; the cgroup was throttled meanwhile (see gomaxprocs_over_quota)"
            } else {
                ""
            }
        ),
        site: None,
        evidence,
        confidence: Confidence::Exact,
        confidence_why: "every context switch and wake-up of the program's threads from the \
                         kernel's sched_switch and sched_wakeup tracepoints"
            .into(),
        fix,
    }])
}
