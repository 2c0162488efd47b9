//! Stop-the-world pauses: totals, GC cycles, pauses by reason and the longest ones.

use std::fmt::Write as _;

use goroscope_analysis::sched::stw::StwReport;

use crate::format::{duration, head, heading_not_captured, more_rows};

/// Longest pauses listed.
const LONGEST: usize = 10;

pub fn render(r: &StwReport, out: &mut String) -> std::fmt::Result {
    let title = "Stop-the-world pauses";
    if heading_not_captured(out, title, &r.coverage)? {
        return Ok(());
    }
    let inferred = if r.reasons_from == "inferred" {
        " (reasons inferred: Go 1.19 does not pass one)"
    } else {
        ""
    };
    writeln!(
        out,
        "\n{title}: {}, {} in total, {} with the world stopped, max {}{inferred}",
        r.count,
        duration(r.total_ns),
        duration(r.stopped_ns),
        duration(r.max_ns)
    )?;
    let g = &r.gc.gc_start_calls;
    writeln!(
        out,
        "  GC cycles    {} (gcStart calls: {} heap, {} time, {} runtime.GC)",
        r.gc.cycles, g.heap, g.time, g.cycle
    )?;
    if r.incomplete + r.ends_without_begin > 0 {
        writeln!(
            out,
            "  incomplete   {} pauses missing a begin or end, {} ends without a begin",
            r.incomplete, r.ends_without_begin
        )?;
    }
    if r.by_reason.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>7} {:>10} {:>10} {:>10} {:>10}  REASON",
        "COUNT", "TOTAL", "STOPPING", "STOPPED", "MAX"
    )?;
    for row in head(&r.by_reason) {
        writeln!(
            out,
            "  {:>7} {:>10} {:>10} {:>10} {:>10}  {}",
            row.count,
            duration(row.total_ns),
            duration(row.stopping_ns),
            duration(row.stopped_ns),
            duration(row.max_ns),
            row.reason
        )?;
    }
    more_rows(out, &r.by_reason)?;
    writeln!(out, "  longest:")?;
    writeln!(
        out,
        "  {:>10} {:>10} {:>10} {:>10} {:>8}  REASON",
        "AT", "TOTAL", "STOPPING", "STOPPED", "TID"
    )?;
    let opt = |v: Option<u64>| v.map_or("?".to_string(), duration);
    for p in r.longest.iter().take(LONGEST) {
        writeln!(
            out,
            "  {:>10} {:>10} {:>10} {:>10} {:>8}  {}",
            duration(p.at_ns),
            opt(p.total_ns),
            opt(p.stopping_ns),
            opt(p.stopped_ns),
            p.tid,
            p.reason
        )?;
    }
    Ok(())
}
