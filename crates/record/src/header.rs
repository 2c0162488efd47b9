//! The JSON parts of a recording: the header and the symbol, stats and end chunk payloads
//! (field reference in docs/recording-format.md). Unknown fields are ignored when reading, so
//! adding a field is a compatible change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What is known before the first event: who recorded what, and how to interpret the events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// goroscope's version that wrote the file.
    pub goroscope_version: String,
    pub target: Target,
    /// The goroscope command line that made the recording.
    #[serde(default)]
    pub command_line: Vec<String>,
    pub clock: ClockBase,
    /// Raw `waitReason` value → the string Go prints, for the target's Go version.
    #[serde(default)]
    pub wait_reasons: BTreeMap<u8, String>,
    /// Raw `stwReason` value → the runtime's string (Go 1.21+; empty before).
    #[serde(default)]
    pub stw_reasons: BTreeMap<u8, String>,
    /// The tracer level ("monitor", "default", "full"; empty in recordings made before levels).
    #[serde(default)]
    pub level: String,
    /// The CPU the process may use when the recording started (cgroup quota, cpuset, affinity),
    /// as written by `procstat::CpuLimit`; null if it could not be read.
    #[serde(default)]
    pub cpu_limit: Option<serde_json::Value>,
}

/// The traced program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The executable's path.
    pub path: String,
    pub pid: u32,
    /// "launch" (started by goroscope) or "attach" (-p).
    pub mode: String,
    /// The launched command and its arguments (launch mode).
    #[serde(default)]
    pub argv: Vec<String>,
    /// e.g. "go1.27.3".
    pub go_version: String,
    #[serde(default)]
    pub go_build_id: Option<String>,
    #[serde(default)]
    pub gnu_build_id: Option<String>,
    #[serde(default)]
    pub pie: bool,
}

/// Both clocks read at the start, so CLOCK_MONOTONIC event timestamps map to wall time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockBase {
    pub monotonic_ns: u64,
    pub realtime_ns: u64,
}

/// One resolved program counter. `pc` is a runtime address exactly as the symbolizer is asked
/// for it (for a creation pc, the analysis asks for `creation_pc - 1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolEntry {
    pub pc: u64,
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// A user stack captured by the tracer (at a park or an async preemption), resolved while
/// recording: frames innermost first, each a runtime pc with its function and line (return
/// addresses resolved at `pc - 1`, so on the call's line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEntry {
    pub id: u32,
    pub frames: Vec<SymbolEntry>,
}

/// Cumulative counters at the time of writing (each stats chunk replaces the previous one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRecord {
    /// CLOCK_MONOTONIC when the counters were read.
    pub ts_ns: u64,
    /// Events the BPF side submitted.
    pub submitted: u64,
    /// Events recorded in the file so far.
    pub recorded: u64,
    /// Loss reason (the `LossReason` snake_case name) → events lost.
    pub drops: BTreeMap<String, u64>,
}

/// Written last by a recording that ended normally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndRecord {
    /// CLOCK_MONOTONIC at the end.
    pub ts_ns: u64,
    /// Why it ended: "duration", "SIGINT", "SIGTERM", "target exited".
    pub reason: String,
    /// The launched target's exit, e.g. "exit status: 0" (None in attach mode or when unknown).
    #[serde(default)]
    pub target_exit: Option<String>,
    /// Events in the file.
    pub events: u64,
    /// The target's cgroup CPU accounting over the recording (`procstat::CpuStat`, end minus
    /// start: usage and quota throttling), null if unknown.
    #[serde(default)]
    pub cpu_stat: Option<serde_json::Value>,
}
