//! `goroscope report`: replays a recording into the analysis (`goroscope_session::Analysis`,
//! crates/analysis) and prints its report as text or JSON (schema: docs/report-schema.md).
//! Warnings about an incomplete or damaged recording go to stderr, and into the JSON's
//! `recording` object with the rest of what the file says about itself.

use std::io::Write as _;

use anyhow::Context as _;
use goroscope_session::{Analysis, RecordingInfo};

use crate::cli::ReportArgs;

/// The JSON report: the analysis' fields, then what the recording says about itself (added
/// last, so every field of the analysis keeps its place).
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a goroscope_analysis::Report,
    recording: RecordingInfo,
}

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let mut analysis = Analysis::new();
    let replayed = goroscope_session::replay(path, &mut [&mut analysis])?;
    for warning in replayed.summary.warnings() {
        eprintln!("goroscope: warning: {}: {warning}", path.display());
    }
    let report = analysis
        .into_report()
        .context("the analysis produced no report")?;
    let out = if args.json {
        let json = JsonReport {
            report: &report,
            recording: RecordingInfo::new(&replayed.header, &replayed.summary),
        };
        let mut s = serde_json::to_string_pretty(&json).context("serializing the report")?;
        s.push('\n');
        s
    } else {
        let mut s = describe_recording(&replayed.header, &replayed.summary);
        s.push_str(&goroscope_analysis::render_text(&report));
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// Two lines on what was recorded, before the analysis.
fn describe_recording(
    header: &goroscope_record::Header,
    summary: &goroscope_record::ReadSummary,
) -> String {
    let t = &header.target;
    let ending = match &summary.end {
        Some(end) => match &end.target_exit {
            Some(exit) => format!("ended: {} ({exit})", end.reason),
            None => format!("ended: {}", end.reason),
        },
        None => "ended: interrupted (no end chunk)".to_string(),
    };
    format!(
        "Recording of {} (pid {}, {}, {}), {} events; {ending}\n\n",
        t.path, t.pid, t.go_version, t.mode, summary.events
    )
}
