//! The rules over synthetic reports: an empty report of a `full` recording, with the fields a
//! rule reads set by hand.

use goroscope_events::{Level, Meta};

use super::*;
use crate::{Analyzer, CountAt, LeakRow, LiveRow, Options, SnapshotSummary};

fn empty() -> Report {
    let meta = Meta::new("go1.27.3").with_level(Level::Full);
    let mut r = Analyzer::new(Options {
        start_ns: Some(0),
        end_ns: Some(10_000_000_000),
        ..Options::default()
    })
    .finish(&meta);
    r.duration_ns = 10_000_000_000;
    r.scheduler.gomaxprocs.max = Some(2);
    r.scheduler.gomaxprocs.last = Some(2);
    r
}

fn with_snapshots(mut r: Report) -> Report {
    r.capture.set(
        goroscope_events::Fact::GoroutineStates,
        goroscope_events::Capability::Snapshot,
    );
    r.goroutines.snapshots = Some(SnapshotSummary {
        count: 11,
        last_ts_ns: 10_000_000_000,
        last_read_ns: 1000,
        last_goroutines: 10,
        last_allglen: 10,
        last_skipped: 0,
        last_partial: false,
        only_in_snapshot: 0,
    });
    r
}

fn leak_row(function: &str, counts: &[u64]) -> LeakRow {
    LeakRow {
        function: function.into(),
        file: "/src/main.go".into(),
        line: 31,
        wait_reason: "chan send".into(),
        count: *counts.last().unwrap(),
        oldest_blocked_ns: Some(9_000_000_000),
        median_blocked_ns: Some(4_000_000_000),
        ages_known: Some(1),
        blocked_at: Some("main.handle.func1 (/src/main.go:33)".into()),
        start_function: Some("main.handle.func1".into()),
        start_wrapper: None,
        history: counts
            .iter()
            .enumerate()
            .map(|(i, &count)| CountAt {
                at_ns: i as u64 * 1_000_000_000,
                count,
            })
            .collect(),
    }
}

#[test]
fn an_empty_report_has_no_findings() {
    let d = diagnose(&with_snapshots(empty()));
    assert!(d.findings.is_empty(), "{:#?}", d.findings);
    assert_eq!(d.rules.len(), RULES.len());
    assert_eq!(d.worst(), None);
}

#[test]
fn a_growing_site_is_a_leak_and_a_flat_pool_is_not() {
    let mut r = with_snapshots(empty());
    r.goroutines.leaked = vec![
        leak_row("main.pool", &[8, 8, 8, 8, 8, 8]),
        leak_row("main.handle", &[0, 20, 40, 60, 80, 100]),
        leak_row("runtime.gcBgMarkStartWorkers", &[0, 10, 20, 30, 40, 50]),
    ];
    let d = diagnose(&r);
    assert_eq!(d.findings.len(), 1, "{:#?}", d.findings);
    let f = &d.findings[0];
    assert_eq!(f.id, "goroutine_leak");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.site.as_ref().unwrap().function, "main.handle");
    assert!(f.summary.contains("+60 in the last 3.0 s"), "{}", f.summary);
    assert_eq!(f.confidence, Confidence::Snapshot);
}

#[test]
fn without_snapshots_the_leak_rule_says_not_captured() {
    let mut r = empty();
    r.goroutines.leaked = vec![leak_row("main.handle", &[0, 20, 40, 60])];
    let d = diagnose(&r);
    assert!(d.findings.iter().all(|f| f.id != "goroutine_leak"));
    let rule = d.rules.iter().find(|o| o.id == "goroutine_leak").unwrap();
    assert!(
        matches!(rule.status, RuleStatus::NotCaptured { .. }),
        "{rule:?}"
    );
}

fn mutex_waiter(goid: u64) -> LiveRow {
    LiveRow {
        goid,
        state: "waiting".into(),
        wait_reason: Some("semacquire".into()),
        function: "main.main".into(),
        file: "/src/main.go".into(),
        line: 50,
        preexisting: false,
        only_in_snapshot: false,
        blocked_ns: Some(1000),
        start_function: Some("main.worker".into()),
        start_wrapper: None,
        parent_goid: Some(1),
        locked_m: None,
        stack: vec![
            "runtime.gopark (/go/src/runtime/proc.go:435)".into(),
            "sync.runtime_SemacquireMutex (/go/src/runtime/sema.go:95)".into(),
            "sync.(*Mutex).lockSlow (/go/src/sync/mutex.go:173)".into(),
            "sync.(*Mutex).Lock (/go/src/sync/mutex.go:92)".into(),
            "main.(*account).deposit (/src/main.go:20)".into(),
            "main.worker (/src/main.go:40)".into(),
        ],
    }
}

