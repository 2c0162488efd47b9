//! CPU-bound goroutines starving others: goroutines that run for tens of milliseconds without
//! reaching a scheduling point, until sysmon asks (after 10 ms) and a SIGURG preempts them
//! asynchronously (`scheduler.preemption.time_slices.top_goroutines`: longest slice, async
//! preemptions), and the wait the other goroutines had meanwhile (`sched_latency`, and the
//! runtime's own `/sched/latencies:seconds`).
//!
//! A hog: a goroutine outside the runtime with a slice ≥ 20 ms and ≥ 3 async preemptions.
//! Severity: with others waiting (runnable→running p99 ≥ 5 ms or max ≥ 10 ms), warning —
//! critical with ≥ 20 async preemptions and p99 ≥ 10 ms; without, info.
//! impact = the hog's running time / (traced time × GOMAXPROCS).
//!
//! Without time slices (the default level) the rule reads sysmon's requests instead:
//! [`super::hog_default`].

use super::{ms, share, Check, Evidence, Finding, Rule, Severity, Site};
use crate::Report;

pub const RULE: Rule = Rule {
    id: "cpu_hog",
    title: "CPU-bound goroutine starving others",
    check,
};

const LONG_SLICE_NS: u64 = 20_000_000;
const MIN_ASYNC: u64 = 3;

fn check(report: &Report) -> Check {
    let slices = &report.scheduler.preemption.time_slices;
    if slices.coverage.captured {
        return from_slices(report);
    }
    super::hog_default::check(report).unwrap_or_else(|why| {
        Check::NotCaptured(format!(
            "time slices were not captured: {}; {why}",
            slices.coverage.why_text()
        ))
    })
}

/// The full level: every time slice and async preemption.
fn from_slices(report: &Report) -> Check {
    let slices = &report.scheduler.preemption.time_slices;
    let Some(hog) = slices
        .top_goroutines
        .iter()
        .filter(|g| !super::is_runtime(&g.function))
        .filter(|g| g.max_slice_ns >= LONG_SLICE_NS && g.async_preemptions >= MIN_ASYNC)
        .max_by_key(|g| (g.async_preemptions, g.max_slice_ns))
    else {
        return Check::Clean;
    };
    // A goroutine created before the trace has no start function in the slices: the last
    // goroutine snapshot knows it, and where it was created.
    let live = report.goroutines.live.iter().find(|r| r.goid == hog.goid);
    let function = match (
        hog.function.as_str(),
        live.and_then(|r| r.start_function.as_deref()),
    ) {
        ("(unknown)", Some(start)) => start.to_string(),
        (f, _) => f.to_string(),
    };
    let lat = &report.sched_latency;
    let waited = lat.coverage.captured && (lat.p99_ns >= 5_000_000 || lat.max_ns >= 10_000_000);
    let severity = severity(waited, hog.async_preemptions, lat.p99_ns);
    let gomaxprocs = super::gomaxprocs(report).unwrap_or(1).max(1);
    let impact = share(
        hog.running_ns as f64,
        report.duration_ns as f64 * f64::from(gomaxprocs),
    )
    .min(1.0);
    let mut evidence = vec![
        Evidence::site("runs", Site::function(&function)),
        Evidence::count("goroutine", hog.goid, "time_slices.top_goroutines[].goid"),
        Evidence::ns(
            "longest run without stopping",
            hog.max_slice_ns,
            "time_slices.top_goroutines[].max_slice_ns",
        ),
        Evidence::ns(
            "running time",
            hog.running_ns,
            "time_slices.top_goroutines[].running_ns",
        ),
        Evidence::count(
            "async preemptions (SIGURG)",
            hog.async_preemptions,
            "time_slices.top_goroutines[].async_preemptions",
        ),
        Evidence::count(
            "sysmon preemption requests",
            hog.sysmon_requests,
            "time_slices.top_goroutines[].sysmon_requests",
        ),
    ];
    if let Some(row) = live.filter(|r| !r.function.is_empty() && r.line != 0) {
        evidence.push(Evidence::site(
            "created at",
            Site::new(&row.function, &row.file, row.line),
        ));
    }
    if lat.coverage.captured {
        evidence.push(Evidence::ns(
            "others' runnable→running wait, p99",
            lat.p99_ns,
            "sched_latency.p99_ns",
        ));
        evidence.push(Evidence::ns(
            "others' runnable→running wait, max",
            lat.max_ns,
            "sched_latency.max_ns",
        ));
    }
    evidence.extend(super::runtime_latency_p99(report));
    // How much of the others' runnable→running wait found every P busy, and who held them.
    evidence.extend(super::attributed(report, "ps_busy"));
    let conf = super::exact_unless_sampled(
        report,
        goroscope_events::Fact::GoroutineScheduling,
        "every time slice and async preemption seen by goroscope's probes \
                         (execute, asyncPreempt2, preemptone)",
    );
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: format!(
            "CPU hog: {} runs {} without yielding",
            function,
            ms(hog.max_slice_ns)
        ),
        severity,
        impact,
        summary: format!(
            "goroutine {} ({}) ran up to {} at a time and was preempted by signal {} times; \
             meanwhile runnable goroutines waited up to {} (p99 {}) at GOMAXPROCS {gomaxprocs}",
            hog.goid,
            function,
            ms(hog.max_slice_ns),
            hog.async_preemptions,
            ms(lat.max_ns),
            ms(lat.p99_ns)
        ),
        site: Some(Site::function(&function)),
        evidence,
        confidence: conf.0,
        confidence_why: conf.1,
        fix: fix(&function),
    }])
}

/// Warning when others waited; critical when they waited long and the hog was stopped by
/// force often (`stops`: async preemptions, or sysmon's requests at the default level).
pub(super) fn severity(others_waited: bool, stops: u64, others_p99_ns: u64) -> Severity {
    match others_waited {
        true if stops >= 20 && others_p99_ns >= 10_000_000 => Severity::Critical,
        true => Severity::Warning,
        false => Severity::Info,
    }
}

pub(super) fn fix(function: &str) -> String {
    format!(
        "{function} computes for tens of milliseconds between scheduling points, and only \
         sysmon's signal (every 10–20 ms) lets the others run. Break the work into chunks and \
         call runtime.Gosched() between them (or hand chunks to a channel), move the batch work \
         to its own process or lower its concurrency below GOMAXPROCS so latency-sensitive \
         goroutines always find a free P; a larger GOMAXPROCS (when CPUs allow) also helps."
    )
}
