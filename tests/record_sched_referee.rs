//! goroscope against Go's own execution tracer on the same run: each scenario of the sched
//! fixture (testdata/go/sched) runs under `goroscope record` with `-trace`, so runtime/trace
//! records the same window; testsupport::gotrace summarizes that trace with the newest
//! `go tool trace -d=parsed`. Where both see every event the counts must be equal (goroutines
//! created, per-goroutine starts, syscalls and preemptions, GOMAXPROCS changes, stop-the-worlds
//! by reason); where they cannot (work stealing and netpoll wake-ups, which Go's tracer does not
//! record), the fixture's own ground truth is the referee. As root with real BPF, on Go 1.19,
//! 1.25, 1.26 and 1.27 (the scheduler's syscall and run-queue internals changed in 1.25/1.26).
//!
//! Why some comparisons are one-sided: goroscope keeps tracing after `trace.Stop` (until the
//! program exits), so goroutines still alive then have more events in goroscope; those that
//! exited inside the trace window must match exactly.

mod bpf_support;
mod record_support;

use std::collections::{BTreeMap, BTreeSet};

use bpf_support::require_root;
use goroscope_events::{Event, EventKind, Meta};
use record_support::{ground_truth, record_launch_with, recording_events, report_json};
use serde_json::Value;
use testsupport::gotrace::{summarize_trace, GoTraceSummary};

const MINORS: &[&str] = &["1.19", "1.25", "1.26", "1.27"];

/// One scenario recorded by goroscope and traced by Go at the same time.
struct Both {
    label: String,
    truth: Value,
    trace: GoTraceSummary,
    events: Vec<Event>,
    meta: Meta,
    report: Value,
}

fn run_both(minor: &str, scenario: &str, procs: u32, args: &[&str]) -> Both {
    let label = format!("go{minor}/{scenario}/GOMAXPROCS={procs}");
    let fixture = testsupport::program_fixture("sched", minor, "normal");
    let trace_file = testsupport::scratch_path("record_sched_referee", &format!("{label}.trace"));
    let rec = testsupport::scratch_path("record_sched_referee", &format!("{label}.rec"));
    let trace_arg = trace_file.to_str().expect("utf-8 path");
    let mut fixture_args = vec!["-scenario", scenario, "-trace", trace_arg];
    fixture_args.extend_from_slice(args);
    let procs_env = procs.to_string();
    let stdout = record_launch_with(
        &fixture,
        &fixture_args,
        &[("GOMAXPROCS", &procs_env)],
        &[],
        &rec,
        &label,
    );
    let truth = ground_truth(&stdout, &label);
    let trace = summarize_trace(&trace_file).unwrap_or_else(|e| panic!("{label}: {e}"));
    let (events, meta) = recording_events(&rec);
    let report = report_json(&rec);
    let _ = std::fs::remove_file(&trace_file);
    let _ = std::fs::remove_file(&rec);
    Both {
        label,
        truth,
        trace,
        events,
        meta,
        report,
    }
}