#[test]
fn mutex_waiters_in_a_snapshot_name_the_lock_site_on_go_1_19() {
    let mut r = with_snapshots(empty());
    r.goroutines.live = (1..=4).map(mutex_waiter).collect();
    let d = diagnose(&r);
    let f = &d.findings[0];
    assert_eq!(f.id, "lock_convoy");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.confidence, Confidence::Snapshot);
    let site = f.site.as_ref().unwrap();
    assert_eq!(site.function, "main.(*account).deposit");
    assert_eq!((site.file.as_str(), site.line), ("/src/main.go", 20));
}

#[test]
fn findings_rank_by_severity_then_impact() {
    let mut r = with_snapshots(empty());
    r.goroutines.live = (1..=4).map(mutex_waiter).collect();
    r.goroutines.leaked = vec![leak_row("main.handle", &[0, 2000, 4000, 6000, 8000, 10000])];
    // A stop-the-world share of 25%: critical, first.
    r.scheduler.stop_the_world.total_ns = 2_500_000_000;
    r.scheduler.stop_the_world.count = 10;
    let d = diagnose(&r);
    let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        ["goroutine_leak", "gc_pauses", "lock_convoy"],
        "{:#?}",
        d.findings
    );
    assert_eq!(d.worst(), Some(Severity::Critical));
}

fn only(d: &Diagnosis, id: &str) -> Finding {
    let found: Vec<&Finding> = d.findings.iter().filter(|f| f.id == id).collect();
    assert_eq!(found.len(), 1, "{id}: {:#?}", d.findings);
    found[0].clone()
}

#[test]
fn gomaxprocs_over_the_quota_is_a_warning_then_critical_when_throttled_often() {
    use crate::sched::procs::CpuLimitReport;
    use goroscope_events::{CpuLimit, Throttling};
    let mut r = empty();
    r.scheduler.gomaxprocs.over_quota = Some(true);
    r.scheduler.gomaxprocs.cpu_limit = Some(CpuLimitReport {
        limit: CpuLimit {
            quota_cpus: Some(0.5),
            online_cpus: 2,
            ..CpuLimit::default()
        },
        throttled: Some(Throttling {
            periods: 30,
            throttled_periods: 2,
            throttled_us: 20_000,
        }),
    });
    let f = only(&diagnose(&r), "gomaxprocs_over_quota");
    assert_eq!(f.severity, Severity::Warning);
    assert!((f.impact - 0.75).abs() < 1e-9, "1 - 0.5 / 2: {}", f.impact);
    assert!(f.fix.contains("GOMAXPROCS=1"), "{}", f.fix);
    if let Some(l) = r.scheduler.gomaxprocs.cpu_limit.as_mut() {
        l.throttled = Some(Throttling {
            periods: 30,
            throttled_periods: 29,
            throttled_us: 1_400_000,
        });
    }
    assert_eq!(
        only(&diagnose(&r), "gomaxprocs_over_quota").severity,
        Severity::Critical
    );
    // No quota: nothing to be over; no CPU limit recorded: not captured.
    if let Some(l) = r.scheduler.gomaxprocs.cpu_limit.as_mut() {
        l.limit.quota_cpus = None;
    }
    r.scheduler.gomaxprocs.over_quota = None;
    assert!(diagnose(&r).findings.is_empty());
    r.scheduler.gomaxprocs.cpu_limit = None;
    let d = diagnose(&r);
    let rule = d
        .rules
        .iter()
        .find(|o| o.id == "gomaxprocs_over_quota")
        .unwrap();
    assert!(matches!(rule.status, RuleStatus::NotCaptured { .. }));
}

