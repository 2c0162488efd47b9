//! `goroscope report --json`: the report as pretty-printed JSON, one trailing newline. The
//! shape is the analysis' report structs' (docs/report-schema.md).

use goroscope_analysis::Report;

/// Renders `report` as JSON (ends with a newline).
pub fn render_json(report: &Report) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}
