//! The report: what `goroscope report --json` prints. The schema is documented field by field,
//! with units, in docs/report-schema.md; bump [`REPORT_VERSION`] and log the change there when a
//! field changes meaning or disappears (adding fields is compatible).

use std::collections::BTreeMap;

use goroscope_events::Capabilities;
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
    pub per_thread: Vec<ThreadRow>,
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
