//! Goroutines by creation site, and the goroutines blocked at the end (possible leaks).

use std::fmt::Write as _;

use goroscope_analysis::GoroutineReport;

use crate::format::{head, more_rows, site};

pub fn render(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    write_sites(g, out)?;
    write_leaks(g, out)
}

fn write_sites(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    let rows = &g.by_creation_site;
    writeln!(out, "\nGoroutines by creation site")?;
    writeln!(
        out,
        "  {:>9} {:>9} {:>9}  SITE",
        "CREATED", "EXITED", "LIVE"
    )?;
    for s in head(rows) {
        writeln!(
            out,
            "  {:>9} {:>9} {:>9}  {}",
            s.created,
            s.exited,
            s.live_at_end,
            site(&s.function, &s.file, s.line)
        )?;
    }
    more_rows(out, rows)
}

fn write_leaks(g: &GoroutineReport, out: &mut String) -> std::fmt::Result {
    let rows = &g.leaked;
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nBlocked at end (possible leaks): live goroutines waiting, by site and reason"
    )?;
    writeln!(out, "  {:>9}  {:<24} SITE", "COUNT", "WAIT REASON")?;
    for l in head(rows) {
        writeln!(
            out,
            "  {:>9}  {:<24} {}",
            l.count,
            l.wait_reason,
            site(&l.function, &l.file, l.line)
        )?;
    }
    more_rows(out, rows)
}