#[test]
fn a_hog_needs_long_slices_async_preemptions_and_waiting_others() {
    use crate::sched::preemption::TopGoroutine;
    let mut r = empty();
    r.scheduler.preemption.time_slices.top_goroutines = vec![
        TopGoroutine {
            goid: 7,
            function: "main.spin".into(),
            slices: 100,
            running_ns: 5_000_000_000,
            max_slice_ns: 30_000_000,
            async_preemptions: 90,
            sysmon_requests: 90,
        },
        TopGoroutine {
            goid: 3,
            function: "runtime.gcBgMarkWorker".into(),
            slices: 10,
            running_ns: 500_000_000,
            max_slice_ns: 90_000_000,
            async_preemptions: 200,
            sysmon_requests: 10,
        },
    ];
    // Nobody waited: an info.
    assert_eq!(only(&diagnose(&r), "cpu_hog").severity, Severity::Info);
    r.sched_latency.p99_ns = 15_000_000;
    r.sched_latency.max_ns = 25_000_000;
    let f = only(&diagnose(&r), "cpu_hog");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.site.unwrap().function,
        "main.spin",
        "the runtime's worker is left out"
    );
}

#[test]
fn the_hog_cites_the_ps_busy_share_and_who_held_the_ps() {
    use crate::attribution::{AttributionReport, Causes, Exactness, Occupant};
    use crate::sched::preemption::TopGoroutine;
    let mut r = empty();
    r.scheduler.preemption.time_slices.top_goroutines = vec![TopGoroutine {
        goid: 7,
        function: "main.spin".into(),
        slices: 100,
        running_ns: 5_000_000_000,
        max_slice_ns: 30_000_000,
        async_preemptions: 90,
        sysmon_requests: 90,
    }];
    let exact = |cause: &str, exact| Exactness {
        cause: cause.into(),
        exact,
        how: String::new(),
    };
    r.latency_attribution = Some(AttributionReport {
        coverage: crate::sched::coverage::Coverage::yes(),
        basis: "every_wait".into(),
        waits: 10,
        total_ns: 1_000,
        causes: Causes {
            ps_busy_ns: 800,
            other_ns: 200,
            ..Causes::default()
        },
        exactness: vec![
            exact("stw", true),
            exact("kernel", false),
            exact("syscall", true),
            exact("ps_busy", true),
            exact("other", true),
        ],
        ps_busy_occupants: vec![Occupant {
            function: "main.start".into(),
            file: "/src/main.go".into(),
            line: 9,
            ns: 800,
        }],
        ..AttributionReport::default()
    });
    let f = only(&diagnose(&r), "cpu_hog");
    let cited: Vec<_> = f
        .evidence
        .iter()
        .filter(|e| matches!(e, Evidence::LatencyAttribution { .. }))
        .collect();
    assert_eq!(
        cited,
        vec![&Evidence::LatencyAttribution {
            cause: "ps_busy".into(),
            ns: 800,
            total_ns: 1_000,
            percent: 80.0,
            exact: true,
            occupant: Some(Site::new("main.start", "/src/main.go", 9)),
            source: "latency_attribution.causes.ps_busy_ns".into(),
        }]
    );
    // A cause the level cannot separate is not cited as a zero.
    assert_eq!(attributed(&r, "kernel"), None);
    assert!(attributed(&r, "other").is_some());
}

#[test]
fn forced_gc_cycles_name_runtime_gc() {
    let mut r = empty();
    r.scheduler.stop_the_world.count = 600;
    r.scheduler.stop_the_world.total_ns = 60_000_000;
    r.scheduler.stop_the_world.max_ns = 400_000;
    r.scheduler.stop_the_world.gc.cycles = 300;
    r.scheduler.stop_the_world.gc.gc_start_calls.cycle = 300;
    let f = only(&diagnose(&r), "gc_pauses");
    assert_eq!(f.severity, Severity::Warning, "30 cycles a second");
    assert_eq!(f.site.unwrap().function, "runtime.GC");
    r.scheduler.stop_the_world.gc.cycles = 10;
    r.scheduler.stop_the_world.gc.gc_start_calls.cycle = 0;
    r.scheduler.stop_the_world.total_ns = 1_000_000;
    assert!(diagnose(&r).findings.iter().all(|f| f.id != "gc_pauses"));
}

