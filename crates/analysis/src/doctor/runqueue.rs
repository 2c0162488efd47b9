//! Run-queue pile-ups and imbalance: goroutines made runnable faster than the Ps run them — a
//! long global run queue (a burst of `go` statements overflows the Ps' 256-slot local queues),
//! work concentrated on one P while another idles, Ms spinning for work. Evidence: the
//! scheduler's own counters sampled from memory every 10 ms (`scheduler.idle.samples`:
//! `sched.runqsize`, `npidle`, `nmspinning`), the Ps' busy time (`scheduler.idle.ps.per_p`), the
//! runnable→running wait, and the creation site that started the most goroutines.
//!
//! Signals: the global queue held ≥ 2 × GOMAXPROCS goroutines on average or ≥ 256 at its
//! peak; Ps' busy shares ≥ 60 points apart with runnable→running p99 ≥ 1 ms. Either with p99
//! ≥ 10 ms is a warning (≥ 100 ms critical), else info. Ms spinning ≥ 0.5 on average alone is
//! an info. impact = min(1, global queue mean / (10 × GOMAXPROCS)) or the busy gap.

use super::{ms, Check, Confidence, Evidence, Finding, Rule, Severity, Site};
use crate::Report;

pub const RULE: Rule = Rule {
    id: "runqueue_pileup",
    title: "Run-queue pile-up or imbalance",
    check,
};

fn check(report: &Report) -> Check {
    let samples = &report.scheduler.idle.samples;
    if !samples.coverage.captured || samples.count == 0 {
        return Check::NotCaptured(format!(
            "the scheduler's counters were not sampled: {}",
            samples.coverage.why_text()
        ));
    }
    let gomaxprocs = f64::from(super::gomaxprocs(report).unwrap_or(1).max(1));
    let lat = &report.sched_latency;
    let p99 = if lat.coverage.captured { lat.p99_ns } else { 0 };
    let global = samples.global_runq.mean >= 2.0 * gomaxprocs || samples.global_runq.max >= 256;
    let per_p = &report.scheduler.idle.ps.per_p;
    let busy = |f: fn(f64, f64) -> f64, init: f64| {
        per_p
            .iter()
            .filter(|p| p.counted_ns > 0)
            .map(|p| p.busy_percent)
            .fold(init, f)
    };
    let (most, least) = (busy(f64::max, 0.0), busy(f64::min, 100.0));
    let gap = if per_p.len() >= 2 { most - least } else { 0.0 };
    let imbalance = gap >= 60.0 && p99 >= 1_000_000;
    let spinning = samples.nmspinning.mean >= 0.5;
    if !global && !imbalance && !spinning {
        return Check::Clean;
    }
    let severity = if !(global || imbalance) {
        Severity::Info
    } else if p99 >= 100_000_000 {
        Severity::Critical
    } else if p99 >= 10_000_000 {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut evidence = vec![
        Evidence::measure(
            "goroutines in the global run queue, on average",
            (samples.global_runq.mean * 10.0).round() / 10.0,
            "goroutines",
            "scheduler.idle.samples.global_runq.mean",
        ),
        Evidence::count(
            "… at most",
            samples.global_runq.max.max(0) as u64,
            "scheduler.idle.samples.global_runq.max",
        ),
        Evidence::measure(
            "idle Ps, on average",
            (samples.npidle.mean * 10.0).round() / 10.0,
            "count",
            "scheduler.idle.samples.npidle.mean",
        ),
        Evidence::measure(
            "spinning Ms, on average",
            (samples.nmspinning.mean * 10.0).round() / 10.0,
            "count",
            "scheduler.idle.samples.nmspinning.mean",
        ),
        Evidence::count(
            "counter samples",
            samples.count,
            "scheduler.idle.samples.count",
        ),
    ];
    if lat.coverage.captured {
        evidence.push(Evidence::ns(
            "runnable→running wait, p99",
            lat.p99_ns,
            "sched_latency.p99_ns",
        ));
        evidence.push(Evidence::ns(
            "runnable→running wait, max",
            lat.max_ns,
            "sched_latency.max_ns",
        ));
    }
    for p in per_p.iter().filter(|p| p.counted_ns > 0) {
        evidence.push(Evidence::percent(
            &format!("P{} busy", p.p_id),
            p.busy_percent,
            "scheduler.idle.ps.per_p[].busy_percent",
        ));
    }
    // Who makes the goroutines: the site that created the most.
    let site = report
        .goroutines
        .by_creation_site
        .iter()
        .filter(|s| s.created > 0 && !super::is_runtime(&s.function) && s.line != 0)
        .max_by_key(|s| s.created)
        .map(|s| {
            evidence.push(Evidence::count(
                &format!("goroutines created at {}", s.function),
                s.created,
                "goroutines.by_creation_site[].created",
            ));
            Site::new(&s.function, &s.file, s.line)
        })
        .filter(|_| global);
    let (title, fix) = if global {
        (
            format!(
                "Run-queue pile-up: {:.0} goroutines wait in the global queue on average",
                samples.global_runq.mean
            ),
            format!(
                "Goroutines are made runnable in bursts faster than {gomaxprocs:.0} Ps run them, \
                 overflowing the local queues into the global one{}. Bound the concurrency: a \
                 worker pool of about GOMAXPROCS goroutines fed by a channel instead of a `go` \
                 per item, or a semaphore around the `go` statement; batch small items.",
                site.as_ref().map_or(String::new(), |s| format!(
                    " (the `go` statement at {}:{})",
                    s.file, s.line
                ))
            ),
        )
    } else if imbalance {
        (
            format!("Work concentrated on one P: busy {most:.0}% vs {least:.0}%"),
            "One P runs most goroutines while another idles and runnable goroutines wait: \
             chains of goroutines that wake each other stay on one P (runnext). Give the work \
             independent goroutines (a pool reading one channel) so idle Ps can steal it."
                .to_string(),
        )
    } else {
        (
            format!(
                "Spinning Ms: {:.1} Ms looking for work on average",
                samples.nmspinning.mean
            ),
            "Threads spin looking for work that arrives in small pieces: batch the work handed \
             to goroutines, or lower GOMAXPROCS if the CPUs are needed elsewhere."
                .to_string(),
        )
    };
    let impact = if global {
        (samples.global_runq.mean / (10.0 * gomaxprocs)).min(1.0)
    } else {
        gap / 100.0
    };
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title,
        severity,
        impact,
        summary: format!(
            "global run queue {:.1} on average (max {}), {:.1} idle Ps and {:.1} spinning Ms on \
             average at GOMAXPROCS {gomaxprocs:.0}; runnable goroutines waited p99 {}",
            samples.global_runq.mean,
            samples.global_runq.max,
            samples.npidle.mean,
            samples.nmspinning.mean,
            ms(p99)
        ),
        site,
        evidence,
        confidence: Confidence::Sampled,
        confidence_why: format!(
            "the scheduler's counters read from memory {} times (every 10 ms); waits and P busy \
             time from every event",
            samples.count
        ),
        fix,
    }])
}
