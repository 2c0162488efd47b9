//! Goroutines by creation site, and the goroutines blocked at the end (possible leaks), with
//! their ages, start functions and where they block when goroutine snapshots were read.

use std::fmt::Write as _;

use goroscope_analysis::{GoroutineReport, LeakRow};

use crate::format::{age, duration, head, heading_not_captured, more_rows, site};

pub fn render(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    write_snapshots(g, out)?;
    write_sites(g, out)?;
    write_leaks(g, out)
}

/// One paragraph on the goroutine snapshots, when there were some.
fn write_snapshots(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    let Some(s) = &g.snapshots else {
        return Ok(());
    };
    writeln!(
        out,
        "
Goroutine snapshots: {} read from memory; the last (read in {}{}) held {} \
         goroutines, {} of them never seen in the event stream, {} skipped as torn",
        s.count,
        duration(s.last_read_ns),
        if s.last_partial { ", cut short" } else { "" },
        s.last_goroutines,
        s.only_in_snapshot,
        s.last_skipped
    )?;
    if let Some(system) = g.system_at_end {
        writeln!(
            out,
            "  {} live at end: {} the program's, {system} the runtime's own",
            g.live_at_end,
            g.live_at_end.saturating_sub(system)
        )?;
    }
    Ok(())
}

fn write_sites(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    let rows = &g.by_creation_site;
    // Without the probes, the snapshots still say who is alive where: the LIVE column only.
    let live_only = !g.coverage.captured && g.snapshots.is_some();
    if !live_only && heading_not_captured(out, "Goroutines by creation site", &g.coverage)? {
        return Ok(());
    }
    writeln!(out, "\nGoroutines by creation site")?;
    writeln!(
        out,
        "  {:>9} {:>9} {:>9}  SITE",
        "CREATED", "EXITED", "LIVE"
    )?;
    for s in head(rows) {
        writeln!(
            out,
            "  {:>9} {:>9} {:>9}  {}",
            if live_only {
                "-".to_string()
            } else {
                s.created.to_string()
            },
            if live_only {
                "-".to_string()
            } else {
                s.exited.to_string()
            },
            s.live_at_end,
            site(&s.function, &s.file, s.line)
        )?;
    }
    more_rows(out, rows)
}

fn write_leaks(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    let rows = &g.leaked;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nBlocked at end (possible leaks): live goroutines waiting, by site and reason"
    )?;
    writeln!(out, "  {:>9}  {:<24} SITE", "COUNT", "WAIT REASON")?;
    for l in head(rows) {
        writeln!(
            out,
            "  {:>9}  {:<24} {}",
            l.count,
            l.wait_reason,
            site(&l.function, &l.file, l.line)
        )?;
        write_leak_details(l, out)?;
    }
    more_rows(out, rows)
}

/// With snapshots: for how long, started as what, blocked where.
fn write_leak_details(l: &LeakRow, out: &mut String) -> std::fmt::Result {
    let mut parts = Vec::new();
    if let (Some(oldest), Some(median)) = (l.oldest_blocked_ns, l.median_blocked_ns) {
        let known = l.ages_known.unwrap_or(l.count);
        let of = if known < l.count {
            format!(" (of the {known} with a known age)")
        } else {
            String::new()
        };
        parts.push(format!(
            "blocked for up to {}, median {}{of}",
            age(oldest),
            age(median)
        ));
    }
    if let Some(start) = &l.start_function {
        match &l.start_wrapper {
            Some(wrapper) => parts.push(format!("started as {start} (via {wrapper})")),
            None => parts.push(format!("started as {start}")),
        }
    }
    if let Some(at) = &l.blocked_at {
        parts.push(format!("at {at}"));
    }
    if !parts.is_empty() {
        writeln!(out, "  {:>9}  {}", "", parts.join("; "))?;
    }
    Ok(())
}