#[test]
fn threads_destroyed_by_locked_exits_and_syscall_handoffs() {
    let mut r = empty();
    r.scheduler.locking.exited_locked.goroutines = 50;
    r.scheduler.locking.exited_locked.threads_destroyed = 50;
    r.scheduler.syscalls.handoffs.total = 2_000;
    r.scheduler.syscalls.handoffs.by_cause.stoplockedm = 1_950;
    let d = diagnose(&r);
    assert_eq!(only(&d, "lockosthread_churn").severity, Severity::Warning);
    assert!(
        d.findings.iter().all(|f| f.id != "syscall_handoffs"),
        "a locked M's hand-offs are not a syscall's: {:#?}",
        d.findings
    );
    r.scheduler.syscalls.handoffs.by_cause.stoplockedm = 0;
    assert_eq!(
        only(&diagnose(&r), "syscall_handoffs").severity,
        Severity::Warning,
        "200 a second"
    );
}

#[test]
fn at_the_default_level_syscall_handoffs_name_the_calls_from_the_aggregates_and_the_samples() {
    use crate::kernel::{BucketedLatency, KernelSyscallRow};
    use crate::sampled::SyscallReturnRow;
    use crate::sched::coverage::Coverage;
    let mut r = empty();
    r.scheduler.syscalls.handoffs.total = 2_000;
    r.scheduler.syscalls.kernel.coverage = Coverage::no("needs --level full");
    r.kernel.coverage = Coverage::yes();
    let call = |name: &str, count: u64, total_ns: u64| KernelSyscallRow {
        nr: 0,
        name: name.into(),
        tid: None,
        count,
        errors: 0,
        total_ns,
        latency: BucketedLatency {
            p99_le_ns: Some(4_194_304),
            ..Default::default()
        },
    };
    // Most time first, as the kernel section sorts them: the idle Ms' futex waits lead.
    r.kernel.syscalls = vec![
        call("futex", 900, 30_000_000_000),
        call("write", 50_000, 9_000_000_000),
        call("fsync", 40_000, 8_000_000_000),
    ];
    // No samples: the program's call that took the most time, the site unknown.
    let f = only(&diagnose(&r), "syscall_handoffs");
    assert!(f.title.contains("blocks in write"), "{}", f.title);
    assert_eq!(f.site, None);
    assert_eq!(f.confidence, Confidence::Sampled);
    assert!(!f
        .evidence
        .iter()
        .any(|e| format!("{e:?}").contains("futex")));
    // The samples name the site and the call its stacks made.
    let sampled = r.sched_latency_sampled.as_mut().unwrap();
    sampled.coverage = Coverage::yes();
    sampled.syscall_returns = vec![
        SyscallReturnRow {
            function: "runtime.main".into(),
            samples: 90,
            total_wait_ns: 90_000_000,
            ..Default::default()
        },
        SyscallReturnRow {
            function: "main.syscalls".into(),
            file: "/src/main.go".into(),
            line: 238,
            samples: 40,
            total_wait_ns: 80_000_000,
            calls: vec!["fsync".into()],
        },
    ];
    let f = only(&diagnose(&r), "syscall_handoffs");
    assert_eq!(
        f.title,
        "Syscall-heavy: main.syscalls blocks in fsync, handing off Ps"
    );
    assert_eq!(
        f.site,
        Some(Site::new("main.syscalls", "/src/main.go", 238))
    );
    assert!(
        f.confidence_why.contains("40 of the runtime's"),
        "{}",
        f.confidence_why
    );
}

#[test]
fn threads_queued_in_the_kernel_are_contention_and_need_context_switches() {
    let mut r = empty();
    r.threads.per_thread = vec![crate::ThreadRow {
        tid: 10,
        m_id: Some(0),
        origin: "preexisting".into(),
        exited: false,
        on_cpu_ns: 4_000_000_000,
        off_cpu_ns: 6_000_000_000,
        involuntary_switches: 400,
        voluntary_switches: 10,
        wakeups: 10,
        runqueue_wait_ns: 5_000_000_000,
        preempted_wait_ns: 4_990_000_000,
        wakeup_waits: 10,
        goid_at_end: None,
    }];
    let f = only(&diagnose(&r), "kernel_cpu_contention");
    assert_eq!(
        f.severity,
        Severity::Critical,
        "4.99 s of 8.99 s waiting after preemption"
    );
    // Wake-up latency alone: 20 µs per wake-up is a free CPU; 2 ms is a busy one.
    r.threads.per_thread[0].preempted_wait_ns = 0;
    r.threads.per_thread[0].runqueue_wait_ns = 100_000 * 20_000;
    r.threads.per_thread[0].wakeup_waits = 100_000;
    assert!(
        diagnose(&r).findings.is_empty(),
        "{:#?}",
        diagnose(&r).findings
    );
    r.threads.per_thread[0].runqueue_wait_ns = 1_000 * 2_000_000;
    r.threads.per_thread[0].wakeup_waits = 1_000;
    assert_eq!(
        only(&diagnose(&r), "kernel_cpu_contention").severity,
        Severity::Warning
    );
    r.threads.cpu = crate::sched::coverage::Coverage::no("monitor");
    let d = diagnose(&r);
    let rule = d
        .rules
        .iter()
        .find(|o| o.id == "kernel_cpu_contention")
        .unwrap();
    assert!(matches!(rule.status, RuleStatus::NotCaptured { .. }));
}

