//! The report's tail: events by kind, and when there are any, drops by reason and anomalies
//! (the signs of lost events, docs/report-schema.md).

use std::fmt::Write as _;

use goroscope_analysis::Report;
use goroscope_events::{Capability, EventKind, Fact};

pub fn render(r: &Report, out: &mut String) -> std::fmt::Result {
    // Kinds in the order of the event model (runtime, kernel, pipeline), not alphabetically.
    writeln!(out, "\nEvents by kind")?;
    writeln!(out, "  {:>12}  KIND", "EVENTS")?;
    for kind in EventKind::NAMES {
        let n = r.events.by_kind.get(kind).copied().unwrap_or(0);
        // A kind the level does not probe: its 0 is no measurement.
        let absent =
            Fact::of_event_kind(kind).is_some_and(|f| r.capture.get(f) == Capability::Absent);
        if n == 0 && absent {
            writeln!(out, "  {:>12}  {kind} (not captured at this level)", "-")?;
        } else {
            writeln!(out, "  {n:>12}  {kind}")?;
        }
    }
    if r.drops.total > 0 {
        let reasons = r.drops.by_reason.iter().map(|(k, v)| (k.as_str(), *v));
        write_counts(out, "Drops by reason", ("EVENTS", "REASON"), reasons)?;
    }
    if r.anomalies.total > 0 {
        let anomalies = r.anomalies.by_kind.iter().map(|(k, v)| (k.as_str(), *v));
        let title = "Anomalies (signs of lost events; see docs/report-schema.md)";
        write_counts(out, title, ("COUNT", "ANOMALY"), anomalies)?;
    }
    Ok(())
}

/// A titled two-column table of the nonzero counts.
fn write_counts<'a>(
    out: &mut String,
    title: &str,
    (unit, what): (&str, &str),
    rows: impl Iterator<Item = (&'a str, u64)>,
) -> std::fmt::Result {
    writeln!(out, "\n{title}")?;
    writeln!(out, "  {unit:>12}  {what}")?;
    for (name, n) in rows.filter(|(_, n)| *n > 0) {
        writeln!(out, "  {n:>12}  {name}")?;
    }
    Ok(())
}
