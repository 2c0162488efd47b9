//! The report: what `goroscope report --json` prints. The schema is documented field by field,
//! with units, in docs/report-schema.md; bump [`REPORT_VERSION`] and log the change there when a
//! field changes meaning or disappears (adding fields is compatible).

use std::collections::BTreeMap;

use goroscope_events::Capabilities;

use crate::sched::coverage::Coverage;
use serde::{Deserialize, Serialize};

pub use crate::latency::{Bucket, LatencySummary as SchedLatency};

/// Version of the JSON schema (the `version` field).
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    /// The target's Go version (empty if unknown).
    pub go_version: String,
    /// Trace start (CLOCK_MONOTONIC ns): the recording's start, or the first event.
    pub start_ns: u64,
    /// Traced time, from `start_ns` to the recording's end (or the last event).
    pub duration_ns: u64,
    /// What the recording captured, per kind of fact (complete, sampled, snapshot, absent or
    /// unknown): why a section may say "not captured".
    #[serde(default)]
    pub capture: Capabilities,
    pub goroutines: GoroutineReport,
    pub sched_latency: SchedLatency,
    pub threads: ThreadReport,
    pub events: EventReport,
    pub drops: DropReport,
    pub anomalies: AnomalyReport,
    /// The scheduler's decisions (run queues, preemption, syscalls, STW, ...): crate::sched.
    #[serde(default)]
    pub scheduler: crate::sched::SchedulerReport,
    /// The runtime's own statistics read from the target's memory (recordings made before
    /// they were read have none, and their JSON no such field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_metrics: Option<crate::runtime_metrics::RuntimeMetricsReport>,
    /// Scheduling latency estimated from the runtime's own 1-in-8 sampler (the default level;
    /// "not captured" below it): crate::sampled. Absent from older JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched_latency_sampled: Option<crate::sampled::SampledReport>,
    /// Threads and system calls from the kernel-side aggregates (`captured: false` with why at
    /// levels that keep none).
    #[serde(default)]
    pub kernel: crate::kernel::KernelReport,
    /// Every measured runnable→running wait split into causes (crate::attribution); absent
    /// from older JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_attribution: Option<crate::attribution::AttributionReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoroutineReport {
    pub created: u64,
    pub exited: u64,
    pub live_at_end: u64,
    pub preexisting: u64,
    pub closed_by_goid_reuse: u64,
    pub by_creation_site: Vec<SiteRow>,
    pub leaked: Vec<LeakRow>,
    pub live: Vec<LiveRow>,
    /// Of `live_at_end`, the runtime's own goroutines (start function in package `runtime`,
    /// other than `runtime.main`), which `runtime.NumGoroutine` leaves out. Known from goroutine
    /// snapshots only: absent without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_at_end: Option<u64>,
    /// The goroutine snapshots read from the target's memory (absent without them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<SnapshotSummary>,
    /// `"captured": false, "why": ...` when the level records no goroutine lifecycles (then
    /// `created` and `exited` are 0 and mean nothing, and the rest comes from the goroutine
    /// snapshots if there are any); absent when captured.
    #[serde(flatten, skip_serializing_if = "Coverage::is_captured")]
    pub coverage: Coverage,
}