#[test]
fn a_long_global_queue_names_the_site_that_created_the_most() {
    let mut r = empty();
    let samples = &mut r.scheduler.idle.samples;
    samples.coverage = crate::sched::coverage::Coverage::yes();
    samples.count = 300;
    samples.global_runq.mean = 3.0;
    samples.global_runq.max = 40;
    r.sched_latency.p99_ns = 50_000_000;
    assert!(
        diagnose(&r).findings.is_empty(),
        "3 on average at GOMAXPROCS 2 is no pile-up: {:#?}",
        diagnose(&r).findings
    );
    r.scheduler.idle.samples.global_runq.mean = 200.0;
    r.scheduler.idle.samples.global_runq.max = 3000;
    r.goroutines.by_creation_site = vec![
        crate::SiteRow {
            function: "main.burst".into(),
            file: "/src/main.go".into(),
            line: 290,
            created: 50_000,
            exited: 50_000,
            live_at_end: 0,
        },
        crate::SiteRow {
            function: "main.main".into(),
            file: "/src/main.go".into(),
            line: 20,
            created: 3,
            exited: 0,
            live_at_end: 3,
        },
    ];
    let f = only(&diagnose(&r), "runqueue_pileup");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.site.unwrap().line, 290);
    assert_eq!(f.confidence, Confidence::Sampled);
}

/// The runtime's statistics with `sync.Mutex and RWMutex wait` grown by `wait_ns` over 1 s.
fn mutex_wait(wait_ns: u64) -> crate::runtime_metrics::RuntimeMetricsReport {
    let q = serde_json::json!({"count": 0, "p50_ns": null, "p90_ns": null, "p99_ns": null});
    serde_json::from_value(serde_json::json!({
        "readings": 2, "from_ns": 0, "to_ns": 1_000_000_000u64, "histograms": [],
        "scalars": [{"name": "sync.Mutex and RWMutex wait", "source": "sched.totalMutexWaitTime",
                     "unit": "ns", "at_start": 0, "at_end": wait_ns, "delta": wait_ns}],
        "vs_goroscope": {
            "sched_latency": {"runtime": q, "goroscope": q},
            "stw_pauses": {"runtime_gc": null, "runtime_other": null, "goroscope": 0,
                           "goroscope_total_ns": 0, "goroscope_max_ns": 0},
            "goroutines_created": {"runtime": 0, "goroscope": 0},
            "gc_cycles": {"runtime": 0, "goroscope": 0}
        }
    }))
    .expect("a runtime_metrics report")
}

#[test]
fn without_a_waiter_in_the_snapshot_the_full_levels_park_stacks_name_the_lock() {
    let mut r = with_snapshots(empty());
    r.runtime_metrics = Some(mutex_wait(3_000_000_000));
    let f = only(&diagnose(&r), "lock_convoy");
    assert_eq!(
        f.severity,
        Severity::Critical,
        "3 waiters on average at GOMAXPROCS 2"
    );
    assert!(f.site.is_none(), "no waiter seen, no park stacks: {f:#?}");
    r.scheduler.latency_by_stack.by_stack = vec![crate::sched::stacks::StackRow {
        frames: mutex_waiter(1).stack,
        first_user_function: "main.(*account).deposit".into(),
        first_run: false,
        count: 500,
        total_ns: 900_000_000,
        max_ns: 5_000_000,
    }];
    let f = only(&diagnose(&r), "lock_convoy");
    assert_eq!(f.site.unwrap().function, "main.(*account).deposit");
    // A little contention is an info, none is clean.
    r.runtime_metrics = Some(mutex_wait(100_000_000));
    assert_eq!(only(&diagnose(&r), "lock_convoy").severity, Severity::Info);
    r.runtime_metrics = Some(mutex_wait(1_000_000));
    assert!(diagnose(&r).findings.is_empty());
}

