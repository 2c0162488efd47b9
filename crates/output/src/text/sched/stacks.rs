//! Scheduling latency by stack: the stacks where goroutines last stopped before their longest
//! total waits to run again.

use std::fmt::Write as _;

use goroscope_analysis::sched::stacks::StackLatencyReport;

use crate::format::{duration, more, not_captured};

/// Stacks shown (each takes several lines).
const STACKS: usize = 10;
/// Frames shown per stack, innermost first.
const FRAMES: usize = 4;

pub fn render(r: &StackLatencyReport, out: &mut String) -> std::fmt::Result {
    let title = "Scheduling latency by stack (where each goroutine last stopped)";
    if not_captured(out, &format!("\n{title}: "), &r.coverage)? {
        return Ok(());
    }
    writeln!(
        out,
        "\n{title}: {} waits, {} in total over {} stacks; {} waits ({}) without a stack",
        r.waits,
        duration(r.total_ns),
        r.stacks,
        r.unattributed_waits,
        duration(r.unattributed_ns)
    )?;
    if r.by_stack.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>10} {:>8} {:>10}  STACK (innermost first)",
        "TOTAL", "WAITS", "MAX"
    )?;
    let shown = &r.by_stack[..r.by_stack.len().min(STACKS)];
    for row in shown {
        let mut frames = row.frames.iter().take(FRAMES);
        let first = frames.next().map_or("", String::as_str);
        let note = if row.first_run { "  [first run]" } else { "" };
        writeln!(
            out,
            "  {:>10} {:>8} {:>10}  {first}{note}",
            duration(row.total_ns),
            row.count,
            duration(row.max_ns)
        )?;
        for f in frames {
            writeln!(out, "  {:>10} {:>8} {:>10}    {f}", "", "", "")?;
        }
    }
    more(out, shown.len(), r.stacks)
}
