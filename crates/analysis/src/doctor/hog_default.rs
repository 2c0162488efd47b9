//! `cpu_hog` without time slices (the default level): sysmon's preemption requests stand in for
//! them. sysmon asks a goroutine to stop only when its P ran it for 10 ms without a schedule,
//! so each request (`scheduler.preemption.sysmon_targets`, every level, exact) is a run of
//! 10 ms or more; the runtime's own samples of that goroutine name it (start function,
//! creation site) and say where it was preempted; the runtime's sampled runnable→running waits
//! (`sched_latency_sampled`) say whether the others waited meanwhile.
//!
//! A hog: a goroutine outside the runtime asked to stop ≥ 3 times that mostly stops only when
//! forced: at least half of its samples (if any) had stopped by a preemption. A goroutine that
//! holds its P for 10 ms but parks most of the time (the goroutines of a lock convoy re-taking
//! their lock) does not keep the others from a P: its samples say `blocked`. Severity as at the full
//! level with the requests in place of the async preemptions: with others waiting, warning —
//! critical with ≥ 20 requests and sampled p99 ≥ 10 ms; without, info. Others waited when the
//! samples say so (p99 ≥ 5 ms or max ≥ 10 ms), or when the hogs held at least a quarter of all
//! the Ps' time in stretches of 10 ms or more while other goroutines ran (≥ 8 samples of them):
//! a goroutine made runnable in such a stretch has no P until sysmon's preemption. The samples
//! alone can miss it: ~30 samples in a few seconds, and on older Go a starved goroutine often
//! waits for its timer to fire (the busy P runs no timers) rather than in a run queue.
//! impact = requests × 10 ms (it ran at least that) / (traced time × GOMAXPROCS).
//! Confidence `sampled`: the requests are counted exactly, the others' waits are estimates.

use super::hog::{fix, severity, RULE};
use super::{ms, share, Check, Confidence, Evidence, Finding, Site};
use crate::sampled::SampledReport;
use crate::sched::preemption::SysmonTarget;
use crate::sites::UNKNOWN_FUNCTION;
use crate::Report;

/// sysmon's `forcePreemptNS`: how long a P runs one goroutine before sysmon asks it to stop.
const FORCE_PREEMPT_NS: u64 = 10_000_000;
const MIN_REQUESTS: u64 = 3;
/// The hogs' share of all P time (at least) from which others starve, if there are others.
const CROWDED_SHARE: f64 = 0.25;
const MIN_OTHER_SAMPLES: u64 = 8;

/// The rule from sysmon's requests; `Err(why)` when the recording has not what it needs.
pub(super) fn check(report: &Report) -> Result<Check, String> {
    let sampled = sampled_waits(report)?;
    let targets = &report.scheduler.preemption.sysmon_targets;
    if !targets.coverage.captured {
        return Err(format!(
            "nor were sysmon's preemption requests: {}",
            targets.coverage.why_text()
        ));
    }
    let hogs: Vec<(&SysmonTarget, String)> = targets
        .by_goroutine
        .iter()
        .filter(|t| t.requests >= MIN_REQUESTS && stops_only_when_forced(t))
        .map(|t| (t, name(report, t)))
        .filter(|(_, f)| !super::is_runtime(f))
        .collect();
    let Some((hog, function)) = hogs.first() else {
        return Ok(Check::Clean);
    };
    let crowd = Crowd::of(report, sampled, &hogs);
    Ok(Check::Findings(vec![finding(
        report, sampled, &crowd, hog, function,
    )]))
}

/// At least half of its samples had stopped by a preemption (none sampled: nothing says
/// otherwise).
fn stops_only_when_forced(t: &SysmonTarget) -> bool {
    t.preempted_samples.saturating_mul(2) >= t.samples
}

/// How much of the Ps' time the hogs held, and how many samples of the other goroutines.
struct Crowd {
    held_share: f64,
    hogs: usize,
    other_samples: u64,
}

impl Crowd {
    fn of(report: &Report, sampled: &SampledReport, hogs: &[(&SysmonTarget, String)]) -> Crowd {
        let held_ns: u64 = hogs
            .iter()
            .map(|(t, _)| t.requests.saturating_mul(FORCE_PREEMPT_NS))
            .sum();
        let hog_samples: u64 = hogs.iter().map(|(t, _)| t.samples).sum();
        Crowd {
            held_share: share(
                held_ns as f64,
                report.duration_ns as f64 * f64::from(gomaxprocs(report)),
            )
            .min(1.0),
            hogs: hogs.len(),
            other_samples: sampled.samples.saturating_sub(hog_samples),
        }
    }

    /// Others had to wait for the hogs' Ps.
    fn starves_others(&self) -> bool {
        self.held_share >= CROWDED_SHARE && self.other_samples >= MIN_OTHER_SAMPLES
    }
}

fn gomaxprocs(report: &Report) -> i32 {
    super::gomaxprocs(report).unwrap_or(1).max(1)
}

/// The runtime's sampled waits, captured.
fn sampled_waits(report: &Report) -> Result<&SampledReport, String> {
    match report.sched_latency_sampled.as_ref() {
        Some(s) if s.coverage.captured => Ok(s),
        Some(s) => Err(format!(
            "nor were the runtime's sampled scheduling episodes: {}",
            s.coverage.why_text()
        )),
        None => Err("nor were the runtime's sampled scheduling episodes".into()),
    }
}

