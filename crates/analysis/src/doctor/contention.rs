//! Kernel CPU contention: the program's threads were runnable but not running because other
//! processes (or the program's own threads beyond its CPUs) competed for the same CPUs.
//! Evidence, from `sched_switch` and `sched_wakeup` (`threads.per_thread[]`): the time threads
//! waited after the kernel preempted them (`preempted_wait_ns`: an involuntary switch-out to the
//! next switch-in — on an idle machine a thread is not preempted, so this is contention), the
//! mean wait from a wake-up to running (`runqueue_wait_ns - preempted_wait_ns` over
//! `wakeup_waits`: tens of µs when a CPU is free, a time slice when none is), and the CPUs the
//! process may use against GOMAXPROCS (`scheduler.gomaxprocs.usable_cpus`).
//!
//! share = preempted wait / (preempted wait + on-CPU time), over threads that ran or waited
//! 100 ms in all, counted when the preempted waits reach 5% of the traced time (the mean
//! wake-up wait when there were 100 wake-ups). Severity: share ≥ 50% or a mean wake-up wait ≥ 5 ms, critical; ≥ 20% or
//! ≥ 1 ms, warning; ≥ 10% or ≥ 200 µs, info; capped at info when the cgroup was throttled
//! (then `gomaxprocs_over_quota` explains it). impact = max(share, mean wake-up wait / 10 ms).

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
        if report.kernel.coverage.captured {
            return from_aggregates(report);
        }
        return Check::NotCaptured(format!(
            "context switches were not captured: {}; nor kernel aggregates: {}",
            threads.cpu.why_text(),
            report.kernel.coverage.why_text()
        ));
    }
    let rows = &threads.per_thread;
    let waited: u64 = rows.iter().map(|t| t.runqueue_wait_ns).sum();
    let preempted: u64 = rows.iter().map(|t| t.preempted_wait_ns).sum();
    let wakeup_waits: u64 = rows.iter().map(|t| t.wakeup_waits).sum();
    let on: u64 = rows.iter().map(|t| t.on_cpu_ns).sum();
    let involuntary: u64 = rows.iter().map(|t| t.involuntary_switches).sum();
    if waited + on < MIN_WANTED_NS {
        return Check::Clean; // mostly idle, or too short to tell
    }
    let ratio = share(preempted as f64, (preempted + on) as f64);
    let wakeup_mean = share((waited - preempted.min(waited)) as f64, wakeup_waits as f64);
    // A share of almost nothing is noise: the preempted waits must add up to 5% of the traced
    // time (a twentieth of a thread waiting all along), the wake-ups to 100.
    let ratio = if (preempted as f64) < report.duration_ns as f64 * 0.05 {
        0.0
    } else {
        ratio
    };
    let wakeup_mean = if wakeup_waits < 100 { 0.0 } else { wakeup_mean };
    let procs = &report.scheduler.gomaxprocs;
    let throttled = procs
        .cpu_limit
        .as_ref()
        .and_then(|l| l.throttled.as_ref())
        .is_some_and(|t| t.throttled_periods > 0);
    let severity = if ratio >= 0.50 || wakeup_mean >= 5e6 {
        Severity::Critical
    } else if ratio >= 0.20 || wakeup_mean >= 1e6 {
        Severity::Warning
    } else if ratio >= 0.10 || wakeup_mean >= 2e5 {
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
        Evidence::ns(
            "… after the kernel preempted them",
            preempted,
            "Σ threads.per_thread[].preempted_wait_ns",
        ),
        Evidence::ns("time threads ran", on, "Σ threads.per_thread[].on_cpu_ns"),
        Evidence::percent(
            "preempted wait / (preempted wait + running)",
            ratio * 100.0,
            "the share of the time a running thread wanted its CPU back",
        ),
        Evidence::count(
            "involuntary switches (preempted by the kernel)",
            involuntary,
            "Σ threads.per_thread[].involuntary_switches",
        ),
        Evidence::ns(
            "mean wait from a wake-up to running",
            wakeup_mean as u64,
            "Σ (runqueue_wait_ns - preempted_wait_ns) / Σ wakeup_waits",
        ),
        Evidence::count(
            "wake-ups waited for",
            wakeup_waits,
            "Σ threads.per_thread[].wakeup_waits",
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
                "waited {:.1} ms for a CPU ({:.1} ms after {} preemptions), ran {:.1} ms",
                t.runqueue_wait_ns as f64 / 1e6,
                t.preempted_wait_ns as f64 / 1e6,
                t.involuntary_switches,
                t.on_cpu_ns as f64 / 1e6
            ),
        });
    }
    // How much of the goroutines' runnable→running wait their threads spent queued in the
    // kernel.
    evidence.extend(super::attributed(report, "kernel"));
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
    let conf = super::exact_unless_sampled(
        report,
        goroscope_events::Fact::ContextSwitches,
        "every context switch and wake-up of the program's threads from the \
                         kernel's sched_switch and sched_wakeup tracepoints",
    );
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!(
            "CPU contention: threads waited {:.0} ms for a CPU ({:.0}% after preemption, \
             {} per wake-up)",
            waited as f64 / 1e6,
            ratio * 100.0,
            super::ms(wakeup_mean as u64)
        ),
        severity,
        impact: ratio.max(wakeup_mean / 1e7).min(1.0),
        summary: format!(
            "the program's threads were runnable but not running for {:.0} ms while they ran \
             {:.0} ms: preempted by the kernel {involuntary} times and waited {:.0} ms for their \
             CPU back ({:.0}%), and waited {} on average from a wake-up to running{}",
            waited as f64 / 1e6,
            on as f64 / 1e6,
            preempted as f64 / 1e6,
            ratio * 100.0,
            super::ms(wakeup_mean as u64),
            if throttled {
                "; the cgroup was throttled meanwhile (see gomaxprocs_over_quota)"
            } else {
                ""
            }
        ),
        site: None,
        evidence,
        confidence: conf.0,
        confidence_why: conf.1,
        fix,
    }])
}

