//! The doctor: what is wrong with the traced program's scheduling, as findings over the
//! [`Report`] — each with the measured evidence, how sure goroscope is (exact, sampled or a
//! snapshot, and why), and a fix a Go developer can act on.
//!
//! The rules are data: [`RULES`] lists them in a fixed order, one module each, every one a pure
//! function of the report. A rule whose facts the recording did not capture says so
//! ([`RuleStatus::NotCaptured`], with the reason) and is skipped: it never guesses from zeros.
//! Findings are ranked by severity, then by [`Finding::impact`] (each rule's estimate, 0–1, of
//! how much of the program it affects), then by rule order. Printed by goroscope-output
//! (`doctor` text and JSON; docs/doctor.md documents the JSON).

mod contention;
mod convoy;
mod evidence;
mod gc;
mod hog;
mod hog_default;
mod leak;
mod lockthread;
mod lockthread_default;
mod quota;
mod runqueue;
mod syscall_names;
mod syscalls;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::Report;

pub use evidence::{Evidence, Site};

/// Version of the doctor's JSON (`version`); bumped when a field changes meaning.
pub const DOCTOR_VERSION: u32 = 1;

/// How bad a finding is. `--fail-on` compares against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a problem at this level.
    Info,
    /// Costs latency or throughput now, or will (a growing leak).
    Warning,
    /// Dominates the program's behaviour.
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn from_name(name: &str) -> Option<Severity> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How the evidence was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Every event counted (goroscope's probes, the kernel's counters).
    Exact,
    /// An estimate from samples (the runtime's 1-in-8 tracking, periodic counters).
    Sampled,
    /// What goroutine snapshots read from memory showed at some instants.
    Snapshot,
}

/// One diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id (stable, e.g. `goroutine_leak`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// The rule's estimate of the share of the program affected, 0–1 (ranking within a
    /// severity; docs/doctor.md gives each rule's formula).
    pub impact: f64,
    /// One sentence with the main numbers.
    pub summary: String,
    /// Where in the program, when the rule can say (a creation site, a function).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
    /// The measurements the finding rests on.
    pub evidence: Vec<Evidence>,
    pub confidence: Confidence,
    /// Why that confidence (what was measured how).
    pub confidence_why: String,
    /// What to change, concretely.
    pub fix: String,
}

/// What a rule concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum RuleStatus {
    /// It produced findings (listed in `findings`).
    Findings { count: usize },
    /// Its facts were captured and show nothing.
    Clean,
    /// Its facts were not captured: skipped.
    NotCaptured { why: String },
}

/// Every rule's outcome, so a reader knows what was checked and what could not be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleOutcome {
    pub id: String,
    pub title: String,
    #[serde(flatten)]
    pub status: RuleStatus,
}

/// The doctor's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub version: u32,
    pub go_version: String,
    pub duration_ns: u64,
    /// Ranked: most severe first, then most impact.
    pub findings: Vec<Finding>,
    /// Every rule, in [`RULES`] order.
    pub rules: Vec<RuleOutcome>,
    /// The report's latency attribution (every measured wait split into causes), which
    /// findings cite; absent when the report has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_attribution: Option<crate::attribution::AttributionReport>,
}

