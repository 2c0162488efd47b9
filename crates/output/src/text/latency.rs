//! Scheduling latency (runnable→running): percentiles and a histogram drawn with `#` bars.

use std::fmt::Write as _;

use goroscope_analysis::SchedLatency;

use crate::format::{duration, percentiles};

/// Bar length of the histogram's fullest bucket.
const BAR_WIDTH: u64 = 40;

pub fn render(l: &SchedLatency, out: &mut String) -> std::fmt::Result {
    if l.count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "\nScheduling latency, runnable→running ({} samples)",
        l.count
    )?;
    percentiles(out, l)?;
    let peak = l
        .histogram
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(0)
        .max(1);
    for b in &l.histogram {
        let bar = "#".repeat(((b.count * BAR_WIDTH).div_ceil(peak)) as usize);
        writeln!(out, "  ≤ {:>9} {:>9}  {bar}", duration(b.le_ns), b.count)?;
    }
    Ok(())
}
