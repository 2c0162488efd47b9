//! `goroscope report`: reads a recording, analyses it (crates/analysis) and prints the report
//! as text or JSON (crates/output; schema: docs/report-schema.md). Warnings about an
//! incomplete recording go to stderr.

use std::io::Write as _;

use anyhow::Context as _;
use goroscope_analysis::sched::procs::{CpuLimit, Throttling};
use goroscope_analysis::{Analyzer, Options};
use goroscope_events::{EventSource as _, SourceError};
use goroscope_output::{Ending, Recording};
use goroscope_record::{Header, ReadSummary, Reader};

use crate::cli::ReportArgs;

pub fn run(args: &ReportArgs) -> anyhow::Result<()> {
    let path = &args.file;
    let mut reader =
        Reader::open(path).with_context(|| format!("reading the recording {}", path.display()))?;
    let header = reader.header().clone();
    let mut analyzer = Analyzer::new(Options {
        start_ns: Some(header.clock.monotonic_ns),
        ..Options::default()
    });
    let mut cpu_limit = cpu_limit_from(header.cpu_limit.as_ref());
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
    if let (Some(limit), Some(stat)) = (
        cpu_limit.as_mut(),
        summary.end.as_ref().and_then(|e| e.cpu_stat.as_ref()),
    ) {
        limit.throttled = throttling_from(stat);
    }
    analyzer = analyzer.with_cpu_limit(cpu_limit);
    for warning in summary.warnings() {
        eprintln!("goroscope: warning: {}: {warning}", path.display());
    }
    // The symbols are complete only now that every chunk has been read.
    let report = analyzer.finish(&reader.meta());
    let out = if args.json {
        goroscope_output::render_json(&report).context("serializing the report")?
    } else {
        let mut s = goroscope_output::describe_recording(&recording(&header, &summary));
        s.push_str(&goroscope_output::render_text(&report));
        s
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// The analysis' view of the recording's `cpu_limit` (written from `procstat::CpuLimit`).
fn cpu_limit_from(value: Option<&serde_json::Value>) -> Option<CpuLimit> {
    let v = value?.as_object()?;
    let cpus = |key: &str| -> Option<Vec<u32>> {
        v.get(key)?
            .as_array()?
            .iter()
            .map(|c| c.as_u64().and_then(|c| u32::try_from(c).ok()))
            .collect()
    };
    Some(CpuLimit {
        cgroup: v.get("cgroup").and_then(|c| c.as_str()).map(str::to_string),
        quota_cpus: v.get("quota_cpus").and_then(|q| q.as_f64()),
        cpuset: cpus("cpuset"),
        affinity: cpus("affinity").unwrap_or_default(),
        online_cpus: v
            .get("online_cpus")
            .and_then(|c| c.as_u64())
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0),
        throttled: None,
    })
}

/// Quota throttling over the recording, from the end chunk's `cpu_stat` (`procstat::CpuStat`,
/// end minus start).
fn throttling_from(stat: &serde_json::Value) -> Option<Throttling> {
    let n = |key: &str| stat.get(key).and_then(|v| v.as_u64());
    Some(Throttling {
        periods: n("nr_periods")?,
        throttled_periods: n("nr_throttled")?,
        throttled_us: n("throttled_usec")?,
    })
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
