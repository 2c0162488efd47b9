//! `lockosthread_churn` without goroutine exits (the default and monitor levels): M exits stand
//! in for them. On Linux the runtime runs `mexit` only after a goroutine exited locked to its
//! thread (`scheduler.locking.threads_destroyed`, every level, exact), so each M exit but the
//! main thread's is one goroutine that exited locked and one thread destroyed. Which goroutines:
//! the last to call `LockOSThread` on each thread, whose creation site the runtime's samples
//! give for about 1 in 8 of them (default level; none at monitor).
//!
//! Severity and impact as at the full level, from the threads destroyed. Confidence: `exact`
//! for the counts, `sampled` when the finding names a site known for only some of them.

use super::lockthread::{fix, rate, severity, RULE};
use super::{Check, Confidence, Evidence, Finding, Site};
use crate::sched::locking::ThreadsDestroyedReport;
use crate::Report;

/// The rule from M exits; `Err(why)` when the recording has none.
pub(super) fn check(report: &Report) -> Result<Check, String> {
    let destroyed = &report.scheduler.locking.threads_destroyed;
    if !destroyed.coverage.captured {
        return Err(format!(
            "nor were M exits: {}",
            destroyed.coverage.why_text()
        ));
    }
    if destroyed.threads == 0 {
        return Ok(Check::Clean);
    }
    Ok(Check::Findings(vec![finding(report, destroyed)]))
}

fn finding(report: &Report, d: &ThreadsDestroyedReport) -> Finding {
    let rate = rate(d.threads, report.duration_ns);
    let top = d
        .by_site
        .first()
        .map(|s| (Site::new(&s.function, &s.file, s.line), s.threads));
    let where_ = top
        .as_ref()
        .map_or("(site unknown)".to_string(), |(s, _)| s.function.clone());
    let site_part = match &top {
        Some((s, n)) => format!(
            "; {n} of the {} whose creation site is known were created at {}:{}",
            d.site_known, s.function, s.line
        ),
        None => "; their creation site is unknown (no runtime sample of them)".to_string(),
    };
    let (confidence, confidence_why) = confidence(d, top.is_some());
    Finding {
        id: RULE.id.to_string(),
        title: format!("Thread churn: goroutines from {where_} exit locked to their thread"),
        severity: severity(d.threads, rate),
        impact: (rate / 100.0).min(1.0),
        summary: format!(
            "{} threads were destroyed because their goroutine exited while locked with \
             runtime.LockOSThread ({rate:.1}/s; the runtime's M exits, one each){site_part}; \
             {} threads were created meanwhile",
            d.threads, report.threads.created
        ),
        site: top.map(|(s, _)| s),
        evidence: evidence(report, d, rate),
        confidence,
        confidence_why,
        fix: fix(&where_),
    }
}

/// Exact counts; the site, when named, rests on the samples unless every thread's is known.
fn confidence(d: &ThreadsDestroyedReport, names_site: bool) -> (Confidence, String) {
    let counts = "every M exit (mexit), thread exit and LockOSThread seen by goroscope's \
                  probes and the kernel's tracepoints";
    if names_site && d.site_known < d.threads {
        (
            Confidence::Sampled,
            format!(
                "{counts}; the creation site from the runtime's samples: known for {} of {} \
                 goroutines",
                d.site_known, d.threads
            ),
        )
    } else {
        (Confidence::Exact, counts.to_string())
    }
}

fn evidence(report: &Report, d: &ThreadsDestroyedReport, rate: f64) -> Vec<Evidence> {
    const SRC: &str = "scheduler.locking.threads_destroyed";
    let mut evidence = vec![
        Evidence::count(
            "threads destroyed with a goroutine exiting locked (M exits)",
            d.threads,
            &format!("{SRC}.threads"),
        ),
        Evidence::measure(
            "threads destroyed per second",
            (rate * 10.0).round() / 10.0,
            "per_second",
            &format!("{SRC}.threads / duration"),
        ),
        Evidence::count(
            "of which the thread's exit was seen",
            d.thread_exits,
            &format!("{SRC}.thread_exits"),
        ),
        Evidence::count(
            "of which the goroutine's LockOSThread was seen",
            d.lock_seen,
            &format!("{SRC}.lock_seen"),
        ),
    ];
    evidence.extend(super::lockthread::churn_context(report));
    for s in d.by_site.iter().take(3) {
        evidence.push(Evidence::site(
            &format!(
                "{} of the {} with a known site created at",
                s.threads, d.site_known
            ),
            Site::new(&s.function, &s.file, s.line),
        ));
    }
    for e in &d.examples {
        evidence.push(Evidence::Thread {
            tid: e.tid,
            m_id: Some(e.m_id),
            note: match e.goid {
                Some(goid) => format!("M exited after goroutine {goid}, locked to it, exited"),
                None => "M exited after its locked goroutine exited".to_string(),
            },
        });
    }
    evidence
}
