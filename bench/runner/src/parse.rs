//! Reads what the measured processes say about themselves: a workload's `RESULT` line, the
//! `--stats-json` file of `goroscope record`, and — when that file is missing (an older
//! goroscope) — the event and drop counts of record's closing summary on stderr.

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

/// A workload's `RESULT ns_per_op=231.4 ops=1000000 ...` line.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadResult {
    pub ns_per_op: f64,
    pub ops: u64,
    pub wall_ns: Option<u64>,
    /// The workload process's own user+sys CPU (getrusage RUSAGE_SELF) when it printed.
    pub cpu_ns: Option<u64>,
    /// When its main() started (Unix ns): how long a tracer held it before it ran.
    pub start_unix_ns: Option<u128>,
}

/// Finds and parses the last RESULT line of `stdout`.
pub fn workload_result(stdout: &str) -> Result<WorkloadResult> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("RESULT "))
        .context("the workload printed no RESULT line")?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    };
    let ns_per_op: f64 = field("ns_per_op")
        .context("RESULT has no ns_per_op")?
        .parse()
        .with_context(|| format!("bad ns_per_op in RESULT {line}"))?;
    let ops: u64 = field("ops")
        .context("RESULT has no ops")?
        .parse()
        .with_context(|| format!("bad ops in RESULT {line}"))?;
    if !ns_per_op.is_finite() || ns_per_op <= 0.0 || ops == 0 {
        bail!("RESULT has no work done: {line}");
    }
    Ok(WorkloadResult {
        ns_per_op,
        ops,
        wall_ns: field("wall_ns").and_then(|v| v.parse().ok()),
        cpu_ns: field("cpu_ns").and_then(|v| v.parse().ok()),
        start_unix_ns: field("start_unix_ns").and_then(|v| v.parse().ok()),
    })
}

/// `goroscope record --stats-json FILE`. Every field is optional: the file's schema is young.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordStats {
    pub level: Option<String>,
    pub attach_ms: Option<f64>,
    pub duration_s: Option<f64>,
    pub events: Option<u64>,
    pub events_per_sec: Option<f64>,
    pub drops: Option<u64>,
    #[serde(default)]
    pub programs: Vec<ProgramStats>,
}

/// One BPF program's kernel statistics (zero unless kernel.bpf_stats_enabled=1).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct ProgramStats {
    pub name: String,
    #[serde(default)]
    pub run_cnt: u64,
    #[serde(default)]
    pub run_time_ns: u64,
}

pub fn record_stats(text: &str) -> Result<RecordStats> {
    serde_json::from_str(text).context("parsing goroscope's --stats-json file")
}

/// Events, drops and duration from record's summary line:
/// `goroscope: recorded PROG in 1.2 s: 966383 events, 0 dropped, 5214269 bytes`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordSummary {
    pub events: u64,
    pub drops: u64,
    pub duration_s: Option<f64>,
}

pub fn record_summary(stderr: &str) -> Option<RecordSummary> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("goroscope: recorded "))?;
    let (head, counts) = line.rsplit_once(": ")?;
    let mut words = counts.split(", ");
    let events = words.next()?.strip_suffix(" events")?.parse().ok()?;
    let drops = words.next()?.strip_suffix(" dropped")?.parse().ok()?;
    let duration_s = head.rsplit_once(" in ").and_then(|(_, d)| {
        let (value, unit) = d.split_once(' ')?;
        let value: f64 = value.parse().ok()?;
        match unit {
            "s" => Some(value),
            "ms" => Some(value / 1e3),
            _ => None,
        }
    });
    Some(RecordSummary {
        events,
        drops,
        duration_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_result_line_among_other_output() {
        let out = "hello\nRESULT ns_per_op=231.4 ops=1000000 wall_ns=231400000 cpu_ns=5 \
                   start_unix_ns=1795736690505076452 maxrss_kb=2024\n";
        let r = workload_result(out).unwrap();
        assert_eq!(r.ns_per_op, 231.4);
        assert_eq!(r.ops, 1_000_000);
        assert_eq!(r.wall_ns, Some(231_400_000));
        assert_eq!(r.cpu_ns, Some(5));
        assert_eq!(r.start_unix_ns, Some(1_795_736_690_505_076_452));
    }

    #[test]
    fn refuses_missing_or_empty_results() {
        assert!(workload_result("no result here").is_err());
        assert!(workload_result("RESULT ops=5").is_err());
        assert!(workload_result("RESULT ns_per_op=0 ops=0").is_err());
        assert!(workload_result("RESULT ns_per_op=abc ops=3").is_err());
    }

    #[test]
    fn reads_the_record_summary() {
        let err = "goroscope: recording pid 3312 (./pingpong, go1.27.3) to p.rec\n\
                   goroscope: recorded ./pingpong in 1.2 s: 966383 events, 7 dropped, 5214269 bytes\n\
                   \x20 goroutines created 6";
        let s = record_summary(err).unwrap();
        assert_eq!(s.events, 966_383);
        assert_eq!(s.drops, 7);
        assert_eq!(s.duration_s, Some(1.2));
        let short = "goroscope: recorded x in 850 ms: 3 events, 0 dropped, 10 bytes";
        assert_eq!(record_summary(short).unwrap().duration_s, Some(0.85));
        assert!(record_summary("nothing").is_none());
    }

    #[test]
    fn reads_stats_json_with_missing_fields() {
        let s = record_stats(
            r#"{"level":"default","attach_ms":123.4,"events":5,
                "programs":[{"name":"gs_casgstatus","run_cnt":100,"run_time_ns":5000}]}"#,
        )
        .unwrap();
        assert_eq!(s.attach_ms, Some(123.4));
        assert_eq!(s.drops, None);
        assert_eq!(s.programs[0].run_cnt, 100);
        assert!(record_stats("not json").is_err());
    }
}