impl Diagnosis {
    /// The most severe finding's severity (None: no findings).
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// What a rule returns.
pub enum Check {
    Findings(Vec<Finding>),
    Clean,
    NotCaptured(String),
}

/// A rule: an id, a title, and a pure function of the report.
pub struct Rule {
    pub id: &'static str,
    pub title: &'static str,
    pub check: fn(&Report) -> Check,
}

/// Every rule, in the order ties are ranked.
pub const RULES: &[Rule] = &[
    quota::RULE,
    hog::RULE,
    leak::RULE,
    convoy::RULE,
    gc::RULE,
    lockthread::RULE,
    syscalls::RULE,
    runqueue::RULE,
    // Last on ties: the machine's contention, after the program's own problems.
    contention::RULE,
];

/// Runs every rule over `report` and ranks the findings.
pub fn diagnose(report: &Report) -> Diagnosis {
    let mut findings = Vec::new();
    let mut rules = Vec::new();
    for (order, rule) in RULES.iter().enumerate() {
        let status = match (rule.check)(report) {
            Check::Findings(found) if found.is_empty() => RuleStatus::Clean,
            Check::Findings(found) => {
                let count = found.len();
                findings.extend(found.into_iter().map(|f| (order, f)));
                RuleStatus::Findings { count }
            }
            Check::Clean => RuleStatus::Clean,
            Check::NotCaptured(why) => RuleStatus::NotCaptured { why },
        };
        rules.push(RuleOutcome {
            id: rule.id.to_string(),
            title: rule.title.to_string(),
            status,
        });
    }
    findings.sort_by(|(oa, a), (ob, b)| {
        b.severity
            .cmp(&a.severity)
            .then(b.impact.total_cmp(&a.impact))
            .then(oa.cmp(ob))
    });
    Diagnosis {
        version: DOCTOR_VERSION,
        go_version: report.go_version.clone(),
        duration_ns: report.duration_ns,
        findings: findings.into_iter().map(|(_, f)| f).collect(),
        rules,
        latency_attribution: report.latency_attribution.clone(),
    }
}

/// The runtime's own `/sched/latencies` p99 over the recording's window, as evidence (the
/// others' waiting beside a hog, at every level that read the runtime's statistics).
fn runtime_latency_p99(report: &Report) -> Option<Evidence> {
    let p99 = report
        .runtime_metrics
        .as_ref()
        .and_then(|m| m.histograms.first())
        .and_then(|h| h.window.quantiles.p99_ns)?;
    Some(Evidence::ns(
        "the runtime's own /sched/latencies p99",
        p99,
        "runtime_metrics.histograms[0].window.p99_ns",
    ))
}

/// The latency attribution's share for `cause` (one of `attribution::CAUSES`), as evidence;
/// None when the attribution was not captured, measured no wait time, or cannot separate
/// `cause` at this level.
fn attributed(report: &Report, cause: &str) -> Option<Evidence> {
    let a = report.latency_attribution.as_ref()?;
    if !a.coverage.captured || a.total_ns == 0 {
        return None;
    }
    let ns = a.causes.list().into_iter().find(|(c, _)| *c == cause)?.1;
    let exact = a.exactness.iter().find(|e| e.cause == cause)?.exact;
    // A cause the level cannot separate (the kernel's at the default level) is 0 and says
    // nothing: cite no share rather than a zero.
    if !exact && ns == 0 {
        return None;
    }
    let occupant = (cause == "ps_busy")
        .then(|| a.ps_busy_occupants.first())
        .flatten()
        .map(|o| Site::new(&o.function, &o.file, o.line));
    Some(Evidence::LatencyAttribution {
        cause: cause.to_string(),
        ns,
        total_ns: a.total_ns,
        percent: (share(ns as f64, a.total_ns as f64) * 1000.0).round() / 10.0,
        exact,
        occupant,
        source: format!("latency_attribution.causes.{cause}_ns"),
    })
}

/// `part / whole`, 0 when `whole` is 0.
fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// A duration for summaries: "1.5 s", "12.5 ms", "250 µs".
fn ms(ns: u64) -> String {
    let v = ns as f64 / 1e6;
    if v >= 1000.0 {
        format!("{:.1} s", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.1} ms")
    } else {
        format!("{:.0} µs", ns as f64 / 1e3)
    }
}

/// Whether a creation site or function is the runtime's own (GC workers, finalizer, ...).
fn is_runtime(function: &str) -> bool {
    function.starts_with("runtime.") || function.starts_with("runtime/")
}

/// GOMAXPROCS at the end as the report knows it: the last value seen, else the last sample,
/// else the runtime's own gauge.
fn gomaxprocs(report: &Report) -> Option<i32> {
    report
        .scheduler
        .gomaxprocs
        .last
        .or(report.scheduler.idle.ps.gomaxprocs_at_end)
        .or_else(|| {
            let m = report.runtime_metrics.as_ref()?;
            let s = m
                .scalars
                .iter()
                .find(|s| s.name == "/sched/gomaxprocs:threads")?;
            i32::try_from(s.at_end).ok()
        })
        .filter(|&n| n > 0)
}

/// A rule's confidence when its facts are "every event" (`Confidence::Exact`, with `why`) —
/// unless the recording captured `fact` only 1 in N (a sampled level): then sampled, saying so.
fn exact_unless_sampled(
    report: &Report,
    fact: goroscope_events::Fact,
    why: &str,
) -> (Confidence, String) {
    match report.capture.get(fact) {
        goroscope_events::Capability::Sampled { one_in } => (
            Confidence::Sampled,
            format!(
                "{why}; this recording captured them about 1 in {one_in} ({}): counts are \
                 estimates",
                fact.name()
            ),
        ),
        _ => (Confidence::Exact, why.to_string()),
    }
}
