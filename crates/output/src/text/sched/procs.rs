//! GOMAXPROCS over the recording beside the process's CPU limit (cgroup quota, cpuset,
//! affinity) and throttling, with a warning when GOMAXPROCS exceeds what the process may use.

use std::fmt::Write as _;

use goroscope_analysis::sched::procs::ProcsReport;

use crate::format::{duration, head, heading_not_captured, more_rows};

pub fn render(r: &ProcsReport, out: &mut String) -> std::fmt::Result {
    if heading_not_captured(out, "GOMAXPROCS", &r.coverage)? && r.cpu_limit.is_none() {
        return Ok(());
    }
    let value = |v: Option<i32>| v.map_or("unknown".to_string(), |v| v.to_string());
    if r.coverage.captured {
        writeln!(
            out,
            "\nGOMAXPROCS: {} at start (from {}), {} at end, {} change{}",
            value(r.initial),
            r.initial_source,
            value(r.last),
            r.times_changed,
            if r.times_changed == 1 { "" } else { "s" }
        )?;
    }
    if let Some(l) = &r.cpu_limit {
        let quota = l
            .quota_cpus
            .map_or("no quota".to_string(), |q| format!("quota {q:.2} CPUs"));
        let cpus = r
            .usable_cpus
            .map_or("unknown".to_string(), |c| c.to_string());
        writeln!(
            out,
            "  CPU limit    {quota}, {cpus} usable CPUs of {} online{}",
            l.online_cpus,
            l.cgroup
                .as_deref()
                .map_or(String::new(), |c| format!(", cgroup {c}"))
        )?;
        if let Some(t) = &l.throttled {
            writeln!(
                out,
                "  throttled    {} of {} periods, {} in total",
                t.throttled_periods,
                t.periods,
                duration(t.throttled_us.saturating_mul(1_000))
            )?;
        }
    }
    if r.over_quota == Some(true) {
        writeln!(
            out,
            "  warning      GOMAXPROCS {} exceeds the CPU quota: the process can be throttled (set GOMAXPROCS to the quota)",
            value(r.max)
        )?;
    }
    if r.over_cpus == Some(true) {
        writeln!(
            out,
            "  note         GOMAXPROCS {} exceeds the {} CPUs the process may run on",
            value(r.max),
            value(r.usable_cpus.and_then(|c| i32::try_from(c).ok()))
        )?;
    }
    if r.changes.len() > 1 {
        writeln!(out, "  {:>12} {:>10}", "AT", "GOMAXPROCS")?;
        for c in head(&r.changes) {
            writeln!(out, "  {:>12} {:>10}", duration(c.at_ns), c.nprocs)?;
        }
        more_rows(out, &r.changes)?;
    }
    Ok(())
}
