//! Goroutine leaks: goroutines blocked at one creation site whose number keeps growing while
//! goroscope watches (the goroutine snapshots' history of the site), with how long they have
//! been blocked, where, on what, and the stack of the oldest.
//!
//! A worker pool waiting for work looks the same at one instant; what tells a leak is growth.
//! Growth = the group's count at the last snapshot minus its count at the snapshot halfway
//! through the history (so a pool that filled up at start-up does not count): at least
//! [`MIN_GROWTH`] and 10% of the count. Without growth, a very large group blocked for long is
//! an `info` ("a leak that stopped, or a huge pool"). Runtime sites are left out.
//! impact = min(1, count / 10,000) for growing groups, 0 otherwise.

use goroscope_events::{Capability, Fact};

use super::{ms, Check, Confidence, Evidence, Finding, Rule, Severity, Site};
use crate::{LeakRow, Report};

pub const RULE: Rule = Rule {
    id: "goroutine_leak",
    title: "Goroutine leak",
    check,
};

/// Fewest goroutines a site must gain in the second half of the history to be "growing".
const MIN_GROWTH: u64 = 5;
/// A non-growing group this large and blocked this long is still worth an info.
const BIG_STUCK_GROUP: u64 = 1000;
const LONG_BLOCKED_NS: u64 = 60_000_000_000;
/// At most this many sites are reported.
const MAX_FINDINGS: usize = 3;

fn check(report: &Report) -> Check {
    let g = &report.goroutines;
    let snapshots =
        report.capture.get(Fact::GoroutineStates) != Capability::Absent && g.snapshots.is_some();
    if !snapshots {
        return Check::NotCaptured(
            "no goroutine snapshots in the recording: a leak is told by the growth of blocked \
             goroutines between snapshots (record with --snapshot-interval above 0)"
                .to_string(),
        );
    }
    let snapshot_count = g.snapshots.as_ref().map_or(0, |s| s.count);
    let mut found: Vec<Finding> = g
        .leaked
        .iter()
        .filter(|row| !super::is_runtime(&row.function))
        .filter(|row| !row.start_function.as_deref().is_some_and(super::is_runtime))
        .filter_map(|row| finding(row, snapshot_count))
        .collect();
    found.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.impact.total_cmp(&a.impact))
    });
    found.truncate(MAX_FINDINGS);
    Check::Findings(found)
}

/// (count at the middle of the history, at the end, time between them in ns).
fn growth(row: &LeakRow) -> Option<(u64, u64, u64)> {
    let (first, last) = (row.history.first()?, row.history.last()?);
    if row.history.len() < 3 {
        return None;
    }
    // The snapshot closest to halfway in time between the first and the last.
    let half = first.at_ns + (last.at_ns - first.at_ns) / 2;
    let mid = row
        .history
        .iter()
        .min_by_key(|p| p.at_ns.abs_diff(half))
        .unwrap_or(first);
    Some((mid.count, last.count, last.at_ns.saturating_sub(mid.at_ns)))
}

fn finding(row: &LeakRow, snapshots: u64) -> Option<Finding> {
    let site = Site::new(&row.function, &row.file, row.line);
    let (severity, impact, summary) = match growth(row) {
        // Growing, and (when the ages are known) blocked for good: the oldest has waited at
        // least since the middle snapshot (a busy lock's waiters come and go within ms).
        Some((mid, last, dt))
            if last >= mid + MIN_GROWTH.max(last / 10)
                && row.oldest_blocked_ns.is_none_or(|age| age >= dt) =>
        {
            let gained = last - mid;
            let rate = gained as f64 / (dt as f64 / 1e9).max(1e-3);
            let severity = if last >= 10_000 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            (
                severity,
                (last as f64 / 10_000.0).min(1.0),
                format!(
                    "{} goroutines created at {} are blocked on {} and their number grows: +{} in \
                     the last {} ({:.0}/s)",
                    row.count,
                    row.function,
                    row.wait_reason,
                    gained,
                    ms(dt),
                    rate
                ),
            )
        }
        _ if row.count >= BIG_STUCK_GROUP
            && row.oldest_blocked_ns.unwrap_or(0) >= LONG_BLOCKED_NS =>
        {
            (
                Severity::Info,
                0.0,
                format!(
                    "{} goroutines created at {} have been blocked on {} for up to {} (not growing \
                     while watched)",
                    row.count,
                    row.function,
                    row.wait_reason,
                    ms(row.oldest_blocked_ns.unwrap_or(0))
                ),
            )
        }
        _ => return None,
    };
    let mut evidence = vec![
        Evidence::count(
            "goroutines blocked at the end",
            row.count,
            "goroutines.leaked[].count",
        ),
        Evidence::site("created at", site.clone()),
    ];
    if !row.history.is_empty() {
        evidence.push(Evidence::Series {
            what: "blocked goroutines per snapshot".to_string(),
            points: row.history.clone(),
            source: "goroutines.leaked[].history".to_string(),
        });
    }
    if let Some(oldest) = row.oldest_blocked_ns {
        evidence.push(Evidence::ns(
            "blocked for (oldest)",
            oldest,
            "goroutines.leaked[].oldest_blocked_ns",
        ));
    }
    if let Some(median) = row.median_blocked_ns {
        evidence.push(Evidence::ns(
            "blocked for (median)",
            median,
            "goroutines.leaked[].median_blocked_ns",
        ));
    }
    if let Some(start) = &row.start_function {
        evidence.push(Evidence::site("started as", Site::function(start)));
    }
    if let Some(at) = &row.blocked_at {
        evidence.push(Evidence::stack("blocked at", std::slice::from_ref(at)));
    }
    let blocked_on = row.blocked_at.as_deref().unwrap_or(&row.function);
    Some(Finding {
        id: RULE.id.to_string(),
        title: format!("Goroutine leak: {} at {}", row.wait_reason, row.function),
        severity,
        impact,
        summary,
        site: Some(site),
        evidence,
        confidence: Confidence::Snapshot,
        confidence_why: format!(
            "counted in {snapshots} goroutine snapshots read from the runtime's memory \
             (runtime.allgs); ages from the runtime's g.waitsince or the park goroscope saw"
        ),
        fix: format!(
            "Each goroutine started at {}:{} ends up blocked on {} at {} with nobody to wake it. \
             Make sure every path gives it a way out: a buffered channel of size 1 for a result \
             nobody may read (`make(chan T, 1)`), or a select on ctx.Done() / a done channel \
             next to the blocking operation, and cancel the context when the caller gives up \
             (timeout, error return).",
            row.file, row.line, row.wait_reason, blocked_on
        ),
    })
}