impl Both {
    fn n(&self, field: &str) -> u64 {
        self.truth[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no {field} in {}", self.label, self.truth))
    }

    /// Function a goroutine started in, from goroscope's `GoCreate.start_pc`.
    fn start_fn(&self, start_pc: u64) -> String {
        self.meta
            .symbolizer
            .resolve(start_pc)
            .map(|l| l.function)
            .unwrap_or_default()
    }

    /// Goroutines goroscope saw created whose function is in package main.
    fn created_in_main(&self) -> BTreeSet<u64> {
        self.events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::GoCreate { goid, start_pc, .. }
                    if self.start_fn(start_pc).starts_with("main.") =>
                {
                    Some(goid)
                }
                _ => None,
            })
            .collect()
    }

    /// Per goroutine, how many events `pick` accepts.
    fn per_goid(&self, pick: impl Fn(&EventKind) -> Option<u64>) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for e in &self.events {
            if let Some(goid) = pick(&e.kind) {
                *out.entry(goid).or_default() += 1;
            }
        }
        out
    }

    fn starts(&self) -> BTreeMap<u64, u64> {
        self.per_goid(|k| match k {
            EventKind::GoStart { goid, .. } => Some(*goid),
            _ => None,
        })
    }

    /// `by(goid)` of goroscope equals `theirs` for every goroutine that lived inside the trace;
    /// at least `theirs` for the others. Returns how many matched exactly.
    fn compare_per_goroutine(
        &self,
        what: &str,
        ours: &BTreeMap<u64, u64>,
        theirs: impl Fn(&testsupport::gotrace::GoroutineStats) -> u64,
    ) -> usize {
        let mut exact = 0;
        for id in self.trace.created_starting_in("main.") {
            let g = &self.trace.goroutines[&id];
            let (o, t) = (ours.get(&id).copied().unwrap_or(0), theirs(g));
            if g.exited {
                assert_eq!(o, t, "{}: {what} of goroutine {id} ({:?})", self.label, g.start_fn);
                exact += 1;
            } else {
                assert!(o >= t, "{}: {what} of goroutine {id}: {o} < {t}", self.label);
            }
        }
        exact
    }

    /// The report's scheduler section (must be there).
    fn sched(&self) -> &Value {
        let s = &self.report["scheduler"];
        assert!(s.is_object(), "{}: no scheduler section", self.label);
        s
    }
}

/// What holds for every scenario: the same goroutines created in main, and the same number of
/// starts for each of them.
fn check_common(b: &Both) {
    let ours = b.created_in_main();
    let theirs: BTreeSet<u64> = b.trace.created_starting_in("main.").into_iter().collect();
    assert_eq!(ours, theirs, "{}: goroutines created in main", b.label);
    assert_eq!(
        ours.len() as u64,
        b.n("goroutines_started"),
        "{}: the program's own count",
        b.label
    );
    // Go's tracer before 1.22 also logs a start when a goroutine leaves a syscall that lost its
    // P and gets one straight back in exitsyscall's fast path (no `execute`, so no GoStart for
    // goroscope); the converted trace shows those as blocked syscall ends.
    let old_format = b.trace.trace_version < 22;
    let exact = b.compare_per_goroutine("starts", &b.starts(), |g| {
        g.starts - if old_format { g.syscall_ends_blocked } else { 0 }
    });
    eprintln!(
        "{}: {} goroutines in main, starts equal for the {exact} that exited in the trace",
        b.label,
        ours.len()
    );
    assert_eq!(b.report["drops"]["total"], 0, "{}: drops", b.label);
}

#[test]
fn cpu_hog_is_preempted_asynchronously_as_go_trace_counts() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "cpuhog", 1, &[]);
        check_common(&b);
        let hog = b.n("hog_goid");
        let preempted = b.per_goid(|k| match k {
            EventKind::GoYield {
                goid,
                preempted: Some(true),
            } => Some(*goid),
            _ => None,
        });
        let async_preempts = b.per_goid(|k| match k {
            EventKind::AsyncPreempt { goid } => Some(*goid),
            _ => None,
        });
        let theirs = b.trace.goroutines[&hog].preemptions;
        let ours = preempted.get(&hog).copied().unwrap_or(0);
        eprintln!(
            "{}: hog {hog} preempted {ours} times (Go's tracer: {theirs}), {} asynchronously",
            b.label,
            async_preempts.get(&hog).copied().unwrap_or(0)
        );
        assert_eq!(ours, theirs, "{}: preemptions of the hog", b.label);
        // The hog calls no function: only a signal can stop it, and the ticker needs the P.
        assert!(ours >= 1, "{}: the hog was never preempted", b.label);
        assert!(
            async_preempts.get(&hog).copied().unwrap_or(0) >= 1,
            "{}: no asynchronous preemption of the hog",
            b.label
        );
        let sigurg = b
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::SignalDeliver { sig: 23 }))
            .count();
        assert!(sigurg >= 1, "{}: no SIGURG delivered", b.label);
    }
}

