//! `goroscope report`: replays a recording into the analysis (`goroscope_session::Analysis`,
//! crates/analysis) and prints its report as text or JSON (crates/output; schema:
//! docs/report-schema.md). Warnings about an incomplete or damaged recording go to stderr, and
//! into the JSON's `recording` object with the rest of what the file says about itself.

use std::io::Write as _;

use anyhow::Context as _;
use goroscope_output::{Ending, Recording};
use goroscope_record::{Header, ReadSummary};
use goroscope_session::{Analysis, RecordingInfo};

use crate::cli::ReportArgs;

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
        let recording = RecordingInfo::new(&replayed.header, &replayed.summary);
        goroscope_output::render_json_with_recording(&report, &recording)
            .context("serializing the report")?
    } else {
        let mut s =
            goroscope_output::describe_recording(&recording(&replayed.header, &replayed.summary));
        s.push_str(&goroscope_output::render_text(&report));
        s
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// What the lines above the text report say about the recording.
fn recording<'a>(header: &'a Header, summary: &'a ReadSummary) -> Recording<'a> {
    let t = &header.target;
    Recording {
        path: &t.path,
        pid: t.pid,
        go_version: &t.go_version,
        mode: &t.mode,
        events: summary.events,
        ending: match &summary.end {
            Some(end) => Ending::Ended {
                reason: &end.reason,
                target_exit: end.target_exit.as_deref(),
            },
            None => Ending::Interrupted,
        },
    }
}
