//! Go's own scheduling-latency profile of a trace, the referee for goroscope's latency by stack:
//! `go tool trace -pprof=sched TRACE` writes a pprof profile (sample types `contentions/count`
//! and `delay/nanoseconds`; each sample is the runnable→running waits charged to one stack),
//! and `go tool pprof -raw` prints it as text, which is parsed here:
//!
//! ```text
//! Samples:
//! contentions/count delay/nanoseconds
//!          22    1273216: 2 3 4
//!          92   23180416:
//! Locations
//!      2: 0x44db33 M=1 runtime.asyncPreempt2 /src/runtime/preempt.go:320:0 s=0
//! ```
//!
//! A sample with no locations is a wait Go's tracer could not attach a stack to (e.g. a
//! goroutine woken by a timer, from no goroutine). Inlined frames share a location line-wise;
//! only the first function of each location is kept.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::gotrace::referee_go_version;
use crate::toolchains::{go_binary, go_command};

/// One stack of the profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedSample {
    /// Waits charged to this stack.
    pub count: u64,
    pub delay_ns: u64,
    /// Function names, innermost first (empty: no stack).
    pub frames: Vec<String>,
}

impl SchedSample {
    /// The innermost frame outside package runtime (as goroscope's report names it).
    pub fn first_user_function(&self) -> Option<&str> {
        self.frames
            .iter()
            .find(|f| !f.starts_with("runtime."))
            .or(self.frames.first())
            .map(String::as_str)
    }
}

/// Go's scheduling-latency profile of the trace at `trace`, with the newest toolchain.
pub fn sched_profile(trace: &Path) -> Result<Vec<SchedSample>, String> {
    let go = go_binary(&referee_go_version());
    let profile = trace.with_extension("sched.pprof");
    let out = go_command(&go)
        .args(["tool", "trace", "-pprof=sched"])
        .arg(trace)
        .output()
        .map_err(|e| format!("running go tool trace: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "go tool trace -pprof=sched: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(&profile, &out.stdout).map_err(|e| format!("writing the profile: {e}"))?;
    let mut cmd: Command = go_command(&go);
    let raw = cmd
        .args(["tool", "pprof", "-raw"])
        .arg(&profile)
        .output()
        .map_err(|e| format!("running go tool pprof: {e}"))?;
    let _ = std::fs::remove_file(&profile);
    if !raw.status.success() {
        return Err(format!(
            "go tool pprof -raw: {}",
            String::from_utf8_lossy(&raw.stderr)
        ));
    }
    parse_raw(&String::from_utf8_lossy(&raw.stdout))
}

/// Parses `go tool pprof -raw` output of a sched profile.
pub fn parse_raw(text: &str) -> Result<Vec<SchedSample>, String> {
    let mut section = "";
    let mut samples: Vec<(u64, u64, Vec<u64>)> = Vec::new();
    let mut functions: HashMap<u64, String> = HashMap::new();
    for line in text.lines() {
        let trimmed = line.trim();
        match trimmed {
            "Samples:" | "Locations" | "Mappings" => {
                section = trimmed;
                continue;
            }
            _ => {}
        }
        match section {
            "Samples:" => {
                let Some((values, locs)) = trimmed.split_once(':') else {
                    continue; // the sample-type header line
                };
                let mut v = values.split_whitespace().map(str::parse::<u64>);
                let (Some(Ok(count)), Some(Ok(delay))) = (v.next(), v.next()) else {
                    return Err(format!("sample line {line:?}"));
                };
                let ids = locs
                    .split_whitespace()
                    .map(|id| id.parse::<u64>().map_err(|_| format!("location {id:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                samples.push((count, delay, ids));
            }
            "Locations" => {
                // "2: 0x44db33 M=1 runtime.asyncPreempt2 /path/file.go:320:0 s=0"; inlined
                // frames continue on lines without an id.
                let Some((id, rest)) = trimmed.split_once(": ") else {
                    continue;
                };
                let Ok(id) = id.parse::<u64>() else {
                    continue;
                };
                let function = rest
                    .split_whitespace()
                    .nth(2)
                    .ok_or_else(|| format!("location line {line:?}"))?;
                functions.insert(id, function.to_string());
            }
            _ => {}
        }
    }
    Ok(samples
        .into_iter()
        .map(|(count, delay_ns, ids)| SchedSample {
            count,
            delay_ns,
            frames: ids
                .iter()
                .map(|id| functions.get(id).cloned().unwrap_or_default())
                .collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pprof_raw_output() {
        let text = "PeriodType: trace count\nPeriod: 1\nSamples:\ncontentions/count delay/nanoseconds\n          1   10422080: 1 \n         22    1273216: 2 3 4 \n         92   23180416: \nLocations\n     1: 0x6d1508 M=1 main.cpuhog.func1 /src/cpuhog.go:46:0 s=0\n     2: 0x44db33 M=1 runtime.asyncPreempt2 /src/runtime/preempt.go:320:0 s=0\n     3: 0x48ebea M=1 runtime.asyncPreempt /src/runtime/preempt_amd64.s:124:0 s=0\n     4: 0x6d1539 M=1 main.cpuhog.func1 /src/cpuhog.go:50:0 s=0\nMappings\n1: 0x0/0x0/0x0   \n";
        let samples = parse_raw(text).unwrap();
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].frames, ["main.cpuhog.func1"]);
        assert_eq!(
            (
                samples[1].count,
                samples[1].delay_ns,
                samples[1].frames.len()
            ),
            (22, 1_273_216, 3)
        );
        assert_eq!(samples[1].first_user_function(), Some("main.cpuhog.func1"));
        assert!(samples[2].frames.is_empty());
        assert!(parse_raw("Samples:\nx\n  1 two: 3\n").is_err());
    }
}
