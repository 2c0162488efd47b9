//! The head of the text report: one line each for the goroutines, scheduling latency, threads,
//! events and drops, and a warning when lost or inconsistent events make the counts doubtful.

use std::fmt::Write as _;

use goroscope_analysis::Report;

use crate::format::{duration, not_captured};

pub fn render(r: &Report, out: &mut String) -> std::fmt::Result {
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
    if !g.coverage.captured && g.snapshots.is_some() {
        // Creations and exits need the probes; who is alive at the end the snapshots know.
        writeln!(
            out,
            "  goroutines     {} live at end (from goroutine snapshots); creations and exits not \
             captured: {}",
            g.live_at_end,
            g.coverage.why_text()
        )?;
    } else if !not_captured(out, "  goroutines     ", &g.coverage)? {
        writeln!(
            out,
            "  goroutines     {} created, {} exited, {} live at end ({} existed before the trace)",
            g.created, g.exited, g.live_at_end, g.preexisting
        )?;
    }
    let l = &r.sched_latency;
    let sampled = r
        .sched_latency_sampled
        .as_ref()
        .filter(|s| s.coverage.captured && s.samples > 0);
    if let (false, Some(s)) = (l.coverage.captured, sampled) {
        // The default level: the runtime's own samples stand in for every transition.
        writeln!(
            out,
            "  sched latency  ≈ p50 {}, p99 {}, max {} (estimated from {} samples of the \
             runtime's 1 in {}; exact at --level full)",
            duration(s.latency.p50.value_ns),
            duration(s.latency.p99.value_ns),
            duration(s.latency.max_ns),
            s.samples,
            s.one_in
        )?;
    } else if !not_captured(out, "  sched latency  ", &l.coverage)? {
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
    }
    let t = &r.threads;
    if t.cpu.captured {
        writeln!(
            out,
            "  threads        {} created, {} exited, {} max live, {} live at end",
            t.created, t.exited, t.max_live, t.live_at_end
        )?;
    } else {
        // Without context switches a thread that neither forks, exits nor enters a probed
        // runtime function is never seen: how many were alive is not known.
        writeln!(
            out,
            "  threads        {} created, {} exited; threads alive not captured: {}",
            t.created,
            t.exited,
            t.cpu.why_text()
        )?;
    }
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
    Ok(())
}