/// What the goroutine snapshots were (docs/report-schema.md, `goroutines.snapshots`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSummary {
    /// Snapshots read over the trace.
    pub count: u64,
    /// The last one, which the report's goroutine rows are built from with the stream.
    pub last_ts_ns: u64,
    pub last_read_ns: u64,
    /// Live goroutines in the last one.
    pub last_goroutines: u64,
    /// `allglen` then: gs ever allocated, dead ones included.
    pub last_allglen: u64,
    /// gs of the last one left out as torn or garbage.
    pub last_skipped: u64,
    /// The last one was cut short (the target exited while it was read).
    pub last_partial: bool,
    /// Live goroutines at the end seen only in the last snapshot, never in the stream (counted in
    /// `preexisting` and `live_at_end`).
    pub only_in_snapshot: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRow {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub created: u64,
    pub exited: u64,
    pub live_at_end: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakRow {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub wait_reason: String,
    pub count: u64,
    /// With goroutine snapshots: how long the longest-blocked of the group has been blocked at
    /// the end, ns (from its park in the stream, else the runtime's `waitsince`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_blocked_ns: Option<u64>,
    /// The median of the same ages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_blocked_ns: Option<u64>,
    /// How many of the group have a known age (the others blocked before any GC saw them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ages_known: Option<u64>,
    /// Where the oldest of the group is blocked: its innermost frame in the program's own code
    /// (outside the runtime and the standard library), "function (file:line)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<String>,
    /// The function the group's goroutines started with (for a `go` statement wrapper, the
    /// function it calls; the wrapper is `start_wrapper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_wrapper: Option<String>,
    /// Growth by site: how many goroutines waited with this site and wait reason in each
    /// goroutine snapshot (at most 64, evenly thinned, the first and the last kept), in time
    /// order. Empty without snapshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<CountAt>,
}

/// A count at a time (ns since the trace start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountAt {
    pub at_ns: u64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRow {
    pub goid: u64,
    pub state: String,
    pub wait_reason: Option<String>,
    pub function: String,
    pub file: String,
    pub line: u32,
    pub preexisting: bool,
    /// With goroutine snapshots: seen only in the last snapshot, never in the stream.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub only_in_snapshot: bool,
    /// Blocked (waiting) this long at the end, ns, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_ns: Option<u64>,
    /// The function it started with (see `LeakRow::start_function`), from the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_wrapper: Option<String>,
    /// The goroutine that created it (Go 1.21+), from the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_goid: Option<u64>,
    /// The id of the M it is locked to, from the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_m: Option<i64>,
    /// Where it stopped, from the snapshot: frames innermost first, "function (file:line)".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadReport {
    pub created: u64,
    pub exited: u64,
    pub preexisting: u64,
    pub max_live: u64,
    pub live_at_end: u64,
    pub m_started: u64,
    pub m_exited: u64,
    /// Switch-ins the kernel did not report, inferred from a thread running while believed off
    /// CPU (some kernels hide switches away from tasks they keep out of tracing): not a loss.
    #[serde(default)]
    pub inferred_switch_ins: u64,
    pub per_thread: Vec<ThreadRow>,
    /// Whether on/off-CPU time, context switches, wake-ups and `inferred_switch_ins` were
    /// captured (`sched_switch`, `sched_wakeup`): `{"captured": false, "why": ...}` when not,
    /// those numbers then 0 and meaningless; absent when captured.
    #[serde(
        default = "Coverage::yes",
        skip_serializing_if = "Coverage::is_captured"
    )]
    pub cpu: Coverage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadRow {
    pub tid: u32,
    pub m_id: Option<i64>,
    pub origin: String,
    pub exited: bool,
    pub on_cpu_ns: u64,
    pub off_cpu_ns: u64,
    pub involuntary_switches: u64,
    pub voluntary_switches: u64,
    pub wakeups: u64,
    /// Time runnable but not running (the kernel's run-queue delay): from each involuntary
    /// switch-out or wake-up to the next switch-in.
    #[serde(default)]
    pub runqueue_wait_ns: u64,
    /// Of `runqueue_wait_ns`, the waits after an involuntary switch-out.
    #[serde(default)]
    pub preempted_wait_ns: u64,
    /// Waits from a wake-up to the switch-in (their time: `runqueue_wait_ns - preempted_wait_ns`).
    #[serde(default)]
    pub wakeup_waits: u64,
    pub goid_at_end: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventReport {
    pub total: u64,
    pub late_events: u64,
    pub by_kind: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropReport {
    pub total: u64,
    pub by_reason: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyReport {
    pub total: u64,
    pub by_kind: BTreeMap<String, u64>,
}