#[test]
fn syscalls_and_p_handoffs_match_go_trace() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "syscalls", 1, &["-delay", "15ms"]);
        check_common(&b);
        let syscalls = b.per_goid(|k| match k {
            EventKind::SyscallEnter { goid, .. } => Some(*goid),
            _ => None,
        });
        b.compare_per_goroutine("syscalls", &syscalls, |g| g.syscalls);
        // The reader is main: alive past the trace, so at least Go's count.
        let reader = b.n("reader_goid");
        let theirs = b.trace.goroutines.get(&reader).map_or(0, |g| g.syscalls);
        let ours = syscalls.get(&reader).copied().unwrap_or(0);
        assert!(ours >= theirs, "{}: reader syscalls {ours} < {theirs}", b.label);
        assert!(ours >= b.n("pipe_reads"), "{}: reader syscalls", b.label);
        // The kernel's view: every blocking pipe read is a read(2) on the reader's thread.
        let reader_tid = b.n("reader_tid") as u32;
        let reads = b
            .events
            .iter()
            .filter(|e| {
                e.tid == reader_tid && matches!(e.kind, EventKind::KernelSyscall { nr: 0, .. })
            })
            .count() as u64;
        assert!(
            reads >= b.n("pipe_reads"),
            "{}: read(2) on the reader's thread: {reads}",
            b.label
        );
        // With one P, the writer only runs once sysmon took the P from the blocked reader.
        let retakes = b
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Handoff {
                        caller_goid: 0,
                        caller_has_p: false,
                        caller_locked: false,
                        ..
                    }
                )
            })
            .count() as u64;
        eprintln!(
            "{}: reader syscalls {ours} (Go: {theirs}), read(2) {reads}, sysmon hand-offs \
             {retakes}, Go's blocked syscall ends {}",
            b.label, b.trace.syscall_ends_blocked
        );
        assert!(retakes >= 1, "{}: no P retaken by sysmon", b.label);
        assert!(b.trace.syscall_ends_blocked >= 1, "{}: referee", b.label);
    }
}

#[test]
fn gomaxprocs_changes_match_go_trace() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "gomaxprocs", 2, &[]);
        check_common(&b);
        let before = b.n("gomaxprocs_before");
        // procresize also runs at every start-the-world with the same value: keep changes.
        let mut ours = Vec::new();
        let mut current = None;
        for e in &b.events {
            if let EventKind::ProcResize { nprocs } = e.kind {
                if current.is_some() && current != Some(nprocs) {
                    ours.push(nprocs as u64);
                }
                current = Some(nprocs);
            }
        }
        let theirs: Vec<u64> = b
            .trace
            .gomaxprocs_changes(before)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(ours, theirs, "{}: GOMAXPROCS changes", b.label);
        let set: Vec<u64> = b.truth["gomaxprocs_set"]
            .as_array()
            .expect("gomaxprocs_set")
            .iter()
            .map(|v| v.as_u64().expect("a value"))
            .collect();
        assert_eq!(ours, set, "{}: the values the program set", b.label);
    }
}

#[test]
fn gc_stop_the_worlds_match_go_trace() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "gc", 2, &[]);
        check_common(&b);
        let mut ours: BTreeMap<String, u64> = BTreeMap::new();
        for e in &b.events {
            if let EventKind::StwBegin { reason } = e.kind {
                let name = match reason {
                    Some(r) => b.meta.stw_reasons.describe(r),
                    None => "(no reason before Go 1.21)".into(),
                };
                *ours.entry(name).or_default() += 1;
            }
        }
        let mut theirs: BTreeMap<String, u64> = BTreeMap::new();
        for s in &b.trace.stw {
            *theirs.entry(s.reason.clone()).or_default() += 1;
        }
        eprintln!("{}: STW goroscope {ours:?}, Go's tracer {theirs:?}", b.label);
        for reason in ["GC sweep termination", "GC mark termination"] {
            let t = theirs.get(reason).copied().unwrap_or(0);
            assert!(t >= b.n("gc_calls"), "{}: referee {reason}", b.label);
            if *minor != "1.19" {
                assert_eq!(ours.get(reason).copied().unwrap_or(0), t, "{}: {reason}", b.label);
            }
        }
        if *minor == "1.19" {
            // No reason argument: every STW counts; Go 1.19's tracer shows only the GC ones.
            let total: u64 = ours.values().sum();
            assert!(total >= b.trace.stw.len() as u64, "{}", b.label);
        }
        let stopped = b.events.iter().filter(|e| matches!(e.kind, EventKind::StwStopped));
        let ended = b.events.iter().filter(|e| matches!(e.kind, EventKind::StwEnd));
        let begun: u64 = ours.values().sum();
        assert_eq!(stopped.count() as u64, begun, "{}: every STW stopped", b.label);
        assert_eq!(ended.count() as u64, begun, "{}: every STW ended", b.label);
    }
}

