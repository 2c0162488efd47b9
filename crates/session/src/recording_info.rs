//! [`RecordingInfo`]: what a recording says about itself — who was traced, how, when, how it
//! ended, and whether the file is whole — as `goroscope report --json` shows it in its
//! `recording` object (docs/report-schema.md), so a script can tell a cut-off or damaged
//! recording from a complete one without reading stderr.

use goroscope_record::{Header, ReadSummary};
use serde::Serialize;

/// The `recording` object of the JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingInfo {
    pub target: TargetInfoJson,
    /// The tracer level ("monitor", "default", "full"; empty before levels existed).
    pub level: serde_json::Value,
    /// CLOCK_MONOTONIC and CLOCK_REALTIME (Unix epoch) at the start, in ns.
    pub start_ns: u64,
    pub start_unix_ns: u64,
    /// Why the recording ended ("duration", "SIGINT", "SIGTERM", "target exited"); null
    /// without an end chunk.
    pub end_reason: Option<String>,
    /// How a launched target exited ("exit status: 3", "signal: 9 (SIGKILL)"), if it did.
    pub target_exit: Option<String>,
    /// An end chunk, nothing cut off, nothing damaged: everything recorded is here.
    pub complete: bool,
    /// The recording has its end chunk (goroscope record finished).
    pub end_chunk: bool,
    /// The file ends inside a chunk.
    pub truncated: bool,
    /// Events in the cut-off chunk (from its header; 0 if unknown).
    pub truncated_events: u64,
    /// Damaged chunks skipped, and the events they held (0 if unknown).
    pub corrupt_chunks: u64,
    pub corrupt_events: u64,
    /// Bytes after the end chunk, ignored.
    pub trailing_bytes: u64,
    /// What `goroscope report` also prints on stderr about an incomplete or damaged file.
    pub warnings: Vec<String>,
}

/// The traced program, from the recording's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetInfoJson {
    pub path: String,
    pub pid: u32,
    /// "launch" or "attach".
    pub mode: String,
    pub argv: Vec<String>,
    pub go_version: String,
}

impl RecordingInfo {
    pub fn new(header: &Header, summary: &ReadSummary) -> Self {
        let t = &header.target;
        let end = summary.end.as_ref();
        RecordingInfo {
            target: TargetInfoJson {
                path: t.path.clone(),
                pid: t.pid,
                mode: t.mode.clone(),
                argv: t.argv.clone(),
                go_version: t.go_version.clone(),
            },
            level: serde_json::to_value(&header.level).unwrap_or_default(),
            start_ns: header.clock.monotonic_ns,
            start_unix_ns: header.clock.realtime_ns,
            end_reason: end.map(|e| e.reason.clone()),
            target_exit: end.and_then(|e| e.target_exit.clone()),
            complete: end.is_some() && !summary.truncated && summary.corrupt_chunks == 0,
            end_chunk: end.is_some(),
            truncated: summary.truncated,
            truncated_events: summary.truncated_events,
            corrupt_chunks: summary.corrupt_chunks,
            corrupt_events: summary.corrupt_events,
            trailing_bytes: summary.trailing_bytes,
            warnings: summary.warnings(),
        }
    }
}