/// The goroutine's start function: from its samples, else from the last goroutine snapshot.
fn name(report: &Report, t: &SysmonTarget) -> String {
    if t.function != UNKNOWN_FUNCTION {
        return t.function.clone();
    }
    report
        .goroutines
        .live
        .iter()
        .find(|r| r.goid == t.goid)
        .and_then(|r| r.start_function.clone())
        .unwrap_or_else(|| t.function.clone())
}

/// Where it was created: its samples, else the last goroutine snapshot.
fn creation_site(report: &Report, t: &SysmonTarget) -> Option<Site> {
    if let Some(l) = t.created_at.as_ref().filter(|l| l.line != 0) {
        return Some(Site::new(&l.function, &l.file, l.line));
    }
    let row = report.goroutines.live.iter().find(|r| r.goid == t.goid)?;
    (!row.function.is_empty() && row.line != 0)
        .then(|| Site::new(&row.function, &row.file, row.line))
}

fn finding(
    report: &Report,
    sampled: &SampledReport,
    crowd: &Crowd,
    hog: &SysmonTarget,
    function: &str,
) -> Finding {
    let lat = &sampled.latency;
    let (p99, max) = (lat.p99.value_ns, lat.max_ns);
    let waited = p99 >= 5_000_000 || max >= 10_000_000 || crowd.starves_others();
    let gomaxprocs = gomaxprocs(report);
    let at_least_ns = hog.requests.saturating_mul(FORCE_PREEMPT_NS);
    let impact = share(
        at_least_ns as f64,
        report.duration_ns as f64 * f64::from(gomaxprocs),
    )
    .min(1.0);
    Finding {
        id: RULE.id.to_string(),
        title: format!("CPU hog: {function} runs 10 ms and more without yielding"),
        severity: severity(waited, hog.requests, p99),
        impact,
        summary: format!(
            "goroutine {} ({function}) was asked to stop by sysmon {} times, each after running \
             10 ms or more without yielding; goroutines sysmon had to stop held at least {:.0}% \
             of the Ps' time at GOMAXPROCS {gomaxprocs}, and runnable goroutines waited up to {} \
             (p99 {}, from {} samples)",
            hog.goid,
            hog.requests,
            crowd.held_share * 100.0,
            ms(max),
            ms(p99),
            sampled.samples
        ),
        site: Some(Site::function(function)),
        evidence: evidence(report, sampled, crowd, hog, function),
        confidence: Confidence::Sampled,
        confidence_why: format!(
            "every sysmon preemption request and SIGURG seen by goroscope's probes (preemptone, \
             signal_generate); the hog's name and where it was preempted from {} runtime samples \
             of it, the others' waits from the runtime's own 1-in-{} samples: estimates",
            hog.samples, sampled.one_in
        ),
        fix: fix(function),
    }
}

fn evidence(
    report: &Report,
    sampled: &SampledReport,
    crowd: &Crowd,
    hog: &SysmonTarget,
    function: &str,
) -> Vec<Evidence> {
    const ROW: &str = "scheduler.preemption.sysmon_targets.by_goroutine[]";
    let mut evidence = vec![
        Evidence::site("runs", Site::function(function)),
        Evidence::count("goroutine", hog.goid, &format!("{ROW}.goid")),
        Evidence::count(
            "sysmon preemption requests (each after ≥ 10 ms without a schedule)",
            hog.requests,
            &format!("{ROW}.requests"),
        ),
        Evidence::ns(
            "running time, at least",
            hog.requests.saturating_mul(FORCE_PREEMPT_NS),
            &format!("{ROW}.requests × 10 ms"),
        ),
        Evidence::count(
            "SIGURGs sysmon sent to stop it",
            hog.sigurg_sent,
            &format!("{ROW}.sigurg_sent"),
        ),
        Evidence::count(
            "runtime samples of it stopped by a preemption",
            hog.preempted_samples,
            &format!("{ROW}.preempted_samples"),
        ),
    ];
    if !hog.stopped_at.is_empty() {
        let frames: Vec<String> = hog
            .stopped_at
            .iter()
            .map(|l| format!("{} ({}:{})", l.function, l.file, l.line))
            .collect();
        evidence.push(Evidence::stack("preempted at", &frames));
    }
    if let Some(site) = creation_site(report, hog) {
        evidence.push(Evidence::site("created at", site));
    }
    evidence.push(Evidence::percent(
        &format!(
            "the Ps' time held by the {} goroutine(s) sysmon had to stop, at least",
            crowd.hogs
        ),
        crowd.held_share * 100.0,
        "Σ sysmon_targets.by_goroutine[].requests × 10 ms / (duration × GOMAXPROCS)",
    ));
    evidence.push(Evidence::count(
        "samples of the other goroutines",
        crowd.other_samples,
        "sched_latency_sampled.samples − the hogs' samples",
    ));
    evidence.push(Evidence::ns(
        "others' runnable→running wait, p99 (sampled)",
        sampled.latency.p99.value_ns,
        "sched_latency_sampled.latency.p99.value_ns",
    ));
    evidence.push(Evidence::ns(
        "others' runnable→running wait, max (sampled)",
        sampled.latency.max_ns,
        "sched_latency_sampled.latency.max_ns",
    ));
    evidence.extend(super::runtime_latency_p99(report));
    // How much of the sampled waits found every P busy, and who held them.
    evidence.extend(super::attributed(report, "ps_busy"));
    evidence
}
