//! Proves the referee (testsupport::gotrace, Go's own execution tracer summarized) against the
//! sched fixture's ground truth, before goroscope is ever compared with it: each scenario of
//! testdata/go/sched runs with `-trace`, the trace is summarized with the newest `go tool
//! trace`, and the summary must agree with what the program says it did (goroutines it started,
//! syscalls it made, GC calls, GOMAXPROCS values it set, threads it locked). Go 1.19 (old trace
//! format, converted by the reader), 1.25, 1.26 and 1.27; versions whose fixture is not built
//! are skipped with the command that builds them.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use testsupport::gotrace::{summarize_trace, GoTraceSummary};

const MINORS: &[&str] = &["1.19", "1.25", "1.26", "1.27"];

/// The built fixtures among `minors` (skipping, with a message, those not built; at least one
/// must be).
fn fixtures(minors: &[&str], variant: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for minor in minors {
        match testsupport::find_program_fixture("sched", minor, variant) {
            Some(p) => out.push((minor.to_string(), p)),
            None => eprintln!(
                "skipped go{minor}: the sched fixture ({variant}) is not built; run \
                 GOROSCOPE_GO_VERSIONS=\"{minor}\" GOROSCOPE_FIXTURE_VARIANTS=\"normal stripped\" \
                 scripts/build-fixtures.sh sched"
            ),
        }
    }
    assert!(
        !out.is_empty(),
        "no sched fixture built under {}: run GOROSCOPE_FIXTURE_VARIANTS=\"normal stripped\" \
         scripts/build-fixtures.sh sched",
        testsupport::fixtures_dir().display()
    );
    out
}

/// One traced run: the fixture's ground truth and Go's tracer's summary of it.
struct Run {
    label: String,
    truth: Value,
    trace: GoTraceSummary,
}

impl Run {
    fn n(&self, field: &str) -> u64 {
        self.truth[field].as_u64().unwrap_or_else(|| {
            panic!(
                "{}: ground truth has no {field}: {}",
                self.label, self.truth
            )
        })
    }
    fn goids(&self, field: &str) -> Vec<u64> {
        self.truth[field]
            .as_array()
            .unwrap_or_else(|| panic!("{}: ground truth has no {field}", self.label))
            .iter()
            .map(|v| v.as_u64().expect("an id"))
            .collect()
    }
    /// Goroutines the program's own `go` statements started (their start function is in main).
    fn own_goroutines(&self) -> Vec<u64> {
        self.trace.created_starting_in("main.")
    }
}

/// Runs scenario `scenario` of `bin` with `-trace` and `args`, GOMAXPROCS=`procs`.
fn traced_run(minor: &str, bin: &PathBuf, scenario: &str, procs: u32, args: &[&str]) -> Run {
    let label = format!("go{minor}/{scenario}/GOMAXPROCS={procs}");
    let trace_file = testsupport::scratch_path("gotrace_referee", &format!("{label}.trace"));
    let mut cmd = Command::new(bin);
    cmd.args(["-scenario", scenario, "-trace"])
        .arg(&trace_file)
        .args(args)
        .env("GOMAXPROCS", procs.to_string());
    let stdout = testsupport::run(cmd);
    let truth: Value = testsupport::ground_truth(&stdout, &label);
    assert_eq!(truth["scenario"], scenario, "{label}");
    let trace = summarize_trace(&trace_file).unwrap_or_else(|e| panic!("{label}: {e}"));
    let _ = std::fs::remove_file(&trace_file);
    eprintln!(
        "{label}: trace v{} created={} starts={} preempt={} yields={} syscalls={} blocked_ends={} \
         steals={} gc={} stw={} gomaxprocs={:?}",
        trace.trace_version,
        trace.goroutines_created,
        trace.goroutine_starts,
        trace.preemptions,
        trace.yields,
        trace.syscalls,
        trace.syscall_ends_blocked,
        trace.proc_steals,
        trace.gc_cycles,
        trace.stw.len(),
        trace
            .gomaxprocs_values
            .iter()
            .map(|v| v.1)
            .collect::<Vec<_>>()
    );
    let run = Run {
        label,
        truth,
        trace,
    };
    check_common(&run);
    run
}

