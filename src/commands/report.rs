//! `goroscope report`: replays a recording into the analysis (`goroscope_session::Analysis`,
//! crates/analysis) and prints its report as text or JSON (crates/output; schema:
//! docs/report-schema.md). Warnings about an incomplete or damaged recording go to stderr, and
//! into the JSON's `recording` object with the rest of what the file says about itself. With
//! `--html -o FILE`, the same report (and the recording's timeline, collected on the same
//! replay) becomes a self-contained page (crates/export/src/html), written through
//! `goroscope_export::OutputFile` (temporary file beside it, renamed when complete).

use std::io::Write as _;

use anyhow::Context as _;
use goroscope_export::html::Overview;
use goroscope_export::{FileKind, LiveNames, OutputFile};
use goroscope_output::{Ending, Recording};
use goroscope_record::{Header, ReadSummary};
use goroscope_session::{Analysis, RecordingInfo};

use crate::cli::ReportArgs;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    if args.html {
        return html(args);
    }
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

/// `report --html -o FILE`: the page, written beside FILE and renamed over it once complete.
fn html(args: &ReportArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let output = args
        .output
        .as_deref()
        .context("--html needs -o FILE.html")?;
    // Checked before the (long) replay: a refused name fails at once.
    let mut out = OutputFile::create(output, FileKind::Html, args.force, &[path])?;
    let names = LiveNames::default();
    let (report, overview, replayed) =
        goroscope_export::replay_with(path, Overview::new(names.clone()), &names)?;
    for warning in replayed.summary.warnings() {
        eprintln!("goroscope: warning: {}: {warning}", path.display());
    }
    let recording = RecordingInfo::new(&replayed.header, &replayed.summary);
    let json = goroscope_output::render_json_with_recording(&report, &recording)
        .context("serializing the report")?;
    let overview = overview.finish(report.start_ns, report.duration_ns);
    let page = goroscope_export::html::render(&json, &overview)?;
    out.write_all(page.as_bytes())
        .with_context(|| format!("writing {}", output.display()))?;
    out.commit()?;
    eprintln!(
        "goroscope: wrote the HTML report to {} ({} KB{})",
        output.display(),
        page.len().div_ceil(1024),
        if overview.slices.is_none() {
            ", timeline downsampled"
        } else {
            ""
        }
    );
    Ok(())
}
