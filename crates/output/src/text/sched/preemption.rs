//! Preemption: who asked goroutines to stop (sysmon, STW/GC), SIGURG per thread, how they
//! stopped; then time slices, GoStart → stop, and the goroutines and functions that ran
//! longest without stopping.

use std::fmt::Write as _;

use goroscope_analysis::sched::preemption::{PreemptionReport, SliceReport};

use crate::format::{duration, head, more, more_rows, not_captured, percentiles, site};

pub fn render(r: &PreemptionReport, out: &mut String) -> std::fmt::Result {
    writeln!(out, "\nPreemption")?;
    let q = &r.requests;
    write!(
        out,
        "  sysmon requests  {} ({} to a P with no goroutine running)",
        q.by_sysmon, q.by_sysmon_without_goroutine
    )?;
    let rf = &q.sysmon_target_running_for;
    if rf.coverage.captured && rf.summary.count > 0 {
        write!(
            out,
            "; the target had run p50 {}, max {} ({} measured)",
            duration(rf.summary.p50_ns),
            duration(rf.summary.max_ns),
            rf.summary.count
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "  STW/GC requests  {} ({} with no goroutine running)",
        q.by_stw_or_gc, q.by_stw_or_gc_without_goroutine
    )?;
    let s = &r.sigurg;
    writeln!(
        out,
        "  SIGURG           {} sent ({} not queued), {} delivered",
        s.sent, s.not_queued, s.delivered
    )?;
    let c = &r.preemptions;
    if !not_captured(out, "  ", &c.coverage)? {
        writeln!(
            out,
            "  stops            {} async ({} then yielded, {} then parked for GC), {} cooperative, \
             {} Gosched, {} preempt-parked",
            c.async_preemptions,
            c.async_then_yield,
            c.async_then_preempt_park,
            c.cooperative,
            c.voluntary_gosched,
            c.preempt_parks
        )?;
        if c.yield_reason_unknown > 0 {
            writeln!(
                out,
                "  yields of unknown reason  {}",
                c.yield_reason_unknown
            )?;
        }
    }
    if s.per_thread.len() > 1 || s.sent > 0 {
        writeln!(
            out,
            "  {:>8} {:>9} {:>11} {:>10}",
            "TID", "SIGURG", "NOT-QUEUED", "DELIVERED"
        )?;
        for t in head(&s.per_thread) {
            writeln!(
                out,
                "  {:>8} {:>9} {:>11} {:>10}",
                t.tid, t.sent, t.not_queued, t.delivered
            )?;
        }
        more_rows(out, &s.per_thread)?;
    }
    render_sysmon_targets(r, out)?;
    render_slices(&r.time_slices, out)
}

/// The goroutines sysmon asked to stop (each request: it had run 10 ms or more without a
/// schedule), most requests first, with what their samples say about them.
fn render_sysmon_targets(r: &PreemptionReport, out: &mut String) -> std::fmt::Result {
    let t = &r.sysmon_targets;
    if !t.coverage.captured || t.by_goroutine.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  goroutines sysmon asked to stop: {} (each request: it ran 10 ms or more without a schedule)",
        t.goroutines
    )?;
    writeln!(
        out,
        "  {:>9} {:>9} {:>8} {:>10}  FUNCTION, CREATED AT, MOST OFTEN PREEMPTED AT",
        "GOID", "REQUESTS", "SAMPLES", "PREEMPTED"
    )?;
    for g in head(&t.by_goroutine) {
        let mut line = g.function.clone();
        if let Some(c) = &g.created_at {
            let _ = write!(line, ", created at {}", site(&c.function, &c.file, c.line));
        }
        // The program's own line, not the runtime's preemption frames above it.
        let program_frame = g
            .stopped_at
            .iter()
            .find(|l| !l.function.starts_with("runtime."));
        if let Some(top) = program_frame.or(g.stopped_at.first()) {
            let _ = write!(
                line,
                ", preempted at {}",
                site(&top.function, &top.file, top.line)
            );
        }
        writeln!(
            out,
            "  {:>9} {:>9} {:>8} {:>10}  {line}",
            g.goid, g.requests, g.samples, g.preempted_samples
        )?;
    }
    more(out, head(&t.by_goroutine).len(), t.goroutines)
}

fn render_slices(t: &SliceReport, out: &mut String) -> std::fmt::Result {
    let l = &t.summary;
    let title = "\nTime slices, GoStart → stop";
    // Not captured: no counts either (a 0 would read as measured).
    if !t.coverage.captured {
        writeln!(out, "{title}")?;
        not_captured(out, "  ", &t.coverage)?;
        return Ok(());
    }
    writeln!(
        out,
        "{title} ({} completed, {} still running at the end)",
        l.count, t.open_at_end
    )?;
    if l.count > 0 {
        percentiles(out, l)?;
    }
    if t.top_goroutines.is_empty() {
        return Ok(());
    }
    writeln!(out, "  Goroutines that ran longest without stopping")?;
    writeln!(
        out,
        "  {:>9} {:>11} {:>11} {:>8} {:>7} {:>7}  FUNCTION",
        "GOID", "MAX-SLICE", "RUNNING", "SLICES", "ASYNC", "SYSMON"
    )?;
    for g in head(&t.top_goroutines) {
        writeln!(
            out,
            "  {:>9} {:>11} {:>11} {:>8} {:>7} {:>7}  {}",
            g.goid,
            duration(g.max_slice_ns),
            duration(g.running_ns),
            g.slices,
            g.async_preemptions,
            g.sysmon_requests,
            g.function
        )?;
    }
    more_rows(out, &t.top_goroutines)?;
    writeln!(out, "  By start function")?;
    writeln!(
        out,
        "  {:>10} {:>11} {:>11} {:>8}  FUNCTION",
        "GOROUTINES", "MAX-SLICE", "RUNNING", "SLICES"
    )?;
    for f in head(&t.top_functions) {
        writeln!(
            out,
            "  {:>10} {:>11} {:>11} {:>8}  {}",
            f.goroutines,
            duration(f.max_slice_ns),
            duration(f.running_ns),
            f.slices,
            f.function
        )?;
    }
    more_rows(out, &t.top_functions)
}
