//! Run queues: where goroutines were taken from when scheduled, per P, and work stealing.

use std::fmt::Write as _;

use goroscope_analysis::sched::runqueue::{RunQueueReport, Sources};

use crate::format::{head, more_rows, not_captured};

pub fn render(r: &RunQueueReport, out: &mut String) -> std::fmt::Result {
    let title = "\nRun queues: where goroutines were taken from when scheduled";
    // Not captured: no count of starts either (a 0 would read as measured).
    if !r.coverage.captured {
        writeln!(out, "{title}")?;
        not_captured(out, "  ", &r.coverage)?;
        return Ok(());
    }
    writeln!(out, "{title} ({} starts)", r.starts)?;
    writeln!(
        out,
        "  {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "P", "STARTS", "LOCAL", "RUNNEXT", "GLOBAL", "NETPOLL", "STOLEN", "UNKNOWN"
    )?;
    let row = |out: &mut String, p: &str, n: u64, s: &Sources| {
        writeln!(
            out,
            "  {p:>5} {n:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            s.local, s.runnext, s.global, s.netpoll, s.stolen, s.unknown
        )
    };
    row(out, "all", r.starts, &r.from)?;
    for p in head(&r.per_p) {
        row(out, &p_name(p.p_id), p.starts, &p.from)?;
    }
    more_rows(out, &r.per_p)?;
    writeln!(
        out,
        "  readied: {} goroutines, {} into runnext, {} at a queue tail",
        r.ready.total, r.ready.runnext, r.ready.tail
    )?;
    let s = &r.stealing;
    writeln!(
        out,
        "\nWork stealing: {} steals took {} goroutines",
        s.steals, s.goroutines_taken
    )?;
    if s.steals == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>5} {:>6} {:>9} {:>9} {:>9}",
        "THIEF", "VICTIM", "STEALS", "TAKEN", "STARTED"
    )?;
    for p in head(&s.per_pair) {
        writeln!(
            out,
            "  {:>5} {:>6} {:>9} {:>9} {:>9}",
            p_name(p.thief_p),
            p_name(p.victim_p),
            p.steals,
            p.goroutines_taken,
            p.started
        )?;
    }
    more_rows(out, &s.per_pair)?;
    let per_steal: Vec<String> = s
        .per_steal
        .iter()
        .map(|t| format!("{}×{}", t.steals, t.goroutines))
        .collect();
    writeln!(
        out,
        "  goroutines per steal (steals×taken): {}",
        per_steal.join(", ")
    )
}

/// A P id, "?" when unknown (negative).
fn p_name(p: i32) -> String {
    if p < 0 {
        "?".to_string()
    } else {
        p.to_string()
    }
}
