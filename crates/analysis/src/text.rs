//! The human report: the few numbers that matter first (duration, goroutines, scheduling
//! latency, threads, losses), then tables with units, like `perf report`'s header + body.
//! Long tables are cut at [`MAX_ROWS`] rows; the JSON report has them all.

use std::fmt::Write;

use goroscope_events::EventKind;

use crate::report::{Report, SiteRow};

/// Rows shown per table before "… N more".
pub const MAX_ROWS: usize = 25;

/// Renders `report` as text (ends with a newline).
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, r: &Report) -> std::fmt::Result {
    let go = if r.go_version.is_empty() {
        "Go version unknown"
    } else {
        &r.go_version
    };
    writeln!(
        out,
        "goroscope report: {go}, {} traced",
        duration(r.duration_ns)
    )?;
    writeln!(out)?;
    let g = &r.goroutines;
    writeln!(
        out,
        "  goroutines     {} created, {} exited, {} live at end ({} existed before the trace)",
        g.created, g.exited, g.live_at_end, g.preexisting
    )?;
    let l = &r.sched_latency;
    if l.count == 0 {
        writeln!(out, "  sched latency  no runnable→running transition seen")?;
    } else {
        writeln!(
            out,
            "  sched latency  p50 {}, p99 {}, max {} (runnable→running, {} samples)",
            duration(l.p50_ns),
            duration(l.p99_ns),
            duration(l.max_ns),
            l.count
        )?;
    }
    let t = &r.threads;
    writeln!(
        out,
        "  threads        {} created, {} exited, {} max live, {} live at end",
        t.created, t.exited, t.max_live, t.live_at_end
    )?;
    writeln!(
        out,
        "  events         {} processed, {} late (out of the reorder window, not processed)",
        r.events.total, r.events.late_events
    )?;
    writeln!(out, "  drops          {} events lost", r.drops.total)?;
    if r.drops.total > 0 || r.events.late_events > 0 || r.anomalies.total > 0 {
        writeln!(
            out,
            "  warning        events were lost or inconsistent: counts below may be incomplete"
        )?;
    }

    write_sites(out, &g.by_creation_site)?;
    write_leaks(out, r)?;
    write_latency(out, r)?;
    write_threads(out, r)?;
    crate::sched::render_text(&r.scheduler, out)?;
    // Kinds in the order of the event model (runtime, kernel, pipeline), not alphabetically.
    let kinds = EventKind::NAMES
        .iter()
        .map(|k| (*k, r.events.by_kind.get(*k).copied().unwrap_or(0)));
    write_counts(out, "Events by kind", ("EVENTS", "KIND"), kinds, false)?;
    if r.drops.total > 0 {
        let reasons = r.drops.by_reason.iter().map(|(k, v)| (k.as_str(), *v));
        write_counts(out, "Drops by reason", ("EVENTS", "REASON"), reasons, true)?;
    }
    if r.anomalies.total > 0 {
        let anomalies = r.anomalies.by_kind.iter().map(|(k, v)| (k.as_str(), *v));
        let title = "Anomalies (signs of lost events; see docs/report-schema.md)";
        write_counts(out, title, ("COUNT", "ANOMALY"), anomalies, true)?;
    }
    Ok(())
}

fn site(function: &str, file: &str, line: u32) -> String {
    if file.is_empty() {
        function.to_string()
    } else {
        format!("{function} ({file}:{line})")
    }
}

fn write_sites(out: &mut String, rows: &[SiteRow]) -> std::fmt::Result {
    writeln!(out, "\nGoroutines by creation site")?;
    writeln!(
        out,
        "  {:>9} {:>9} {:>9}  SITE",
        "CREATED", "EXITED", "LIVE"
    )?;
    for s in rows.iter().take(MAX_ROWS) {
        writeln!(
            out,
            "  {:>9} {:>9} {:>9}  {}",
            s.created,
            s.exited,
            s.live_at_end,
            site(&s.function, &s.file, s.line)
        )?;
    }
    more(out, rows.len())
}

fn write_leaks(out: &mut String, r: &Report) -> std::fmt::Result {
    let rows = &r.goroutines.leaked;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nBlocked at end (possible leaks): live goroutines waiting, by site and reason"
    )?;
    writeln!(out, "  {:>9}  {:<24} SITE", "COUNT", "WAIT REASON")?;
    for l in rows.iter().take(MAX_ROWS) {
        writeln!(
            out,
            "  {:>9}  {:<24} {}",
            l.count,
            l.wait_reason,
            site(&l.function, &l.file, l.line)
        )?;
    }
    more(out, rows.len())
}

fn write_latency(out: &mut String, r: &Report) -> std::fmt::Result {
    let l = &r.sched_latency;
    if l.count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "\nScheduling latency, runnable→running ({} samples)",
        l.count
    )?;
    write_percentiles(out, l)?;
    let peak = l
        .histogram
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1);
    for b in &l.histogram {
        let bar = "#".repeat(((b.count * 40).div_ceil(peak)) as usize);
        writeln!(out, "  ≤ {:>9} {:>9}  {bar}", duration(b.le_ns), b.count)?;
    }
    Ok(())
}

fn write_threads(out: &mut String, r: &Report) -> std::fmt::Result {
    let rows = &r.threads.per_thread;
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
    for t in sorted.into_iter().take(MAX_ROWS) {
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
    more(out, rows.len())
}

fn write_counts<'a>(
    out: &mut String,
    title: &str,
    (unit, what): (&str, &str),
    rows: impl Iterator<Item = (&'a str, u64)>,
    nonzero_only: bool,
) -> std::fmt::Result {
    writeln!(out, "\n{title}")?;
    writeln!(out, "  {unit:>12}  {what}")?;
    for (name, n) in rows.filter(|(_, n)| !nonzero_only || *n > 0) {
        writeln!(out, "  {n:>12}  {name}")?;
    }
    Ok(())
}

fn more(out: &mut String, rows: usize) -> std::fmt::Result {
    if rows > MAX_ROWS {
        writeln!(out, "  … {} more (see --json)", rows - MAX_ROWS)?;
    }
    Ok(())
}

/// A duration with a unit picked for 3–4 significant digits: `850 ns`, `12.3 µs`, `2.10 ms`.
/// "  p50 …   p90 …   p99 …   max …" of a latency summary, one line.
pub(crate) fn write_percentiles(
    out: &mut String,
    l: &crate::latency::LatencySummary,
) -> std::fmt::Result {
    writeln!(
        out,
        "  p50 {}   p90 {}   p99 {}   max {}",
        duration(l.p50_ns),
        duration(l.p90_ns),
        duration(l.p99_ns),
        duration(l.max_ns)
    )
}

pub fn duration(ns: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")];
    for (scale, unit) in UNITS {
        if ns >= scale {
            let v = ns as f64 / scale as f64;
            return if v >= 100.0 {
                format!("{v:.0} {unit}")
            } else if v >= 10.0 {
                format!("{v:.1} {unit}")
            } else {
                format!("{v:.2} {unit}")
            };
        }
    }
    format!("{ns} ns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(duration(0), "0 ns");
        assert_eq!(duration(999), "999 ns");
        assert_eq!(duration(1_000), "1.00 µs");
        assert_eq!(duration(12_345), "12.3 µs");
        assert_eq!(duration(2_100_000), "2.10 ms");
        assert_eq!(duration(123_400_000), "123 ms");
        assert_eq!(duration(2_310_000_000), "2.31 s");
    }
}
