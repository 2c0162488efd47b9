//! Lock convoys: goroutines queueing on a `sync.Mutex` / `sync.RWMutex`. The runtime's own
//! total of the time goroutines spent blocked on them (`sched.totalMutexWaitTime`, Go 1.20+,
//! the "sync.Mutex and RWMutex wait" scalar of `runtime_metrics`) over the window gives the
//! average number of goroutines waiting for a lock; the last goroutine snapshot says who waits
//! where (wait reason `sync.Mutex.Lock`/`sync.RWMutex.*`, or on Go 1.19 `semacquire` with a
//! `sync.(*Mutex)` frame), and the innermost frame of the program's own code names the lock;
//! when that instant caught no waiter, the park stacks of `--level full`
//! (`scheduler.latency_by_stack`) name it.
//!
//! Severity from the average waiters: ≥ 0.5 warning, ≥ max(2, GOMAXPROCS) critical, ≥ 0.05
//! info; without the runtime's total (Go 1.19), ≥ 3 waiters in the last snapshot is a warning.
//! impact = min(1, average waiters (else the last snapshot's) / GOMAXPROCS).

use std::collections::BTreeMap;

use super::{share, Check, Confidence, Evidence, Finding, Rule, Severity, Site};
use crate::{LiveRow, Report};

pub const RULE: Rule = Rule {
    id: "lock_convoy",
    title: "Lock convoy (contended sync.Mutex / RWMutex)",
    check,
};

const METRIC: &str = "sync.Mutex and RWMutex wait";

/// Whether a live goroutine is caught in a sync mutex: parked on one, or — whatever state the
/// stream last saw (at `default` it misses the `goyield` of a starving mutex's hand-off) — its
/// stack saved in the last snapshot is inside `sync.(*Mutex)`/`(*RWMutex)` (woken and queued
/// for a P, or handing the lock over).
fn waits_on_mutex(row: &LiveRow) -> bool {
    let in_lock = row
        .stack
        .iter()
        .any(|f| f.contains("sync.(*Mutex)") || f.contains("sync.(*RWMutex)"));
    match row.wait_reason.as_deref() {
        Some(reason) => {
            reason.starts_with("sync.Mutex") || reason.starts_with("sync.RWMutex") || in_lock
        }
        None => in_lock,
    }
}

/// Inside `Lock`/`RLock` (not handing the lock over in `Unlock`): where the lock is taken.
fn in_lock_call(row: &LiveRow) -> bool {
    row.stack.iter().any(|f| {
        f.contains("Mutex).Lock") || f.contains("Mutex).lockSlow") || f.contains("Mutex).RLock")
    })
}

/// "function (file:line)" → a site.
fn parse_frame(frame: &str) -> Site {
    match frame.rsplit_once(" (") {
        Some((function, rest)) => {
            let rest = rest.trim_end_matches(')');
            match rest.rsplit_once(':') {
                Some((file, line)) => Site::new(function, file, line.parse().unwrap_or(0)),
                None => Site::new(function, rest, 0),
            }
        }
        None => Site::function(frame),
    }
}

/// The innermost frame outside the standard library: where the program takes the lock.
fn lock_site(row: &LiveRow) -> Option<&String> {
    program_frame(&row.stack)
}

/// The innermost frame ("function (file:line)") of the program's own code: a package path whose
/// first element has a dot, or `main`.
fn program_frame(frames: &[String]) -> Option<&String> {
    frames.iter().find(|f| {
        let function = f.split(" (").next().unwrap_or(f);
        let after_slash = function.rfind('/').map_or(0, |i| i + 1);
        let first = function[..after_slash + function[after_slash..].find('.').unwrap_or(0)]
            .split('/')
            .next()
            .unwrap_or("");
        first.contains('.') || first == "main"
    })
}

/// At `--level full`, the park stacks the runnable→running waits are charged to: the mutex
/// stack with the most wait, when the last snapshot caught no waiter.
fn from_park_stacks(report: &Report) -> Option<(&String, u64)> {
    report
        .scheduler
        .latency_by_stack
        .by_stack
        .iter()
        .filter(|s| {
            s.frames
                .iter()
                .any(|f| f.contains("sync.(*Mutex)") || f.contains("sync.(*RWMutex)"))
        })
        .max_by_key(|s| s.total_ns)
        .and_then(|s| Some((program_frame(&s.frames)?, s.count)))
}

