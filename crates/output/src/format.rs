//! The text printers' shared vocabulary, each helper written once: durations and percentages
//! with units, source sites, the latency percentile line, how long tables are cut ("… N more")
//! and how a part with no data says so ("not captured").

use std::fmt::Write as _;

use goroscope_analysis::sched::coverage::Coverage;
use goroscope_analysis::SchedLatency;

/// Rows shown per table before "… N more"; the JSON report has them all.
pub const MAX_ROWS: usize = 25;

/// A duration with a unit picked for 3–4 significant digits: `850 ns`, `12.3 µs`, `2.10 ms`.
pub fn duration(ns: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")];
    for (scale, unit) in UNITS {
        if ns >= scale {
            let v = ns as f64 / scale as f64;
            return if v >= 100.0 {
                format!("{v:.0} {unit}")
            } else if v >= 10.0 {
                format!("{v:.1} {unit}")
            } else {
                format!("{v:.2} {unit}")
            };
        }
    }
    format!("{ns} ns")
}

/// How long something has lasted, for ages of minutes or hours: `850 ms`, `12.3 s`, `41 min`,
/// `2.5 h` (below a minute as [`duration`]).
pub fn age(ns: u64) -> String {
    let minutes = ns as f64 / 60e9;
    if minutes < 1.0 {
        duration(ns)
    } else if minutes < 120.0 {
        format!("{minutes:.0} min")
    } else {
        format!("{:.1} h", minutes / 60.0)
    }
}

/// A percentage (already scaled to 0–100) with one decimal: `42.5%`.
pub fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

/// `function (file:line)`, or the function alone without a file.
pub fn site(function: &str, file: &str, line: u32) -> String {
    if file.is_empty() {
        function.to_string()
    } else {
        format!("{function} ({file}:{line})")
    }
}

/// "  p50 …   p90 …   p99 …   max …" of a latency summary, one line.
pub fn percentiles(out: &mut String, l: &SchedLatency) -> std::fmt::Result {
    writeln!(
        out,
        "  p50 {}   p90 {}   p99 {}   max {}",
        duration(l.p50_ns),
        duration(l.p90_ns),
        duration(l.p99_ns),
        duration(l.max_ns)
    )
}

/// The rows of a table that are shown: the first [`MAX_ROWS`].
pub fn head<T>(rows: &[T]) -> &[T] {
    &rows[..rows.len().min(MAX_ROWS)]
}

/// "  … N more (see --json)" when `total` things were counted and `shown` of them printed
/// (`total` can exceed the rows the JSON kept, e.g. goroutines beyond its top 50).
pub fn more(out: &mut String, shown: usize, total: u64) -> std::fmt::Result {
    let shown = shown as u64;
    if total > shown {
        writeln!(out, "  … {} more (see --json)", total - shown)?;
    }
    Ok(())
}

/// [`more`] for a table printed with [`head`]: the rows beyond [`MAX_ROWS`].
pub fn more_rows<T>(out: &mut String, rows: &[T]) -> std::fmt::Result {
    more(out, head(rows).len(), rows.len() as u64)
}

/// A section heading for a part with no data: "\n{title}: not captured ({why})". True if
/// written (the part was not captured).
pub fn heading_not_captured(
    out: &mut String,
    title: &str,
    c: &Coverage,
) -> Result<bool, std::fmt::Error> {
    if c.captured {
        return Ok(false);
    }
    writeln!(out, "\n{title}: not captured ({})", c.why_text())?;
    Ok(true)
}

/// "{lead}not captured: {why}" inside a section (`lead` is the indent and any label, e.g.
/// "  M parks: "). True if written (the part was not captured).
pub fn not_captured(out: &mut String, lead: &str, c: &Coverage) -> Result<bool, std::fmt::Error> {
    if c.captured {
        return Ok(false);
    }
    writeln!(out, "{lead}not captured: {}", c.why_text())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(duration(0), "0 ns");
        assert_eq!(duration(999), "999 ns");
        assert_eq!(duration(1_000), "1.00 µs");
        assert_eq!(duration(12_345), "12.3 µs");
        assert_eq!(duration(2_100_000), "2.10 ms");
        assert_eq!(duration(123_400_000), "123 ms");
        assert_eq!(duration(2_310_000_000), "2.31 s");
    }

    #[test]
    fn tables_say_how_many_rows_were_left_out() {
        let rows: Vec<u32> = (0..30).collect();
        assert_eq!(head(&rows).len(), MAX_ROWS);
        let mut out = String::new();
        more_rows(&mut out, &rows).unwrap();
        assert_eq!(out, "  … 5 more (see --json)\n");
        out.clear();
        more_rows(&mut out, &rows[..MAX_ROWS]).unwrap();
        more(&mut out, 3, 3).unwrap();
        assert_eq!(out, "");
    }

    #[test]
    fn missing_parts_say_why() {
        let mut out = String::new();
        let no = Coverage::no("the monitor level");
        assert!(not_captured(&mut out, "  M parks: ", &no).unwrap());
        assert!(!not_captured(&mut out, "  ", &Coverage::yes()).unwrap());
        let no = Coverage::no("no procresize");
        assert!(heading_not_captured(&mut out, "GOMAXPROCS", &no).unwrap());
        assert_eq!(
            out,
            "  M parks: not captured: the monitor level\n\
             \nGOMAXPROCS: not captured (no procresize)\n"
        );
        assert_eq!(site("main.f", "", 3), "main.f");
        assert_eq!(site("main.f", "/a.go", 3), "main.f (/a.go:3)");
        assert_eq!(format!("{:>6}", percent(50.0)), " 50.0%");
    }
}
