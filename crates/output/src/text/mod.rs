//! The human report: the few numbers that matter first (duration, goroutines, scheduling
//! latency, threads, losses), then tables with units, like `perf report`'s header + body. One
//! module per section of the report, in the order of the JSON; long tables are cut at
//! [`MAX_ROWS`](crate::format::MAX_ROWS) rows (the JSON report has them all).

pub mod attribution;
pub mod counts;
pub mod goroutines;
pub mod kernel;
pub mod latency;
pub mod recording;
pub mod runtime_metrics;
pub mod sampled;
pub mod sched;
pub mod summary;
pub mod threads;

use goroscope_analysis::Report;

/// Renders `report` as text (ends with a newline).
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, r: &Report) -> std::fmt::Result {
    summary::render(r, out)?;
    goroutines::render(&r.goroutines, out)?;
    latency::render(&r.sched_latency, out)?;
    sampled::render(&r.sched_latency_sampled, &r.runtime_metrics, out)?;
    attribution::render(&r.latency_attribution, out)?;
    threads::render(&r.threads, out)?;
    sched::render(&r.scheduler, out)?;
    runtime_metrics::render(&r.runtime_metrics, out)?;
    kernel::render(&r.kernel, out)?;
    counts::render(r, out)
}
