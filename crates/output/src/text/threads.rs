//! Threads of the target, busiest on-CPU first: on/off CPU time and context switches from
//! `sched_switch`, the M and goroutine on each at the end.

use std::fmt::Write as _;

use goroscope_analysis::ThreadReport;

use crate::format::{duration, head, more_rows, not_captured};

pub fn render(t: &ThreadReport, out: &mut String) -> std::fmt::Result {
    let rows = &t.per_thread;
    if !t.cpu.captured {
        return render_without_cpu(t, out);
    }
    writeln!(
        out,
        "\nThreads (on/off CPU from sched_switch; involuntary = preempted)"
    )?;
    writeln!(
        out,
        "  {:>8} {:>5} {:>11} {:>11} {:>7} {:>7} {:>8}  STATE",
        "TID", "M", "ON-CPU", "OFF-CPU", "INVOL", "VOL", "GOID"
    )?;
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by_key(|t| std::cmp::Reverse(t.on_cpu_ns));
    for t in head(&sorted) {
        let m = t.m_id.map_or("-".to_string(), |m| m.to_string());
        let goid = t.goid_at_end.map_or("-".to_string(), |g| g.to_string());
        let state = if t.exited {
            format!("{}, exited", t.origin)
        } else {
            t.origin.clone()
        };
        writeln!(
            out,
            "  {:>8} {:>5} {:>11} {:>11} {:>7} {:>7} {:>8}  {state}",
            t.tid,
            m,
            duration(t.on_cpu_ns),
            duration(t.off_cpu_ns),
            t.involuntary_switches,
            t.voluntary_switches,
            goid
        )?;
    }
    more_rows(out, rows)?;
    if t.inferred_switch_ins > 0 {
        writeln!(
            out,
            "  {} switch-ins inferred (a thread ran with no sched_switch to it reported)",
            t.inferred_switch_ins
        )?;
    }
    Ok(())
}

/// The threads when context switches were not captured: which M each ran, not when.
fn render_without_cpu(t: &ThreadReport, out: &mut String) -> std::fmt::Result {
    let rows = &t.per_thread;
    writeln!(out, "\nThreads")?;
    not_captured(out, "  on/off CPU, context switches, wake-ups: ", &t.cpu)?;
    writeln!(out, "  {:>8} {:>5}  STATE", "TID", "M")?;
    for t in head(rows) {
        let m = t.m_id.map_or("-".to_string(), |m| m.to_string());
        let state = if t.exited {
            format!("{}, exited", t.origin)
        } else {
            t.origin.clone()
        };
        writeln!(out, "  {:>8} {:>5}  {state}", t.tid, m)?;
    }
    more_rows(out, rows)
}