/// What holds for every scenario: the program's own goroutines are exactly those the tracer saw
/// created in main, the tracer's own goroutines are there, and (new format) the trace began
/// with its "start trace" stop-the-world.
fn check_common(r: &Run) {
    let l = &r.label;
    let started = r.n("goroutines_started");
    assert_eq!(
        r.own_goroutines().len() as u64,
        started,
        "{l}: goroutines started in main"
    );
    assert!(
        r.trace.goroutines_created >= started,
        "{l}: goroutines created"
    );
    assert!(
        !r.trace.tracer_goroutines().is_empty(),
        "{l}: the tracer's own goroutines"
    );
    if r.trace.trace_version >= 22 {
        assert_eq!(
            r.trace.stw_with_reason("start trace").len(),
            1,
            "{l}: start trace STW"
        );
    }
}

#[test]
fn cpuhog_is_preempted_asynchronously() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "cpuhog", 1, &[]);
        let l = &r.label;
        let hog = &r.trace.goroutines[&r.n("hog_goid")];
        assert_eq!(
            hog.start_fn.as_deref(),
            Some("main.cpuhog.func1"),
            "{l}: the hog"
        );
        assert!(hog.exited, "{l}: the hog exited");
        // With one P, main could only stop the hog (before its iteration bound) by running
        // while the hog spun, i.e. after the hog was preempted.
        if r.n("hog_iterations") < r.n("hog_iteration_limit") {
            assert!(hog.preemptions >= 1, "{l}: hog preemptions: {hog:?}");
        }
        assert!(r.trace.preemptions >= hog.preemptions, "{l}");
        // A tick already due when the ticker loops is received without blocking, so the
        // ticker's starts are at most its ticks (plus its first start).
        let ticker = &r.trace.goroutines[&r.n("ticker_goid")];
        assert!(
            ticker.exited && ticker.starts >= 1,
            "{l}: the ticker {ticker:?}"
        );
        assert!(
            ticker.starts <= r.n("ticks") + 1,
            "{l}: the ticker {ticker:?}"
        );
    }
}

#[test]
fn syscalls_are_all_seen_and_blocked_reads_lose_their_p() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "syscalls", 1, &[]);
        let l = &r.label;
        let reader = &r.trace.goroutines[&r.n("reader_goid")];
        let writer = &r.trace.goroutines[&r.n("writer_goid")];
        assert!(
            reader.syscalls >= r.n("pipe_reads") + 3 * r.n("file_reads"),
            "{l}: reader syscalls {reader:?}"
        );
        assert!(
            writer.syscalls >= r.n("pipe_writes"),
            "{l}: writer syscalls {writer:?}"
        );
        assert!(r.trace.syscalls >= r.n("raw_syscalls"), "{l}: syscalls");
        // With one P the writer can only write once the blocked reader's P was taken from it,
        // so (at least) the first read ends without its P.
        assert!(reader.syscall_ends_blocked >= 1, "{l}: reader {reader:?}");
        assert!(
            r.trace.syscall_ends_blocked >= reader.syscall_ends_blocked,
            "{l}"
        );
        assert!(
            r.trace.syscall_ends + r.trace.syscall_ends_blocked <= r.trace.syscalls,
            "{l}: more syscall ends than begins"
        );
    }
}

#[test]
fn http_server_goroutines_match_connections() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "http", 2, &[]);
        let l = &r.label;
        assert_eq!(
            r.n("requests_ok"),
            r.n("requests"),
            "{l}: the fixture's own requests"
        );
        let conn_goroutines = r.trace.created_starting_in("net/http.(*conn).serve").len() as u64;
        assert_eq!(
            conn_goroutines,
            r.n("connections"),
            "{l}: one goroutine per connection"
        );
        assert!(r.trace.syscalls >= r.n("requests"), "{l}: syscalls");
    }
}

