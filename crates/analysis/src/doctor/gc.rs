//! Stop-the-world and GC pauses: the share of the traced time the world was stopped, the
//! longest pause and its reason (`scheduler.stop_the_world`), and the GC rate — cycles per
//! second and how many were forced by `runtime.GC()` (the runtime's `memstats.numgc` /
//! `numforcedgc` in `runtime_metrics`, else goroscope's `gcStart` calls).
//!
//! Severity: pauses ≥ 20% of the time, a pause ≥ 100 ms or ≥ 100 GC cycles a second,
//! critical; ≥ 5%, ≥ 10 ms or ≥ 20 cycles a second, warning; ≥ 1% or ≥ 5 cycles a second, info.
//! impact = max(pause share, min(1, cycles per second / 200)). A rate needs 5 cycles.

use super::{ms, share, Check, Confidence, Evidence, Finding, Rule, Severity, Site};
use crate::Report;

pub const RULE: Rule = Rule {
    id: "gc_pauses",
    title: "Stop-the-world and GC pauses",
    check,
};

fn scalar(report: &Report, name: &str) -> Option<u64> {
    let m = report.runtime_metrics.as_ref()?;
    let s = m.scalars.iter().find(|s| s.name == name)?;
    Some(s.delta.max(0) as u64)
}

fn check(report: &Report) -> Check {
    let stw = &report.scheduler.stop_the_world;
    let have_stw = stw.coverage.captured;
    let window_ns = report
        .runtime_metrics
        .as_ref()
        .map(|m| m.to_ns.saturating_sub(m.from_ns))
        .filter(|&w| w > 0);
    let runtime_cycles = scalar(report, "/gc/cycles/total:gc-cycles").zip(window_ns);
    if !have_stw && runtime_cycles.is_none() {
        return Check::NotCaptured(format!(
            "stop-the-world pauses were not captured ({}) and the recording has no runtime \
             statistics",
            stw.coverage.why_text()
        ));
    }
    let (cycles, over_ns, cycles_source) = match runtime_cycles {
        Some((c, w)) => (c, w, "runtime_metrics /gc/cycles/total:gc-cycles delta"),
        None => (
            stw.gc.cycles,
            report.duration_ns,
            "scheduler.stop_the_world.gc.cycles",
        ),
    };
    let forced = scalar(report, "/gc/cycles/forced:gc-cycles")
        .filter(|_| runtime_cycles.is_some())
        .unwrap_or(stw.gc.gc_start_calls.cycle.min(cycles));
    // A rate needs a few cycles to mean anything (a short trace with one cycle is not 100/s).
    let rate = if cycles >= 5 {
        share(cycles as f64, over_ns as f64 / 1e9)
    } else {
        0.0
    };
    let pause_share = if have_stw {
        share(stw.total_ns as f64, report.duration_ns as f64)
    } else {
        0.0
    };
    let max = if have_stw { stw.max_ns } else { 0 };
    let severity = if pause_share >= 0.20 || max >= 100_000_000 || rate >= 100.0 {
        Severity::Critical
    } else if pause_share >= 0.05 || max >= 10_000_000 || rate >= 20.0 {
        Severity::Warning
    } else if pause_share >= 0.01 || rate >= 5.0 {
        Severity::Info
    } else {
        return Check::Clean;
    };
    let mut evidence = vec![
        Evidence::count("GC cycles", cycles, cycles_source),
        Evidence::measure(
            "GC cycles per second",
            (rate * 10.0).round() / 10.0,
            "per_second",
            "cycles / window",
        ),
        Evidence::count(
            "forced by runtime.GC()",
            forced,
            "runtime_metrics /gc/cycles/forced:gc-cycles delta",
        ),
    ];
    if have_stw {
        evidence.push(Evidence::count(
            "stop-the-world pauses",
            stw.count,
            "scheduler.stop_the_world.count",
        ));
        evidence.push(Evidence::ns(
            "time stopped",
            stw.total_ns,
            "scheduler.stop_the_world.total_ns",
        ));
        evidence.push(Evidence::percent(
            "of the traced time",
            pause_share * 100.0,
            "total_ns / duration_ns",
        ));
        evidence.push(Evidence::ns(
            "longest pause",
            stw.max_ns,
            "scheduler.stop_the_world.max_ns",
        ));
        for r in stw.by_reason.iter().take(3) {
            evidence.push(Evidence::ns(
                &format!("pauses for {} ({}×)", r.reason, r.count),
                r.total_ns,
                "scheduler.stop_the_world.by_reason[].total_ns",
            ));
        }
    }
    // How much of the goroutines' runnable→running wait the pauses caused.
    evidence.extend(super::attributed(report, "stw"));
    let mostly_forced = forced * 2 >= cycles && forced > 0;
    let summary = format!(
        "{cycles} GC cycles in {} ({rate:.0}/s, {forced} forced by runtime.GC()){}",
        ms(over_ns),
        if have_stw {
            format!(
                "; the world was stopped {} ({:.1}% of the time), longest pause {}",
                ms(stw.total_ns),
                pause_share * 100.0,
                ms(stw.max_ns)
            )
        } else {
            String::new()
        }
    );
    let fix = if mostly_forced {
        "Most cycles are forced: find the runtime.GC() (or debug.FreeOSMemory) calls in a loop or \
         on a hot path and remove them — the runtime schedules collections by itself; if memory \
         must be returned to the OS, set GOMEMLIMIT instead."
            .to_string()
    } else {
        "The heap grows fast enough to collect this often: allocate less on the hot paths \
         (reuse buffers, sync.Pool, avoid per-request maps/slices; `go tool pprof -sample_index=\
         alloc_space`), or trade memory for fewer cycles with a higher GOGC or a GOMEMLIMIT."
            .to_string()
    };
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: if mostly_forced {
            format!("Forced GC: {rate:.0} cycles a second from runtime.GC()")
        } else {
            format!("GC and stop-the-world pauses: {rate:.0} cycles a second")
        },
        severity,
        impact: pause_share.max((rate / 200.0).min(1.0)),
        summary,
        site: mostly_forced.then(|| Site::function("runtime.GC")),
        evidence,
        confidence: Confidence::Exact,
        confidence_why: "every pause seen by goroscope's probes on stopTheWorld/startTheWorld; \
                         GC cycles from the runtime's own counters"
            .into(),
        fix,
    }])
}