#[test]
fn without_switch_events_the_kernel_aggregates_tell_contention() {
    let mut r = empty();
    r.threads.cpu = crate::sched::coverage::Coverage::no("not per event");
    r.kernel.coverage = crate::sched::coverage::Coverage::yes();
    r.kernel.thread_totals.on_cpu_ns = 1_000_000_000;
    r.kernel.thread_totals.runs = Some(1_000);
    // 20 µs a run: a free CPU.
    r.kernel.thread_totals.run_delay_ns = Some(20_000_000);
    assert!(diagnose(&r).findings.is_empty());
    // 3 ms a run: a busy one.
    r.kernel.thread_totals.run_delay_ns = Some(3_000_000_000);
    let f = only(&diagnose(&r), "kernel_cpu_contention");
    assert_eq!(f.severity, Severity::Warning);
    r.kernel.thread_totals.run_delay_ns = None;
    let d = diagnose(&r);
    let rule = d
        .rules
        .iter()
        .find(|o| o.id == "kernel_cpu_contention")
        .unwrap();
    assert!(
        matches!(rule.status, RuleStatus::NotCaptured { .. }),
        "{rule:?}"
    );
}

#[test]
fn a_sampled_capture_makes_an_exact_rule_say_sampled() {
    use goroscope_events::{Capability, Fact};
    let mut r = empty();
    r.scheduler.locking.exited_locked.goroutines = 50;
    r.scheduler.locking.exited_locked.threads_destroyed = 50;
    assert_eq!(
        only(&diagnose(&r), "lockosthread_churn").confidence,
        Confidence::Exact
    );
    r.capture
        .set(Fact::GoroutineScheduling, Capability::Sampled { one_in: 8 });
    let f = only(&diagnose(&r), "lockosthread_churn");
    assert_eq!(f.confidence, Confidence::Sampled);
    assert!(f.confidence_why.contains("1 in 8"), "{}", f.confidence_why);
}

/// An empty report of a recording at `level` (the same window and GOMAXPROCS as [`empty`]).
fn empty_at(level: Level) -> Report {
    let meta = Meta::new("go1.27.3").with_level(level);
    let mut r = Analyzer::new(Options {
        start_ns: Some(0),
        end_ns: Some(10_000_000_000),
        ..Options::default()
    })
    .finish(&meta);
    r.duration_ns = 10_000_000_000;
    r.scheduler.gomaxprocs.max = Some(2);
    r.scheduler.gomaxprocs.last = Some(2);
    r
}

fn sysmon_target(
    goid: u64,
    function: &str,
    requests: u64,
) -> crate::sched::preemption::SysmonTarget {
    crate::sched::preemption::SysmonTarget {
        goid,
        requests,
        sigurg_sent: requests,
        function: function.into(),
        created_at: Some(goroscope_events::Location {
            function: "main.run".into(),
            file: "/src/main.go".into(),
            line: 40,
        }),
        samples: requests / 8,
        preempted_samples: requests / 8,
        stopped_at: vec![goroscope_events::Location {
            function: function.into(),
            file: "/src/main.go".into(),
            line: 43,
        }],
    }
}

