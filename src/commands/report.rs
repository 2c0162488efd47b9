//! `goroscope report`: reads a recording and prints the analysis (crates/analysis) as text or
//! JSON (schema: docs/report-schema.md). Warnings about an incomplete recording go to stderr.

use std::io::Write as _;

use anyhow::Context as _;
use goroscope_analysis::sched::procs::{CpuLimit, Throttling};
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
