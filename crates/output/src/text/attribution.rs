//! Latency attribution: the measured runnable→running wait split into causes (in precedence
//! order, summing to the total), who held the Ps during the `ps_busy` share, and per creation
//! site.

use std::fmt::Write as _;

use goroscope_analysis::attribution::{AttributionReport, Causes};

use crate::format::{duration, head, heading_not_captured, more, percent, site};

const TITLE: &str = "Latency attribution (stw > kernel > syscall > ps_busy > other)";

/// Sites printed (the JSON has up to 20).
const SITES: usize = 10;

/// "cause time (share)" for each cause, or only the non-zero ones (`all` false).
fn shares(c: &Causes, total: u64, all: bool) -> String {
    c.list()
        .iter()
        .filter(|(_, ns)| all || *ns > 0)
        .map(|(name, ns)| {
            let pct = if total == 0 {
                0.0
            } else {
                *ns as f64 * 100.0 / total as f64
            };
            format!("{name} {} ({})", duration(*ns), percent(pct))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

pub fn render(a: &Option<AttributionReport>, out: &mut String) -> std::fmt::Result {
    let Some(a) = a else {
        return Ok(());
    };
    if heading_not_captured(out, TITLE, &a.coverage)? {
        return Ok(());
    }
    match a.one_in {
        Some(n) if a.basis == "samples" => writeln!(
            out,
            "\n{TITLE}: {} sampled waits (the runtime's 1 in {n}), {} in the samples",
            a.waits,
            duration(a.total_ns)
        )?,
        _ => writeln!(
            out,
            "\n{TITLE}: {} waits, {} in all",
            a.waits,
            duration(a.total_ns)
        )?,
    }
    writeln!(out, "  {}", shares(&a.causes, a.total_ns, true))?;
    for e in a.exactness.iter().filter(|e| !e.exact) {
        writeln!(out, "  {}: {}", e.cause, e.how)?;
    }
    if !a.ps_busy_occupants.is_empty() {
        writeln!(out, "  Ps held during ps_busy by goroutines created at:")?;
        for o in head(&a.ps_busy_occupants) {
            writeln!(
                out,
                "    {:>10}  {}",
                duration(o.ns),
                site(&o.function, &o.file, o.line)
            )?;
        }
    }
    if !a.by_site.is_empty() {
        writeln!(out, "  By creation site of the waiting goroutine:")?;
        let shown = &a.by_site[..a.by_site.len().min(SITES)];
        for s in shown {
            writeln!(
                out,
                "    {:>6} waits {:>10}  {}: {}",
                s.waits,
                duration(s.total_ns),
                site(&s.function, &s.file, s.line),
                shares(&s.causes, s.total_ns, false)
            )?;
        }
        more(out, shown.len(), a.by_site.len() as u64)?;
    }
    Ok(())
}