fn check(report: &Report) -> Check {
    let metric = report.runtime_metrics.as_ref().and_then(|m| {
        let s = m.scalars.iter().find(|s| s.name == METRIC)?;
        Some((s.delta.max(0) as u64, m.to_ns.saturating_sub(m.from_ns)))
    });
    let snapshots = report.goroutines.snapshots.is_some();
    if metric.is_none() && !snapshots {
        return Check::NotCaptured(
            "neither the runtime's mutex wait total (Go 1.20+, runtime statistics) nor \
             goroutine snapshots are in the recording"
                .to_string(),
        );
    }
    let waiters: Vec<&LiveRow> = report
        .goroutines
        .live
        .iter()
        .filter(|r| waits_on_mutex(r))
        .collect();
    let gomaxprocs = super::gomaxprocs(report).unwrap_or(1).max(1) as f64;
    let average = metric.map(|(wait, window)| share(wait as f64, window as f64));
    let (severity, confidence, why) = match average {
        Some(avg) if avg >= gomaxprocs.max(2.0) => (Severity::Critical, Confidence::Sampled, ""),
        Some(avg) if avg >= 0.5 => (Severity::Warning, Confidence::Sampled, ""),
        Some(avg) if avg >= 0.05 => (Severity::Info, Confidence::Sampled, ""),
        Some(_) => return Check::Clean,
        None if waiters.len() >= 3 => (
            Severity::Warning,
            Confidence::Snapshot,
            " (no mutex wait total in this Go version)",
        ),
        None => return Check::Clean,
    };
    // Where they wait: the program's frame that called Lock, most waiters first.
    let mut by_site: BTreeMap<&str, u64> = BTreeMap::new();
    for w in waiters.iter().filter(|w| in_lock_call(w)) {
        if let Some(frame) = lock_site(w) {
            *by_site.entry(frame).or_default() += 1;
        }
    }
    let top = by_site
        .iter()
        .max_by_key(|(frame, n)| (**n, std::cmp::Reverse(**frame)))
        .map(|(f, n)| (*f, *n));
    let parked = if top.is_none() {
        from_park_stacks(report)
    } else {
        None
    };
    let mut evidence = Vec::new();
    if let (Some(avg), Some((wait, window))) = (average, metric) {
        evidence.push(Evidence::ns(
            "time goroutines spent blocked on sync.Mutex/RWMutex",
            wait,
            "runtime_metrics.scalars[\"sync.Mutex and RWMutex wait\"].delta",
        ));
        evidence.push(Evidence::ns(
            "over",
            window,
            "runtime_metrics.to_ns - from_ns",
        ));
        evidence.push(Evidence::measure(
            "goroutines waiting for a lock, on average",
            (avg * 100.0).round() / 100.0,
            "goroutines",
            "wait / window",
        ));
    }
    evidence.push(Evidence::count(
        "goroutines in sync.Mutex/RWMutex code in the last snapshot",
        waiters.len() as u64,
        "goroutines.live[].wait_reason",
    ));
    let site = match (top, parked) {
        (Some((frame, n)), _) => {
            evidence.push(Evidence::count(
                &format!("of which waiting at {frame}"),
                n,
                "goroutines.live[].stack",
            ));
            Some(parse_frame(frame))
        }
        (None, Some((frame, waits))) => {
            evidence.push(Evidence::count(
                &format!("runnable waits after parking on a mutex at {frame}"),
                waits,
                "scheduler.latency_by_stack.by_stack[].count",
            ));
            Some(parse_frame(frame))
        }
        (None, None) => None,
    };
    if let Some(w) = waiters
        .iter()
        .find(|w| top.is_some_and(|(f, _)| lock_site(w) == Some(&f.to_string())))
    {
        evidence.push(Evidence::stack("a waiter's stack", &w.stack));
        evidence.push(Evidence::site(
            "waiters created at",
            Site::new(&w.function, &w.file, w.line),
        ));
    }
    let where_ = site.as_ref().map_or(
        "(no waiter seen: record at --level full for park stacks)".to_string(),
        |s| s.function.clone(),
    );
    let summary = match average {
        Some(avg) => format!(
            "on average {avg:.2} goroutines were blocked on a sync.Mutex/RWMutex (GOMAXPROCS \
             {gomaxprocs:.0}); the most waiters at the end were at {where_}"
        ),
        None => format!(
            "{} goroutines were blocked on a sync.Mutex/RWMutex in the last snapshot{why}, most \
             at {where_}",
            waiters.len()
        ),
    };
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!("Lock convoy at {where_}"),
        severity,
        impact: (average.unwrap_or(waiters.len() as f64) / gomaxprocs).min(1.0),
        summary,
        site,
        evidence,
        confidence,
        confidence_why: match confidence {
            Confidence::Sampled => "the wait total is the runtime's own estimate (it times 1 \
                goroutine transition in 8 and scales up); who waits where is from the last \
                goroutine snapshot"
                .to_string(),
            _ => "from the last goroutine snapshot only: the waiters at one instant".to_string(),
        },
        fix: format!(
            "Goroutines queue on the lock taken at {where_}. Hold it for less time (compute \
             outside the critical section, only the shared update inside), split the protected \
             state (sharding by key, one mutex per shard), use sync.RWMutex if most holders only \
             read, or replace the shared counter/map with per-goroutine state merged at the end \
             or sync/atomic."
        ),
    }])
}