/// Without per-event switches, the kernel's own counters kept in BPF maps (`kernel`): the
/// threads' run delay (schedstat) and how many times they got a CPU. No split between waits
/// after a preemption and after a wake-up there, so only the mean wait per run decides
/// (≥ 200 µs info, ≥ 1 ms warning, ≥ 5 ms critical), over 100 runs and 100 ms at least.
fn from_aggregates(report: &Report) -> Check {
    let t = &report.kernel.thread_totals;
    let (Some(delay), Some(runs)) = (t.run_delay_ns, t.runs) else {
        return Check::NotCaptured(
            "the kernel keeps no run-delay counter here (schedstats)".to_string(),
        );
    };
    if delay + t.on_cpu_ns < MIN_WANTED_NS || runs < 100 {
        return Check::Clean;
    }
    let mean = share(delay as f64, runs as f64);
    let severity = if mean >= 5e6 {
        Severity::Critical
    } else if mean >= 1e6 {
        Severity::Warning
    } else if mean >= 2e5 {
        Severity::Info
    } else {
        return Check::Clean;
    };
    let throttled = report
        .scheduler
        .gomaxprocs
        .cpu_limit
        .as_ref()
        .and_then(|l| l.throttled.as_ref())
        .is_some_and(|t| t.throttled_periods > 0);
    let severity = if throttled {
        severity.min(Severity::Info)
    } else {
        severity
    };
    let mut evidence = vec![
        Evidence::ns(
            "time threads were runnable but not running (the kernel's run delay)",
            delay,
            "kernel.thread_totals.run_delay_ns",
        ),
        Evidence::ns(
            "time threads ran",
            t.on_cpu_ns,
            "kernel.thread_totals.on_cpu_ns",
        ),
        Evidence::count("times they got a CPU", runs, "kernel.thread_totals.runs"),
        Evidence::ns("mean wait per run", mean as u64, "run_delay_ns / runs"),
        Evidence::count(
            "involuntary switches (preempted by the kernel)",
            t.involuntary_switches,
            "kernel.thread_totals.involuntary_switches",
        ),
    ];
    if let Some(p99) = t.runnable_waits.p99_le_ns {
        evidence.push(Evidence::ns(
            "runnable wait, p99 (at most)",
            p99,
            "kernel.thread_totals.runnable_waits.p99_le_ns",
        ));
    }
    // The goroutines' sampled runnable→running wait their threads spent queued in the kernel
    // (estimated from the same run delay: `exact: false`).
    evidence.extend(super::attributed(report, "kernel"));
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!(
            "CPU contention: threads waited {} for a CPU each time they ran",
            super::ms(mean as u64)
        ),
        severity,
        impact: (mean / 1e7).min(1.0),
        summary: format!(
            "the program's threads were runnable but not running for {:.0} ms while they ran {:.0} \
             ms: {} on average before each of their {runs} runs, preempted by the kernel {} times",
            delay as f64 / 1e6,
            t.on_cpu_ns as f64 / 1e6,
            super::ms(mean as u64),
            t.involuntary_switches
        ),
        site: None,
        evidence,
        confidence: Confidence::Exact,
        confidence_why: "the kernel's own per-thread counters (run delay, runs, switches) summed \
                         in BPF maps"
            .into(),
        fix: "Other work competes for the same CPUs (another process, or more busy threads than \
              CPUs). Find it (`top -H`, `perf sched`), and give this program CPUs of its own: \
              move or pin the competitor elsewhere (taskset/cpuset), raise this program's \
              priority (nice, cpu.weight), or add CPUs."
            .into(),
    }])
}
