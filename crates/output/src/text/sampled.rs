//! Scheduling latency estimated from the runtime's own 1-in-8 sampler (the default level):
//! percentiles with their 95% intervals beside the runtime's own histogram, the waiting by
//! creation site, start function, stop stack and stop kind, and the sampled creations.

use std::fmt::Write as _;

use goroscope_analysis::runtime_metrics::RuntimeMetricsReport;
use goroscope_analysis::sampled::{Estimate, SampledReport, SampledRow, StopKind};

use crate::format::{duration, head, heading_not_captured, more, percent, site};

const TITLE: &str = "Scheduling latency (sampled by the runtime, 1 in 8)";

pub fn render(
    s: &Option<SampledReport>,
    runtime: &Option<RuntimeMetricsReport>,
    out: &mut String,
) -> std::fmt::Result {
    let Some(s) = s else {
        return Ok(());
    };
    if heading_not_captured(out, TITLE, &s.coverage)? {
        return Ok(());
    }
    writeln!(
        out,
        "\n{TITLE}: estimated from {} samples (≈ {} transitions), 95% intervals",
        s.samples, s.estimated_transitions
    )?;
    writeln!(out, "  a sample: {}", s.stands_for)?;
    if s.sampler.pauses > 0 {
        writeln!(
            out,
            "  the sample probe was attached {} of the traced time ({} of {}): detached {} \
             time(s) when samples came faster than --max-sample-rate (up to {}/s); the samples \
             of the window before each pause stand for the pause too",
            percent(s.sampler.attached_share * 100.0),
            duration(s.sampler.attached_ns),
            duration(s.sampler.traced_ns),
            s.sampler.pauses,
            s.sampler.max_rate_per_s,
        )?;
        if let Some(f) = s.sampler.calibration {
            writeln!(
                out,
                "  counts calibrated ×{f:.2} by the runtime's own count of the transitions it \
                 tracked (read from memory): the probe slows the program while attached"
            )?;
        }
    }
    if s.samples == 0 {
        return Ok(());
    }
    let est = |e: &Estimate| {
        format!(
            "{} [{}, {}]",
            duration(e.value_ns),
            duration(e.ci_low_ns),
            duration(e.ci_high_ns)
        )
    };
    let l = &s.latency;
    writeln!(
        out,
        "  p50 {}   p90 {}   p99 {}   max {}",
        est(&l.p50),
        est(&l.p90),
        est(&l.p99),
        duration(l.max_ns)
    )?;
    if let Some(h) = runtime.as_ref().and_then(|r| {
        r.histograms
            .iter()
            .find(|h| h.name == "/sched/latencies:seconds")
    }) {
        let w = &h.window.quantiles;
        let opt = |v: Option<u64>| v.map_or("-".to_string(), duration);
        writeln!(
            out,
            "  the runtime's own /sched/latencies over its window (exact, bucketed): {} \
             samples, p50 {}   p90 {}   p99 {}",
            w.count,
            opt(w.p50_ns),
            opt(w.p90_ns),
            opt(w.p99_ns)
        )?;
    }
    if l.negative_as_zero > 0 {
        writeln!(
            out,
            "  {} samples had a negative runtime measurement (counted as 0)",
            l.negative_as_zero
        )?;
    }
    writeln!(out, "  Why they had stopped (from where they stopped)")?;
    writeln!(
        out,
        "    {:>8} {:>16} {:>9}  STOP",
        "SAMPLES", "SHARE OF SAMPLES", "WAITING"
    )?;
    for r in &s.by_stop {
        writeln!(
            out,
            "    {:>8} {:>16} {:>9}  {}",
            r.samples,
            share_ci(r.sample_share, r.sample_share_ci),
            percent(r.share_of_waiting * 100.0),
            stop_name(r.stop)
        )?;
    }
    table(out, "By creation site", &s.by_site)?;
    table(out, "By start function", &s.by_start)?;
    writeln!(
        out,
        "  By stop stack (innermost frame; the full stacks are in --json)"
    )?;
    writeln!(
        out,
        "    {:>8} {:>9} {:>9}  STOPPED AT",
        "SAMPLES", "WAITING", "MAX"
    )?;
    for r in head(&s.by_stack) {
        let at = r
            .frames
            .iter()
            .find(|f| !f.function.starts_with("runtime."))
            .or(r.frames.first())
            .map_or("(no stack)".to_string(), |f| {
                site(&f.function, &f.file, f.line)
            });
        let why = match &r.wait_reason {
            Some(w) => format!("{}: {w}", stop_name(r.stop)),
            None => stop_name(r.stop).to_string(),
        };
        writeln!(
            out,
            "    {:>8} {:>9} {:>9}  {at}  [{why}]",
            r.samples,
            percent(r.share_of_waiting * 100.0),
            duration(r.max_ns)
        )?;
    }
    more(out, head(&s.by_stack).len(), s.stacks_total)?;
    let c = &s.creations;
    writeln!(
        out,
        "  Sampled creations (a tracked new goroutine's first run): {} sampled, ≈ {} created \
         [{}, {}]",
        c.sampled, c.estimated, c.ci_low, c.ci_high
    )?;
    for r in head(&c.by_site) {
        writeln!(
            out,
            "    {:>6} sampled  ≈ {:>7} [{}, {}]  {}",
            r.sampled,
            r.estimated,
            r.ci_low,
            r.ci_high,
            site(&r.function, &r.file, r.line)
        )?;
    }
    Ok(())
}

fn share_ci(share: f64, (lo, hi): (f64, f64)) -> String {
    format!(
        "{} [{:.0}–{:.0}]",
        percent(share * 100.0),
        lo * 100.0,
        hi * 100.0
    )
}

fn table(out: &mut String, title: &str, rows: &[SampledRow]) -> std::fmt::Result {
    writeln!(out, "  {title}")?;
    writeln!(
        out,
        "    {:>8} {:>9} {:>9} {:>9}  WHERE",
        "SAMPLES", "WAITING", "MEAN", "MAX"
    )?;
    for r in head(rows) {
        writeln!(
            out,
            "    {:>8} {:>9} {:>9} {:>9}  {}",
            r.samples,
            percent(r.share_of_waiting * 100.0),
            duration(r.mean_ns),
            duration(r.max_ns),
            site(&r.function, &r.file, r.line)
        )?;
    }
    Ok(())
}

fn stop_name(k: StopKind) -> &'static str {
    match k {
        StopKind::FirstRun => "first run",
        StopKind::Blocked => "blocked",
        StopKind::Yielded => "yielded",
        StopKind::PreemptedAsync => "preempted (signal)",
        StopKind::PreemptedSync => "preempted (prologue)",
        StopKind::Syscall => "syscall",
        StopKind::Other => "runtime",
        StopKind::Unknown => "unknown",
    }
}
