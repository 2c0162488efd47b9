//! The runtime's own statistics (`runtime_metrics`): each `runtime/metrics` histogram's count
//! and quantiles over the window and at the end, the counters' deltas and end values, then the
//! runtime's numbers beside goroscope's. Nothing for recordings without readings.

use std::fmt::Write as _;

use goroscope_analysis::runtime_metrics::{Quantiles, RuntimeMetricsReport, ScalarMetric};

use crate::format::duration;

pub fn render(r: &Option<RuntimeMetricsReport>, out: &mut String) -> std::fmt::Result {
    let Some(r) = r else {
        return Ok(());
    };
    writeln!(
        out,
        "\nRuntime metrics (the runtime's own, read from its memory: {} readings, window {} → {})",
        r.readings,
        duration(r.from_ns),
        duration(r.to_ns)
    )?;
    writeln!(out, "  {:<40} {:<40} AT END", "HISTOGRAM", "WINDOW")?;
    for h in &r.histograms {
        writeln!(
            out,
            "  {:<40} {:<40} {}",
            h.name,
            quantiles(&h.window.quantiles),
            quantiles(&h.at_end.quantiles)
        )?;
    }
    writeln!(out, "  {:<40} {:>14} {:>14}", "COUNTER", "DELTA", "AT END")?;
    for s in &r.scalars {
        writeln!(
            out,
            "  {:<40} {:>14} {:>14}",
            s.name,
            value(s, s.delta),
            value(s, s.at_end)
        )?;
        if !s.note.is_empty() {
            writeln!(out, "  {:<40} ({})", "", s.note)?;
        }
    }
    let v = &r.vs_goroscope;
    writeln!(out, "  Beside goroscope's own (over the window):")?;
    writeln!(
        out,
        "    runnable→running   runtime (1 transition in 8): {}; goroscope: {}",
        quantiles(&v.sched_latency.runtime),
        quantiles(&v.sched_latency.goroscope)
    )?;
    let stw = &v.stw_pauses;
    let runtime_stw = match (stw.runtime_gc, stw.runtime_other) {
        (Some(gc), Some(other)) => format!("{gc} GC + {other} other"),
        _ => "no pause histograms before Go 1.22".to_string(),
    };
    writeln!(
        out,
        "    stop-the-world     runtime: {runtime_stw}; goroscope: {} ({} in total, max {})",
        stw.goroscope,
        duration(stw.goroscope_total_ns),
        duration(stw.goroscope_max_ns)
    )?;
    writeln!(
        out,
        "    goroutines created runtime ids: {}; goroscope: {}",
        v.goroutines_created.runtime, v.goroutines_created.goroscope
    )?;
    writeln!(
        out,
        "    GC cycles          runtime: {}; goroscope: {}",
        v.gc_cycles.runtime, v.gc_cycles.goroscope
    )
}

/// "n=33 p50≤64ns p90≤1.28µs p99≤1.28µs" (bucket upper bounds), or "n=0".
fn quantiles(q: &Quantiles) -> String {
    let mut s = format!("n={}", q.count);
    for (label, v) in [("p50", q.p50_ns), ("p90", q.p90_ns), ("p99", q.p99_ns)] {
        if let (Some(ns), true) = (v, q.count > 0) {
            let _ = write!(s, " {label}≤{}", duration(ns));
        }
    }
    s
}

fn value(s: &ScalarMetric, v: i64) -> String {
    match s.unit.as_str() {
        "ns" => {
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}{}", duration(v.unsigned_abs()))
        }
        _ => v.to_string(),
    }
}