#[test]
fn producer_burst_runs_on_several_threads() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "producer", 2, &[]);
        let l = &r.label;
        let tasks: Vec<u64> = r.trace.created_starting_in("main.producer.func1.");
        assert_eq!(tasks.len() as u64, r.n("tasks"), "{l}: tasks");
        let threads: BTreeSet<i64> = tasks
            .iter()
            .flat_map(|g| r.trace.goroutines[g].threads.iter().copied())
            .collect();
        assert!(
            threads.len() as u64 >= r.n("task_threads"),
            "{l}: tasks ran on {} threads, the tracer saw {threads:?}",
            r.n("task_threads")
        );
        let producer = &r.trace.goroutines[&r.n("producer_goid")];
        assert_eq!(
            producer.start_fn.as_deref(),
            Some("main.producer.func1"),
            "{l}"
        );
        eprintln!(
            "{l}: {} of {} tasks never ran on their creator's P",
            r.trace.ran_only_elsewhere(&tasks).len(),
            tasks.len()
        );
    }
}

#[test]
fn lockthread_goroutines_stay_on_their_threads() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "lockthread", 2, &[]);
        let l = &r.label;
        assert!(
            r.truth["exited_locked_tid_gone"].as_bool() == Some(true),
            "{l}: {}",
            r.truth
        );
        let goids = r.goids("locked_goids");
        assert_eq!(goids.len() as u64, r.n("locked_goroutines"), "{l}");
        for (goid, tid) in goids.iter().zip(r.goids("locked_tids")) {
            let g = &r.trace.goroutines[goid];
            assert!(g.exited, "{l}: G{goid} exited");
            // Only new-format traces name threads by tid.
            if r.trace.trace_version >= 22 {
                assert!(
                    g.threads.contains(&(tid as i64)),
                    "{l}: G{goid} on tid {tid}: {g:?}"
                );
            }
        }
    }
}

#[test]
fn gomaxprocs_changes_are_the_two_the_program_made() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "gomaxprocs", 2, &[]);
        let l = &r.label;
        let changes: Vec<u64> = r
            .trace
            .gomaxprocs_changes(r.n("gomaxprocs_before"))
            .iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(
            changes,
            r.goids("gomaxprocs_set"),
            "{l}: GOMAXPROCS changes"
        );
        // Go 1.19's trace format records stop-the-worlds of the GC only.
        if r.trace.trace_version > 19 {
            assert_eq!(
                r.trace.stw_with_reason("GOMAXPROCS").len(),
                2,
                "{l}: {:?}",
                r.trace.stw
            );
        }
    }
}

#[test]
fn gc_cycles_cover_the_explicit_calls() {
    for (minor, bin) in fixtures(MINORS, "normal") {
        let r = traced_run(&minor, &bin, "gc", 2, &[]);
        let l = &r.label;
        let calls = r.n("gc_calls");
        let completed = r.n("num_gc_after") - r.n("num_gc_before");
        assert!(
            r.trace.gc_cycles >= calls,
            "{l}: GC cycles vs runtime.GC calls"
        );
        assert!(r.trace.gc_cycles >= completed, "{l}: GC cycles vs NumGC");
        for phase in ["GC sweep termination", "GC mark termination"] {
            let n = r.trace.stw_with_reason(phase).len() as u64;
            assert!(n >= calls, "{l}: {n} STW {phase}");
        }
    }
}

#[test]
fn stripped_fixtures_trace_the_same() {
    for (minor, bin) in fixtures(&["1.19", "1.27"], "stripped") {
        let r = traced_run(&minor, &bin, "gomaxprocs", 2, &[]);
        let changes: Vec<u64> = r
            .trace
            .gomaxprocs_changes(r.n("gomaxprocs_before"))
            .iter()
            .map(|c| c.1)
            .collect();
        assert_eq!(changes, r.goids("gomaxprocs_set"), "{} (stripped)", r.label);
    }
}
