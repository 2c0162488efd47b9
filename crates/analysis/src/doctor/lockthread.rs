//! LockOSThread thread churn: a goroutine that exits while locked to its thread
//! (`runtime.LockOSThread` without `UnlockOSThread`) takes the thread with it — the runtime
//! destroys it rather than reuse a thread whose state the goroutine may have changed — and the
//! next locked goroutine needs a new one (clone, signal stack, TLS). Evidence:
//! `scheduler.locking.exited_locked` (goroutines, threads destroyed), threads created and Ms
//! started over the trace, and the creation sites of the goroutines that exited locked.
//!
//! Severity: ≥ 10 threads destroyed or ≥ 2 a second, warning; ≥ 100 a second, critical; any,
//! info (a rate needs 5 threads). impact = min(1, threads destroyed per second / 100).
//!
//! Without goroutine exits (the default and monitor levels) the rule counts M exits instead:
//! [`super::lockthread_default`].

use std::collections::BTreeMap;

use super::{share, Check, Evidence, Finding, Rule, Severity, Site};
use crate::Report;

pub const RULE: Rule = Rule {
    id: "lockosthread_churn",
    title: "Goroutines exiting locked to their thread (thread churn)",
    check,
};

fn check(report: &Report) -> Check {
    let exited = &report.scheduler.locking.exited_locked;
    if exited.coverage.captured {
        return from_exits(report);
    }
    super::lockthread_default::check(report).unwrap_or_else(|why| {
        Check::NotCaptured(format!(
            "goroutine exits were not captured: {}; {why}",
            exited.coverage.why_text()
        ))
    })
}

/// Threads destroyed a second; 0 under 5 threads: a rate needs a few to mean anything (one
/// in a 10 ms trace is not 100/s).
pub(super) fn rate(destroyed: u64, duration_ns: u64) -> f64 {
    if destroyed >= 5 {
        share(destroyed as f64, duration_ns as f64 / 1e9)
    } else {
        0.0
    }
}

pub(super) fn severity(destroyed: u64, rate: f64) -> Severity {
    if rate >= 100.0 {
        Severity::Critical
    } else if destroyed >= 10 || rate >= 2.0 {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// The full level: every goroutine exit, and the thread destroyed after it.
fn from_exits(report: &Report) -> Check {
    let locking = &report.scheduler.locking;
    let exited = &locking.exited_locked;
    if exited.goroutines == 0 {
        return Check::Clean;
    }
    let destroyed = exited.threads_destroyed;
    let rate = rate(destroyed, report.duration_ns);
    let severity = severity(destroyed, rate);
    let mut sites: BTreeMap<(&str, &str, u32), u64> = BTreeMap::new();
    for row in locking
        .lock_os_thread
        .by_goroutine
        .iter()
        .filter(|r| r.exited_locked)
    {
        *sites
            .entry((row.function.as_str(), row.file.as_str(), row.line))
            .or_default() += 1;
    }
    let top = sites
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|((f, file, line), n)| (Site::new(f, file, *line), *n));
    let mut evidence = vec![
        Evidence::count(
            "goroutines exited while locked",
            exited.goroutines,
            "scheduler.locking.exited_locked.goroutines",
        ),
        Evidence::count(
            "threads destroyed with them",
            destroyed,
            "scheduler.locking.exited_locked.threads_destroyed",
        ),
        Evidence::measure(
            "threads destroyed per second",
            (rate * 10.0).round() / 10.0,
            "per_second",
            "threads_destroyed / duration",
        ),
    ];
    evidence.extend(churn_context(report));
    if let Some((site, n)) = &top {
        evidence.push(Evidence::site(
            &format!("{n} of the listed ones created at"),
            site.clone(),
        ));
    }
    for row in locking
        .lock_os_thread
        .by_goroutine
        .iter()
        .filter(|r| r.exited_locked)
        .filter_map(|r| r.destroyed_thread.as_ref())
        .take(3)
    {
        evidence.push(Evidence::Thread {
            tid: row.tid,
            m_id: row.m_id,
            note: if row.wedged {
                "the main thread: wedged (parked for good), not destroyed".into()
            } else if row.thread_exit_seen {
                "exited with its goroutine".into()
            } else {
                "M exited with its goroutine".into()
            },
        });
    }
    let where_ = top
        .as_ref()
        .map_or("(site unknown)".to_string(), |(s, _)| s.function.clone());
    let conf = super::exact_unless_sampled(
        report,
        goroscope_events::Fact::GoroutineScheduling,
        "every goroutine exit, M exit and thread exit seen by goroscope's probes \
                         and the kernel's tracepoints",
    );
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!("Thread churn: goroutines from {where_} exit locked to their thread"),
        severity,
        impact: (rate / 100.0).min(1.0),
        summary: format!(
            "{} goroutines exited while locked with runtime.LockOSThread, and {destroyed} threads \
             were destroyed with them ({rate:.1}/s); {} threads were created meanwhile",
            exited.goroutines, report.threads.created
        ),
        site: top.map(|(s, _)| s),
        evidence,
        confidence: conf.0,
        confidence_why: conf.1,
        fix: fix(&where_),
    }])
}

pub(super) fn fix(where_: &str) -> String {
    format!(
        "Goroutines created at {where_} call runtime.LockOSThread and return without \
         runtime.UnlockOSThread, so the runtime kills their thread. Pair the calls \
         (`runtime.LockOSThread(); defer runtime.UnlockOSThread()`) unless the thread's \
         state really is tainted, or keep one long-lived locked goroutine and send it the \
         work over a channel instead of starting a locked goroutine per task."
    )
}

/// What the churn costs around it, at every level: threads created, Ms started, LockOSThread
/// calls.
pub(super) fn churn_context(report: &Report) -> [Evidence; 3] {
    let locking = &report.scheduler.locking;
    [
        Evidence::count("threads created", report.threads.created, "threads.created"),
        Evidence::count(
            "Ms started",
            locking.ms.started,
            "scheduler.locking.ms.started",
        ),
        Evidence::count(
            "LockOSThread calls",
            locking.lock_os_thread.calls,
            "scheduler.locking.lock_os_thread.calls",
        ),
    ]
}
