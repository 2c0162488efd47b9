//! The JSON parts of a recording: the header and the symbol, stats and end chunk payloads
//! (field reference in docs/recording-format.md). Unknown fields are ignored when reading, so
//! adding a field is a compatible change.

use std::collections::BTreeMap;

use goroscope_events::{Capabilities, Capability, CpuLimit, CpuStat, Fact, Level, Location};
use serde::{Deserialize, Serialize};

/// What is known before the first event: who recorded what, and how to interpret the events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// What the events capture, per kind of fact. Absent in recordings made before it was
    /// written: [`Header::capabilities`] then derives it from `level`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities>,
    /// The CPU the process may use when the recording started (cgroup quota, cpuset, affinity);
    /// null if it could not be read.
    #[serde(default)]
    pub cpu_limit: Option<CpuLimit>,
}

impl Header {
    /// The tracer level, `None` when empty (before levels) or unknown to this build.
    pub fn tracer_level(&self) -> Option<Level> {
        Level::from_name(&self.level)
    }

    /// What the events capture: as stored, else what the level captures, else all unknown.
    pub fn capabilities(&self) -> Capabilities {
        match (&self.capabilities, self.tracer_level()) {
            (Some(stored), _) => stored.clone(),
            (None, Some(level)) => level.capabilities(),
            (None, None) => Capabilities::unknown(),
        }
    }

    /// For a file whose format predates the sampled levels (version 3 and older): what its level
    /// captured then (its `default` was every event but status changes and park stacks).
    pub(crate) fn map_legacy_levels(&mut self) {
        let mut c = match (&self.capabilities, self.tracer_level()) {
            (Some(stored), _) => stored.clone(),
            (None, Some(level)) => level.legacy_capabilities(),
            (None, None) => Capabilities::unknown(),
        };
        if c.get(Fact::SampledScheduling) == Capability::Unknown && self.tracer_level().is_some() {
            c.set(Fact::SampledScheduling, Capability::Absent);
        }
        self.capabilities = Some(c);
    }

    /// For a file whose format predates the chunks read from the target's memory (version 2):
    /// whatever its level says, it has no goroutine snapshots and no runtime statistics.
    pub(crate) fn mark_memory_chunks_absent(&mut self) {
        let mut c = self.capabilities();
        c.set(Fact::GoroutineStates, Capability::Absent);
        c.set(Fact::RuntimeMetrics, Capability::Absent);
        self.capabilities = Some(c);
    }

    /// For a file whose format predates kernel-aggregate chunks (before version 4).
    pub(crate) fn mark_kernel_aggregates_absent(&mut self) {
        let mut c = self.capabilities();
        c.set(Fact::KernelAggregates, Capability::Absent);
        self.capabilities = Some(c);
    }
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
    /// For a goroutine's start pc inside a `go` statement wrapper (`main.main.gowrap1`, Go
    /// 1.21+): the wrapper's name, while `function`, `file` and `line` name the function it
    /// calls (the `f` of `go f(x)`, at its entry). Absent otherwise (and in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
    /// For a stack frame's pc inside inlined code (`function` being the innermost inlined
    /// function): the functions it is inlined into, innermost first, each at its call's line —
    /// the frames the runtime's traceback shows for it. Empty otherwise (and in older files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inlined_into: Vec<Location>,
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
    /// The target's cgroup CPU accounting over the recording (end minus start: usage and quota
    /// throttling), null if unknown.
    #[serde(default)]
    pub cpu_stat: Option<CpuStat>,
}

#[cfg(test)]
mod tests {
    use goroscope_events::{Capability, Fact};

    use super::*;

    /// A header as goroscope wrote it before `capabilities`, `cpu_limit` as procstat wrote it.
    const OLD_HEADER: &str = r#"{
        "goroscope_version": "0.1.0",
        "target": {"path": "/bin/app", "pid": 7, "mode": "attach", "go_version": "go1.22.10"},
        "clock": {"monotonic_ns": 1, "realtime_ns": 2},
        "level": "monitor",
        "cpu_limit": {"cgroup": "/user.slice", "cgroup_version": 2, "quota_cpus": 1.5,
                      "cpuset": null, "affinity": [0, 1, 2, 3], "online_cpus": 4}
    }"#;

    #[test]
    fn an_old_header_reads_into_the_typed_fields() {
        let h: Header = serde_json::from_str(OLD_HEADER).unwrap();
        assert_eq!(h.capabilities, None);
        assert_eq!(h.tracer_level(), Some(Level::Monitor));
        assert_eq!(h.capabilities(), Level::Monitor.capabilities());
        let limit = h.cpu_limit.as_ref().expect("cpu_limit");
        assert_eq!(limit.cgroup.as_deref(), Some("/user.slice"));
        assert_eq!(limit.cgroup_version, Some(2));
        assert_eq!(limit.quota_cpus, Some(1.5));
        assert_eq!((limit.affinity.len(), limit.online_cpus), (4, 4));
        // Written back, cpu_limit is the same JSON as before.
        let again = serde_json::to_value(&h).unwrap();
        let before: serde_json::Value = serde_json::from_str(OLD_HEADER).unwrap();
        assert_eq!(again["cpu_limit"], before["cpu_limit"]);
    }

    #[test]
    fn without_a_level_nothing_is_known() {
        let mut h: Header = serde_json::from_str(OLD_HEADER).unwrap();
        h.level = String::new();
        assert_eq!(h.capabilities(), Capabilities::unknown());
        h.level = "a future level".into();
        assert_eq!(h.tracer_level(), None);
        assert_eq!(h.capabilities(), Capabilities::unknown());
    }

    #[test]
    fn stored_capabilities_win_and_round_trip() {
        let mut stored = Level::Default.capabilities();
        stored.set(Fact::GoroutineScheduling, Capability::Sampled { one_in: 8 });
        let h = Header {
            level: "default".into(),
            capabilities: Some(stored.clone()),
            ..Header::default()
        };
        assert_eq!(h.capabilities(), stored);
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains(r#""capabilities":{"goroutine_scheduling":{"sampled""#));
        assert_eq!(serde_json::from_str::<Header>(&json).unwrap(), h);
        // Not written when unknown, so the header stays what older builds wrote.
        let bare = serde_json::to_value(Header::default()).unwrap();
        assert!(bare.get("capabilities").is_none());
    }

    #[test]
    fn an_old_end_record_reads_into_the_typed_cpu_stat() {
        let end: EndRecord = serde_json::from_str(
            r#"{"ts_ns": 9, "reason": "SIGINT", "events": 3, "cpu_stat":
                {"usage_usec": 900, "nr_periods": 10, "nr_throttled": 4, "throttled_usec": 120}}"#,
        )
        .unwrap();
        let stat = end.cpu_stat.expect("cpu_stat");
        assert_eq!(
            (
                stat.usage_usec,
                stat.nr_periods,
                stat.nr_throttled,
                stat.throttled_usec
            ),
            (900, 10, 4, 120)
        );
        let no_stat: EndRecord =
            serde_json::from_str(r#"{"ts_ns": 9, "reason": "SIGINT", "events": 3}"#).unwrap();
        assert_eq!(no_stat.cpu_stat, None);
    }
}
