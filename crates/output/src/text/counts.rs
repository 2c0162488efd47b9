//! The report's tail: events by kind, and when there are any, drops by reason and anomalies
//! (the signs of lost events, docs/report-schema.md).

use std::fmt::Write as _;

use goroscope_analysis::Report;
use goroscope_events::EventKind;

pub fn render(r: &Report, out: &mut String) -> std::fmt::Result {
    // Kinds in the order of the event model (runtime, kernel, pipeline), not alphabetically.
    let kinds = EventKind::NAMES
        .iter()
        .map(|k| (*k, r.events.by_kind.get(*k).copied().unwrap_or(0)));
    write_counts(out, "Events by kind", ("EVENTS", "KIND"), kinds, false)?;
    if r.drops.total > 0 {
        let reasons = r.drops.by_reason.iter().map(|(k, v)| (k.as_str(), *v));
        write_counts(out, "Drops by reason", ("EVENTS", "REASON"), reasons, true)?;
    }
    if r.anomalies.total > 0 {
        let anomalies = r.anomalies.by_kind.iter().map(|(k, v)| (k.as_str(), *v));
        let title = "Anomalies (signs of lost events; see docs/report-schema.md)";
        write_counts(out, title, ("COUNT", "ANOMALY"), anomalies, true)?;
    }
    Ok(())
}

/// A titled two-column table of counts (all rows are shown: there are few kinds).
fn write_counts<'a>(
    out: &mut String,
    title: &str,
    (unit, what): (&str, &str),
    rows: impl Iterator<Item = (&'a str, u64)>,
    nonzero_only: bool,
) -> std::fmt::Result {
    writeln!(out, "\n{title}")?;
    writeln!(out, "  {unit:>12}  {what}")?;
    for (name, n) in rows.filter(|(_, n)| !nonzero_only || *n > 0) {
        writeln!(out, "  {n:>12}  {name}")?;
    }
    Ok(())
}
