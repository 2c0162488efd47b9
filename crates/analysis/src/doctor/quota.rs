//! GOMAXPROCS above the CPU quota: more Ps than the cgroup's `cpu.max` lets run, so the threads
//! burn the period's quota early and the cgroup is throttled (every goroutine then stops until
//! the next period). Evidence: GOMAXPROCS (`scheduler.gomaxprocs`), the quota and the cgroup's
//! throttled periods and time over the recording (`cpu.stat`).
//!
//! Severity: over the quota and throttled in ≥ 25% of the periods, critical; over it (a
//! misconfiguration whether or not this recording caught the program busy enough to be
//! throttled: on a loaded machine it may not get even its quota), or throttled in ≥ 10% of the
//! periods while not over it, warning.
//! impact = max(throttled periods / periods, 1 − quota / GOMAXPROCS: the share of the Ps the
//! quota cannot back).

use super::{share, Check, Confidence, Evidence, Finding, Rule, Severity};
use crate::Report;

pub const RULE: Rule = Rule {
    id: "gomaxprocs_over_quota",
    title: "GOMAXPROCS above the CPU quota (cgroup throttling)",
    check,
};

fn check(report: &Report) -> Check {
    let procs = &report.scheduler.gomaxprocs;
    let Some(limit) = &procs.cpu_limit else {
        return Check::NotCaptured("the recording holds no CPU limit (cgroup, affinity)".into());
    };
    let Some(quota) = limit.limit.quota_cpus else {
        return Check::Clean; // no quota: nothing to be over
    };
    // The highest value: a program over its quota part of the time is throttled then.
    let Some(gomaxprocs) = procs.max.or_else(|| super::gomaxprocs(report)) else {
        return Check::NotCaptured("GOMAXPROCS was not captured".into());
    };
    let over = procs
        .over_quota
        .unwrap_or(f64::from(gomaxprocs) > quota.ceil());
    let throttled = limit.throttled.as_ref();
    let (periods, throttled_periods, throttled_us) = throttled.map_or((0, 0, 0), |t| {
        (t.periods, t.throttled_periods, t.throttled_us)
    });
    let ratio = share(throttled_periods as f64, periods as f64);
    let severity = match over {
        true if ratio >= 0.25 => Severity::Critical,
        true => Severity::Warning,
        false if ratio >= 0.10 => Severity::Warning,
        false => return Check::Clean,
    };
    let unbacked = (1.0 - quota / f64::from(gomaxprocs)).max(0.0);
    let fit = (quota.floor() as i64).max(1);
    let mut evidence = vec![
        Evidence::count("GOMAXPROCS", gomaxprocs as u64, "scheduler.gomaxprocs.max"),
        Evidence::measure(
            "CPU quota",
            quota,
            "cpus",
            "scheduler.gomaxprocs.cpu_limit.quota_cpus",
        ),
    ];
    if let Some(cgroup) = &limit.limit.cgroup {
        evidence.push(Evidence::Stack {
            role: "cgroup".into(),
            frames: vec![cgroup.clone()],
        });
    }
    match throttled {
        Some(_) => {
            evidence.push(Evidence::count(
                "throttled periods",
                throttled_periods,
                "scheduler.gomaxprocs.cpu_limit.throttled.throttled_periods",
            ));
            evidence.push(Evidence::count(
                "periods",
                periods,
                "scheduler.gomaxprocs.cpu_limit.throttled.periods",
            ));
            evidence.push(Evidence::percent(
                "periods throttled",
                ratio * 100.0,
                "throttled_periods / periods",
            ));
            evidence.push(Evidence::ns(
                "time throttled",
                throttled_us * 1000,
                "scheduler.gomaxprocs.cpu_limit.throttled.throttled_us",
            ));
        }
        None => evidence.push(Evidence::Stack {
            role: "throttling".into(),
            frames: vec!["not recorded (no cpu.stat)".into()],
        }),
    }
    // How much of the goroutines' runnable→running wait their threads spent throttled or
    // queued in the kernel.
    evidence.extend(super::attributed(report, "kernel"));
    let summary = if over {
        format!(
            "GOMAXPROCS is {gomaxprocs} but the cgroup's quota is {quota} CPUs: the cgroup was \
             throttled in {throttled_periods} of {periods} periods ({:.0}%), {:.0} ms in all",
            ratio * 100.0,
            throttled_us as f64 / 1e3
        )
    } else {
        format!(
            "the cgroup's quota of {quota} CPUs throttled the program in {throttled_periods} of \
             {periods} periods ({:.0}%) with GOMAXPROCS {gomaxprocs}",
            ratio * 100.0
        )
    };
    let fix = if over {
        format!(
            "Set GOMAXPROCS to the quota, rounded down ({fit}): Go 1.25+ does it by itself \
             unless GOMAXPROCS is set in the environment or by runtime.GOMAXPROCS (remove that \
             override); before Go 1.25 set GOMAXPROCS={fit} in the environment or call \
             runtime.GOMAXPROCS({fit}) at start-up (go.uber.org/automaxprocs does it from the \
             cgroup). Or raise the quota (cpu.max / the container's CPU limit) to GOMAXPROCS."
        )
    } else {
        "The program needs more CPU than its quota: raise the quota (cpu.max / the container's \
         CPU limit) or reduce the work (profile with pprof)."
            .to_string()
    };
    Check::Findings(vec![Finding {
        id: RULE.id.to_string(),
        title: if over {
            format!("GOMAXPROCS {gomaxprocs} above the CPU quota of {quota} CPUs")
        } else {
            format!("CPU quota of {quota} CPUs throttles the program")
        },
        severity,
        impact: ratio.max(unbacked).min(1.0),
        summary,
        site: None,
        evidence,
        confidence: Confidence::Exact,
        confidence_why: "the kernel's own cpu.stat counters of the cgroup, read at the start and \
                         the end of the recording; GOMAXPROCS from the runtime"
            .into(),
        fix,
    }])
}
