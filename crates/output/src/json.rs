//! `goroscope report --json`: the report as pretty-printed JSON, one trailing newline. The
//! shape is the analysis' report structs' (docs/report-schema.md); for a recording, the
//! `recording` object comes last: what the file says about itself (target, level, how it ended,
//! damage), described by the caller (the session crate's `RecordingInfo`) so that printers need
//! not read files.

use goroscope_analysis::Report;
use serde::Serialize;

/// Renders `report` as JSON (ends with a newline).
pub fn render_json(report: &Report) -> Result<String, serde_json::Error> {
    finish(serde_json::to_string_pretty(report)?)
}

/// Renders `report` and the `recording` it came from as JSON (ends with a newline).
pub fn render_json_with_recording<R: Serialize>(
    report: &Report,
    recording: &R,
) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct WithRecording<'a, R: Serialize> {
        #[serde(flatten)]
        report: &'a Report,
        recording: &'a R,
    }
    finish(serde_json::to_string_pretty(&WithRecording {
        report,
        recording,
    })?)
}

fn finish(mut s: String) -> Result<String, serde_json::Error> {
    s.push('\n');
    Ok(s)
}