#[test]
fn at_the_default_level_sysmons_requests_tell_the_hog() {
    let mut r = empty_at(Level::Default);
    let sampled = r.sched_latency_sampled.as_mut().expect("sampled part");
    assert!(sampled.coverage.captured);
    sampled.samples = 100;
    let targets = &mut r.scheduler.preemption.sysmon_targets;
    targets.by_goroutine = vec![
        // The runtime's own worker is left out, however often stopped.
        sysmon_target(3, "runtime.gcBgMarkWorker", 900),
        sysmon_target(7, "main.spin", 2),
    ];
    // Two requests are not a hog (one could be a slow start-up).
    assert!(
        diagnose(&r).findings.is_empty(),
        "{:#?}",
        diagnose(&r).findings
    );

    // 160 requests: ≥ 1.6 s of the 20 s of P time (8%), and the samples saw no long wait.
    r.scheduler.preemption.sysmon_targets.by_goroutine[1].requests = 160;
    let f = only(&diagnose(&r), "cpu_hog");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.site.as_ref().unwrap().function, "main.spin");
    assert_eq!(f.confidence, Confidence::Sampled);
    assert!(f.evidence.contains(&Evidence::site(
        "created at",
        Site::new("main.run", "/src/main.go", 40)
    )));

    // A goroutine that mostly parks (a convoy's, re-taking its lock) is not a hog, however
    // often sysmon found it running for 10 ms.
    let mut convoy = sysmon_target(9, "main.convoy.func1", 900);
    (convoy.samples, convoy.preempted_samples) = (800, 5);
    r.scheduler
        .preemption
        .sysmon_targets
        .by_goroutine
        .insert(0, convoy);
    assert_eq!(
        only(&diagnose(&r), "cpu_hog").site.unwrap().function,
        "main.spin"
    );

    // The samples saw others wait: a warning, then critical when they waited long.
    let sampled = r.sched_latency_sampled.as_mut().unwrap();
    sampled.latency.max_ns = 12_000_000;
    assert_eq!(only(&diagnose(&r), "cpu_hog").severity, Severity::Warning);
    let sampled = r.sched_latency_sampled.as_mut().unwrap();
    sampled.latency.p99.value_ns = 11_000_000;
    assert_eq!(only(&diagnose(&r), "cpu_hog").severity, Severity::Critical);
}

#[test]
fn at_the_default_level_a_hog_holding_the_ps_starves_the_others_the_samples_missed() {
    let mut r = empty_at(Level::Default);
    r.scheduler.gomaxprocs.last = Some(1);
    r.sched_latency_sampled.as_mut().unwrap().samples = 80;
    // ≥ 4 s of the 10 s of the only P, in stretches of 10 ms or more; 30 samples of others
    // (the hog's are 50), none of a long wait.
    r.scheduler.preemption.sysmon_targets.by_goroutine = vec![sysmon_target(7, "main.spin", 400)];
    let f = only(&diagnose(&r), "cpu_hog");
    assert_eq!(f.severity, Severity::Warning, "{f:#?}");
    // Hardly anyone else ran (55 samples, the hog's 50 and 5 others): nobody starved.
    r.sched_latency_sampled.as_mut().unwrap().samples = 55;
    assert_eq!(only(&diagnose(&r), "cpu_hog").severity, Severity::Info);
}

#[test]
fn at_the_monitor_level_the_hog_is_not_captured_but_m_exits_tell_thread_churn() {
    let mut r = empty_at(Level::Monitor);
    r.scheduler.preemption.sysmon_targets.by_goroutine = vec![sysmon_target(7, "main.spin", 400)];
    r.scheduler.locking.threads_destroyed.threads = 3;
    let d = diagnose(&r);
    let status = |id: &str| d.rules.iter().find(|o| o.id == id).unwrap().status.clone();
    match status("cpu_hog") {
        RuleStatus::NotCaptured { why } => assert!(why.contains("monitor"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Without a sample of them, the site is unknown; the counts are exact.
    let f = only(&d, "lockosthread_churn");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.site, None);
    assert_eq!(f.confidence, Confidence::Exact);
}

#[test]
fn at_the_default_level_m_exits_are_threads_destroyed_with_a_sampled_site() {
    use crate::sched::locking::DestroyedSite;
    let mut r = empty_at(Level::Default);
    assert!(
        !r.scheduler.locking.exited_locked.coverage.captured,
        "no goroutine exits at the default level"
    );
    assert_eq!(
        only_status(&diagnose(&r), "lockosthread_churn"),
        RuleStatus::Clean
    );
    let d = &mut r.scheduler.locking.threads_destroyed;
    d.threads = 50;
    d.lock_seen = 50;
    d.site_known = 7;
    d.by_site = vec![DestroyedSite {
        function: "main.startLocked".into(),
        file: "/src/main.go".into(),
        line: 12,
        threads: 7,
    }];
    let f = only(&diagnose(&r), "lockosthread_churn");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.site,
        Some(Site::new("main.startLocked", "/src/main.go", 12))
    );
    // The site rests on 7 sampled goroutines of 50.
    assert_eq!(f.confidence, Confidence::Sampled);
    assert!(f.confidence_why.contains("7 of 50"), "{}", f.confidence_why);
}

fn only_status(d: &Diagnosis, id: &str) -> RuleStatus {
    d.rules.iter().find(|o| o.id == id).unwrap().status.clone()
}
