//! Turns the model (at the end, or as it stands for a snapshot) into a [`Report`]: symbolizes
//! creation sites, decodes wait reasons with the trace's [`Meta`], and orders every table so
//! the output is deterministic. Reads the model only, so a snapshot disturbs nothing.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use goroscope_events::{CpuLimit, CpuStat, EventKind, Fact, Location, LossReason, Meta};

use crate::counts::EventCounts;
use crate::report::*;
use crate::sched::coverage::Coverage;
use crate::sites::{SiteCount, SiteKey};
use crate::state::goroutines::GoState;
use crate::state::Model;

/// Everything the report is made of, besides the model.
pub struct Inputs<'a> {
    pub meta: &'a Meta,
    pub counts: &'a EventCounts,
    pub late_events: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub scheduler: &'a crate::sched::Scheduler,
    pub cpu_limit: Option<&'a CpuLimit>,
    pub cpu_stat: Option<&'a CpuStat>,
    pub snapshots: &'a crate::snapshots::Snapshots,
}

pub fn report(model: &Model, inputs: &Inputs<'_>) -> Report {
    let meta = inputs.meta;
    let locations: RefCell<HashMap<SiteKey, Location>> = RefCell::new(HashMap::new());
    let locate = |key: SiteKey| {
        locations
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| key.locate(meta.symbolizer.as_ref()))
            .clone()
    };
    let scheduler = inputs.scheduler.finish(
        model,
        &crate::sched::FinishInputs {
            meta,
            start_ns: inputs.start_ns,
            end_ns: inputs.end_ns,
            locate: &locate,
            cpu_limit: inputs.cpu_limit,
            cpu_stat: inputs.cpu_stat,
        },
    );

    let gs = &model.goroutines;
    let sites = gs.site_counts();
    let live = gs.live();

    // Several pcs can resolve to the same line: merge them.
    let mut by_location: BTreeMap<Location, SiteCount> = BTreeMap::new();
    for (&key, count) in &sites {
        let row = by_location.entry(locate(key)).or_default();
        row.created += count.created;
        row.exited += count.exited;
        row.live_at_end += count.live_at_end;
    }
    let mut by_creation_site: Vec<SiteRow> = by_location
        .into_iter()
        .map(|(l, c)| SiteRow {
            function: l.function,
            file: l.file,
            line: l.line,
            created: c.created,
            exited: c.exited,
            live_at_end: c.live_at_end,
        })
        .collect();
    sort_sites(&mut by_creation_site);

    let reason_text = |reason: Option<u8>| match reason {
        Some(r) => meta.wait_reasons.describe(r),
        None => "(unknown)".to_string(),
    };
    let mut leaks: BTreeMap<(Location, String), u64> = BTreeMap::new();
    let mut live_rows = Vec::with_capacity(live.len());
    for g in &live {
        let location = locate(g.site);
        let reason = match g.state {
            GoState::Waiting { reason } => Some(reason_text(reason)),
            _ => None,
        };
        if let Some(reason) = &reason {
            *leaks.entry((location.clone(), reason.clone())).or_default() += 1;
        }
        live_rows.push(LiveRow {
            goid: g.goid,
            state: g.state.name().to_string(),
            wait_reason: reason,
            function: location.function,
            file: location.file,
            line: location.line,
            preexisting: g.site == SiteKey::Preexisting,
            only_in_snapshot: false,
            blocked_ns: None,
            start_function: None,
            start_wrapper: None,
            parent_goid: None,
            locked_m: None,
            stack: Vec::new(),
        });
    }
    let mut leaked: Vec<LeakRow> = leaks
        .into_iter()
        .map(|((l, wait_reason), count)| LeakRow {
            function: l.function,
            file: l.file,
            line: l.line,
            wait_reason,
            count,
            oldest_blocked_ns: None,
            median_blocked_ns: None,
            ages_known: None,
            blocked_at: None,
            start_function: None,
            start_wrapper: None,
            history: Vec::new(),
        })
        .collect();
    leaked.sort_by_key(|l| std::cmp::Reverse(l.count)); // stable: ties stay in location order

    let counts = inputs.counts;
    let seen = |kind: &str| {
        EventKind::NAMES
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| counts.by_kind.get(i))
            .is_some_and(|&n| n > 0)
    };
    let goroutine_coverage = Coverage::of(
        meta,
        Fact::GoroutineScheduling,
        seen("go_create") || seen("go_start") || seen("go_exit"),
        "goroutine creations, runs and exits",
    );
    let mut sched_latency = gs.latency.summary();
    sched_latency.coverage = Coverage::of(
        meta,
        Fact::GoroutineScheduling,
        sched_latency.count > 0,
        "goroutine readies and runs (runnable→running)",
    );
    // Without sched_switch the thread model only knows which threads ran at some point: its
    // on/off-CPU split would be invented, so it is not reported.
    let cpu = Coverage::of(
        meta,
        Fact::ContextSwitches,
        seen("switch"),
        "context switches (sched_switch)",
    );
    let cpu_captured = cpu.captured;
    let th = &model.threads;
    let per_thread = th
        .all
        .iter()
        .map(|t| {
            let (on, off) = t.cpu_ns_at(inputs.end_ns);
            let (on, off, invol, vol, wakeups, runq) = if cpu_captured {
                (
                    on,
                    off,
                    t.involuntary_switches,
                    t.voluntary_switches,
                    t.wakeups,
                    (t.runqueue_wait_ns, t.preempted_wait_ns, t.wakeup_waits),
                )
            } else {
                (0, 0, 0, 0, 0, (0, 0, 0))
            };
            (t, on, off, invol, vol, (wakeups, runq))
        })
        .map(
            |(
                t,
                on_cpu_ns,
                off_cpu_ns,
                involuntary_switches,
                voluntary_switches,
                (wakeups, (runqueue_wait_ns, preempted_wait_ns, wakeup_waits)),
            )| {
                ThreadRow {
                    tid: t.tid,
                    m_id: t.m_id,
                    origin: t.origin.name().to_string(),
                    exited: t.exit_ns.is_some(),
                    on_cpu_ns,
                    off_cpu_ns,
                    involuntary_switches,
                    voluntary_switches,
                    wakeups,
                    runqueue_wait_ns,
                    preempted_wait_ns,
                    wakeup_waits,
                    goid_at_end: if t.exit_ns.is_none() {
                        gs.running_on(t.tid)
                    } else {
                        None
                    },
                }
            },
        )
        .collect();

    let by_kind = EventKind::NAMES
        .iter()
        .zip(counts.by_kind.iter())
        .map(|(name, n)| (name.to_string(), *n))
        .collect();
    let by_reason = LossReason::ALL
        .iter()
        .map(|r| {
            (
                r.name().to_string(),
                counts.drops.get(r).copied().unwrap_or(0),
            )
        })
        .collect();
    let anomalies: BTreeMap<String, u64> = model
        .anomalies
        .iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();

    let mut goroutines = GoroutineReport {
        created: gs.created,
        exited: gs.exited,
        live_at_end: live.len() as u64,
        preexisting: gs.preexisting,
        closed_by_goid_reuse: gs.closed_by_goid_reuse,
        by_creation_site,
        leaked,
        live: live_rows,
        system_at_end: None,
        snapshots: None,
        coverage: goroutine_coverage,
    };
    crate::snapshots::join(
        &mut goroutines,
        inputs.snapshots,
        &crate::snapshots::Join {
            meta,
            goroutines: gs,
            live: &live,
            locate: &locate,
            start_ns: inputs.start_ns,
            end_ns: inputs.end_ns,
        },
    );

    Report {
        version: REPORT_VERSION,
        go_version: meta.go_version.clone(),
        start_ns: inputs.start_ns,
        duration_ns: inputs.end_ns.saturating_sub(inputs.start_ns),
        capture: meta.capabilities.clone(),
        goroutines,
        sched_latency,
        threads: ThreadReport {
            created: th.created,
            exited: th.exited,
            preexisting: th.preexisting,
            max_live: th.max_live(inputs.end_ns),
            live_at_end: th.live_at_end(),
            m_started: th.m_started,
            m_exited: th.m_exited,
            inferred_switch_ins: if cpu_captured {
                th.inferred_switch_ins
            } else {
                0
            },
            per_thread,
            cpu,
        },
        events: EventReport {
            total: counts.total,
            late_events: inputs.late_events,
            by_kind,
        },
        drops: DropReport {
            total: counts.drops_total(),
            by_reason,
        },
        anomalies: AnomalyReport {
            total: anomalies.values().sum(),
            by_kind: anomalies,
        },
        scheduler,
        // Filled by the analyzer, which holds the readings (runtime_metrics.rs).
        runtime_metrics: None,
        // Filled by the analyzer too (sampled.rs).
        sched_latency_sampled: None,
        kernel: Default::default(),
        latency_attribution: None,
    }
}

/// Biggest creators first; ties by location (stable across runs).
pub(crate) fn sort_sites(rows: &mut [SiteRow]) {
    rows.sort_by(|a, b| {
        (b.created, b.live_at_end, b.exited)
            .cmp(&(a.created, a.live_at_end, a.exited))
            .then_with(|| (&a.function, &a.file, a.line).cmp(&(&b.function, &b.file, b.line)))
    });
}