#[test]
fn locked_goroutines_and_the_destroyed_thread() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "lockthread", 2, &[]);
        check_common(&b);
        let locks = b.per_goid(|k| match k {
            EventKind::LockOSThread { goid } => Some(*goid),
            _ => None,
        });
        let want: Vec<u64> = b.truth["locked_goids"]
            .as_array()
            .expect("locked_goids")
            .iter()
            .map(|v| v.as_u64().expect("goid"))
            .collect();
        for goid in &want {
            assert!(locks.contains_key(goid), "{}: lock of {goid} missing", b.label);
        }
        let exited_locked = b.n("exited_locked_goid");
        let exit = b
            .events
            .iter()
            .find(|e| matches!(e.kind, EventKind::GoExit { goid, locked: true } if goid == exited_locked))
            .unwrap_or_else(|| panic!("{}: no locked exit of {exited_locked}", b.label));
        let tid = b.n("exited_locked_tid") as u32;
        assert_eq!(exit.tid, tid, "{}: the locked goroutine's thread", b.label);
        assert!(
            b.events
                .iter()
                .any(|e| e.tid == tid && e.ts_ns > exit.ts_ns && e.kind == EventKind::ThreadExit),
            "{}: thread {tid} not destroyed after the locked exit",
            b.label
        );
        let locked_exits = b
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::GoExit { locked: true, .. }))
            .count() as u64;
        assert_eq!(locked_exits, b.n("exited_locked"), "{}", b.label);
    }
}

#[test]
fn producer_burst_is_stolen_from_the_producers_p() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "producer", 2, &[]);
        check_common(&b);
        let producer = b.n("producer_goid");
        // The P the producer ran on when it created the tasks.
        let producer_ps: BTreeSet<i32> = b
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::GoStart { goid, p_id, .. } if goid == producer => Some(p_id),
                _ => None,
            })
            .collect();
        let steals_from_producer: u64 = b
            .events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Steal {
                    victim_p, queued, ..
                } if producer_ps.contains(&victim_p) => Some(u64::from(queued)),
                _ => None,
            })
            .sum();
        let tasks_elsewhere = b.n("tasks_on_other_threads");
        eprintln!(
            "{}: producer on Ps {producer_ps:?}; steals from them found {steals_from_producer} \
             queued; tasks on other threads {tasks_elsewhere}; Go's tracer: {} ran only on \
             another P",
            b.label,
            b.trace
                .ran_only_elsewhere(&b.trace.created_starting_in("main.producer.func1."))
                .len()
        );
        if tasks_elsewhere > 0 {
            assert!(
                steals_from_producer > 0,
                "{}: tasks ran on other threads but no steal from the producer's P",
                b.label
            );
        }
    }
}

#[test]
fn http_requests_wake_goroutines_from_the_netpoller() {
    require_root();
    for minor in MINORS {
        let b = run_both(minor, "http", 2, &["-r", "200"]);
        check_common(&b);
        let io_wait: BTreeSet<u8> = (0..=u8::MAX)
            .filter(|r| b.meta.wait_reasons.get(*r) == Some("IO wait"))
            .collect();
        let parks = b
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::GoPark { wait_reason, .. } if io_wait.contains(&wait_reason)))
            .count() as u64;
        eprintln!("{}: {parks} parks in IO wait", b.label);
        assert!(
            parks >= b.n("connections"),
            "{}: each connection waits for the network at least once",
            b.label
        );
        let _ = b.sched();
    }
}
