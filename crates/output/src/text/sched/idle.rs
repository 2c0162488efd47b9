//! Idle Ps (busy and idle time per P from the time slices), parked Ms, and the runtime's own
//! counters as sampled.

use std::fmt::Write as _;

use goroscope_analysis::sched::idle::IdleReport;

use crate::format::{duration, head, more_rows, not_captured, percent};

pub fn render(r: &IdleReport, out: &mut String) -> std::fmt::Result {
    let ps = &r.ps;
    let gomaxprocs = ps
        .gomaxprocs_at_end
        .map_or(String::new(), |g| format!(", GOMAXPROCS {g} at the end"));
    writeln!(out, "\nIdle Ps and spinning Ms{gomaxprocs}")?;
    if !not_captured(out, "  ", &ps.coverage)? {
        writeln!(
            out,
            "  {:>5} {:>11} {:>11} {:>11} {:>6}",
            "P", "COUNTED", "BUSY", "IDLE", "BUSY%"
        )?;
        let row = |out: &mut String, p: &str, c: u64, b: u64, i: u64, busy: f64| {
            writeln!(
                out,
                "  {p:>5} {:>11} {:>11} {:>11} {:>6}",
                duration(c),
                duration(b),
                duration(i),
                percent(busy)
            )
        };
        let (counted, busy) = (ps.counted_ns(), ps.busy_percent());
        row(out, "all", counted, ps.busy_ns, ps.idle_ns, busy)?;
        for p in head(&ps.per_p) {
            let id = p.p_id.to_string();
            row(out, &id, p.counted_ns, p.busy_ns, p.idle_ns, p.busy_percent)?;
        }
        more_rows(out, &ps.per_p)?;
    }
    let m = &r.m_parks;
    if !not_captured(out, "  M parks: ", &m.coverage)? {
        writeln!(
            out,
            "  M parks (stopm, an M goes idle): {} across {} Ms",
            m.total,
            m.per_m.len()
        )?;
    }
    let s = &r.samples;
    if !not_captured(out, "  runtime samples: ", &s.coverage)? {
        writeln!(
            out,
            "  runtime samples ({}): idle Ps mean {:.1} max {}, spinning Ms mean {:.1} max {}, \
             global run queue mean {:.1} max {}",
            s.count,
            s.npidle.mean,
            s.npidle.max,
            s.nmspinning.mean,
            s.nmspinning.max,
            s.global_runq.mean,
            s.global_runq.max
        )?;
    }
    Ok(())
}
