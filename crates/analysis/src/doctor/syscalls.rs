//! Syscall-heavy goroutines: blocking system calls (file I/O, anything not on the netpoller)
//! make the runtime hand their P to another thread (`handoffp`, by cause) and start new threads
//! when none is idle; the thread count grows with the concurrent calls. Evidence: hand-offs
//! (`scheduler.syscalls.handoffs`), threads started for them, calls that lost their P
//! (`through_runtime.lost_p`), the threads' peak, and the creation site that spent the most
//! time in system calls with its calls by name (`kernel.by_site`). Where the per-event
//! syscalls were not captured (the default level), the calls by name from the kernel
//! aggregates and the site from the sampled waits back from a system call
//! (`syscall_names`): confidence `sampled`.
//!
//! Severity: ≥ 100 hand-offs a second or ≥ 10 threads started for them, warning; ≥ 1000 a
//! second, critical; ≥ 20 a second, info; fewer than 50 hand-offs in all (and fewer than 10
//! threads) say nothing. impact = min(1, hand-offs per second / 2000).

use super::{ms, share, Check, Confidence, Evidence, Finding, Rule, Severity, Site};
use crate::Report;

/// Fewest hand-offs for a rate to count.
const MIN_HANDOFFS: u64 = 50;

pub const RULE: Rule = Rule {
    id: "syscall_handoffs",
    title: "Blocking system calls handing off Ps and starting threads",
    check,
};

fn check(report: &Report) -> Check {
    let s = &report.scheduler.syscalls;
    let h = &s.handoffs;
    if !h.coverage.captured {
        return Check::NotCaptured(format!(
            "P hand-offs were not captured: {}",
            h.coverage.why_text()
        ));
    }
    // Hand-offs for a GC stop-the-world are the GC's, and those of a locked goroutine's M
    // (stoplockedm) LockOSThread's: neither is a syscall's.
    let handoffs = h
        .total
        .saturating_sub(h.by_cause.gc_stw + h.by_cause.stoplockedm);
    let secs = report.duration_ns as f64 / 1e9;
    let rate = share(handoffs as f64, secs);
    let threads = h
        .threads_started
        .saturating_sub(h.threads_started_by_cause.gc_stw + h.threads_started_by_cause.stoplockedm);
    if handoffs < MIN_HANDOFFS && threads < 10 {
        return Check::Clean; // a rate of a handful says nothing (a program that exits at once)
    }
    let severity = if rate >= 1000.0 {
        Severity::Critical
    } else if rate >= 100.0 || threads >= 10 {
        Severity::Warning
    } else if rate >= 20.0 {
        Severity::Info
    } else {
        return Check::Clean;
    };
    let mut evidence = vec![
        Evidence::count(
            "P hand-offs (GC's and LockOSThread's excluded)",
            handoffs,
            "scheduler.syscalls.handoffs.total - by_cause.gc_stw - by_cause.stoplockedm",
        ),
        Evidence::measure(
            "hand-offs per second",
            rate.round(),
            "per_second",
            "hand-offs / duration",
        ),
        Evidence::count(
            "by sysmon retaking the P of a thread blocked in a syscall",
            h.by_cause.sysmon_retake,
            "scheduler.syscalls.handoffs.by_cause.sysmon_retake",
        ),
        Evidence::count(
            "at entersyscallblock (a call known to block)",
            h.by_cause.entersyscallblock,
            "scheduler.syscalls.handoffs.by_cause.entersyscallblock",
        ),
        Evidence::count(
            "threads started for hand-offs",
            threads,
            "scheduler.syscalls.handoffs.threads_started",
        ),
        Evidence::count(
            "threads at most",
            report.threads.max_live,
            "threads.max_live",
        ),
    ];
    let rt = &s.through_runtime;
    if rt.coverage.captured {
        evidence.push(Evidence::count(
            "syscalls that lost their P",
            rt.lost_p,
            "scheduler.syscalls.through_runtime.lost_p",
        ));
    }
    // The creation site with the most time in calls (the runtime's row left out).
    let top = s
        .kernel
        .by_site
        .iter()
        .filter(|r| r.goroutines > 0 && !super::is_runtime(&r.function))
        .max_by_key(|r| r.stats.total_ns);
    let mut site = top.map(|r| Site::new(&r.function, &r.file, r.line));
    let mut named_calls = None;
    let default_level = !s.kernel.coverage.captured && report.kernel.coverage.captured;
    if default_level {
        let named = super::syscall_names::from_aggregates(report);
        evidence.extend(named.evidence);
        site = named.site;
        named_calls = Some((named.call, named.samples));
    }
    if let Some(r) = top {
        evidence.push(Evidence::site(
            "most time in syscalls: goroutines created at",
            Site::new(&r.function, &r.file, r.line),
        ));
        evidence.push(Evidence::ns(
            &format!("their time in {} calls", r.stats.count),
            r.stats.total_ns,
            "scheduler.syscalls.kernel.by_site[].total_ns",
        ));
        for n in r.by_name.iter().take(3) {
            evidence.push(Evidence::ns(
                &format!("{} ({}×, max {})", n.name, n.count, ms(n.max_ns)),
                n.total_ns,
                "scheduler.syscalls.kernel.by_site[].by_name[]",
            ));
        }
    }
    let where_ = site
        .as_ref()
        .map_or("(site unknown)".to_string(), |s| s.function.clone());
    let calls = top
        .and_then(|r| r.by_name.first())
        .map(|n| n.name.clone())
        .or_else(|| named_calls.as_ref().and_then(|n| n.0.clone()))
        .unwrap_or_else(|| "blocking calls".to_string());
    let conf = match &named_calls {
        Some((_, samples)) => (
            Confidence::Sampled,
            format!(
                "every hand-off (handoffp) seen by goroscope's probes; the system calls by name \
                 from the kernel aggregates (exact counts and time over all the process's \
                 threads, the runtime's own idle calls left out: which goroutines made them is \
                 not recorded at this level); the site from {samples} of the runtime's 1-in-8 \
                 sampled waits that came back from a system call (an estimate; none: site \
                 unknown)"
            ),
        ),
        None => super::exact_unless_sampled(
            report,
            goroscope_events::Fact::PHandoffs,
            "every hand-off (handoffp) and system call (raw_syscalls tracepoints) \
                         seen by goroscope's probes",
        ),
    };
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!("Syscall-heavy: {where_} blocks in {calls}, handing off Ps"),
        severity,
        impact: (rate / 2000.0).min(1.0),
        summary: format!(
            "{handoffs} P hand-offs ({rate:.0}/s) and {threads} threads started for them; \
             goroutines created at {where_} spent the most time in system calls ({calls})"
        ),
        site,
        evidence,
        confidence: conf.0,
        confidence_why: conf.1,
        fix: format!(
            "Goroutines created at {where_} block the OS thread in {calls}; each such call costs \
             a P hand-off, and concurrent ones a thread each. Bound how many run at once (a \
             semaphore or worker pool of about GOMAXPROCS goroutines for file I/O), batch small \
             calls (bufio, larger reads/writes), keep files open instead of open/close per use, \
             and use the network poller (net.Conn, os.File on pipes) where it applies."
        ),
    }])
}
