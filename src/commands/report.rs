//! `goroscope report`: reads a recording and prints the analysis (crates/analysis) as text or
//! JSON (schema: docs/report-schema.md). Warnings about an incomplete recording go to stderr.

use std::io::Write as _;

use anyhow::Context as _;
use goroscope_analysis::{Analyzer, Options};
use goroscope_events::{EventSource as _, SourceError};
use goroscope_record::Reader;

use crate::cli::ReportArgs;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let mut reader =
        Reader::open(path).with_context(|| format!("reading the recording {}", path.display()))?;
    let header = reader.header().clone();
    let mut analyzer = Analyzer::new(Options {
        start_ns: Some(header.clock.monotonic_ns),
        ..Options::default()
    })
    .with_cpu_limit(header.cpu_limit.clone());
    let mut batch = Vec::new();
    loop {
        let more = match reader.next_batch(&mut batch) {
            Ok(more) => more,
            // The reader's own message ("chunk K checksum mismatch ...") says it all.
            Err(SourceError::Malformed(msg)) => {
                anyhow::bail!("reading the recording {}: {msg}", path.display())
            }
            Err(e) => {
                return Err(e).with_context(|| format!("reading the recording {}", path.display()))
            }
        };
        for event in batch.drain(..) {
            analyzer.push(event);
        }
        if !more {
            break;
        }
    }
    let summary = reader.summary().clone();
    // Throttling is known only once the end chunk (read last) gives the CPU accounting.
    analyzer = analyzer.with_cpu_stat(summary.end.as_ref().and_then(|e| e.cpu_stat));
    for warning in summary.warnings() {
        eprintln!("goroscope: warning: {}: {warning}", path.display());
    }
    // The symbols are complete only now that every chunk has been read.
    let report = analyzer.finish(&reader.meta());
    let out = if args.json {
        let mut s = serde_json::to_string_pretty(&report).context("serializing the report")?;
        s.push('\n');
        s
    } else {
        let mut s = describe_recording(&header, &summary);
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
