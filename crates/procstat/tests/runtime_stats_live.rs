//! RuntimeStatsReader against the runtime's own `runtime/metrics` on live programs: the
//! testdata/go/rtmetrics fixture makes scheduling latency, GC and mutex contention, quiesces,
//! prints what runtime/metrics says (GROUND_TRUTH) and blocks; the statistics read from its
//! memory must then be the same — the scheduling-latency and stop-the-world histograms bucket
//! for bucket with the same boundaries, the GC cycle counts, the thread count, GOMAXPROCS, the
//! mutex wait total to the nanosecond (stripped builds: at most it, since their live Ms' lock
//! wait cannot be reached without `runtime.allm`), and a goroutine id generator that covers every
//! goroutine created. Each CI Go version (scripts/go-versions.sh), normal and stripped. The
//! comparison is made only when two readings of ours around the program's agree (`observe`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use goinspect::{inspect_pid, InspectOptions};
use goroscope_events::{MetricHistogram, RuntimeStats};
use procstat::RuntimeStatsReader;
use serde_json::Value;
use testsupport::{ground_truth, program_fixture, selected_go_versions};

/// Go's printed float (strconv 'g' -1, "+Inf"/"-Inf") back to the same f64.
fn go_float(v: &Value) -> f64 {
    let s = v.as_str().expect("floats are printed as strings");
    s.parse::<f64>()
        .unwrap_or_else(|e| panic!("{s:?} is not a float: {e}"))
}

/// Runs the fixture and, once it has quiesced, reads its statistics (A), asks it for a fresh
/// runtime/metrics reading (G), and reads them again (B): G lies between A and B, so when A equals
/// B, G must equal them. A stray runtime transition in between (the fixture's own wake-up, a
/// preemption on a loaded machine) makes A and B differ: then again, a few times.
fn observe(minor: &str, variant: &str) -> (Value, RuntimeStats, usize) {
    let what = format!("go{minor} {variant}");
    let bin = program_fixture("rtmetrics", minor, variant);
    let mut child = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let observed = (|| {
        let insp =
            inspect_pid(child.id(), &InspectOptions::default()).map_err(|e| e.to_string())?;
        let reader = RuntimeStatsReader::from_inspection(&insp).map_err(|e| e.to_string())?;
        for _ in 0..20 {
            let before = reader.read(0).map_err(|e| e.to_string())?;
            stdin.write_all(b"\n").map_err(|e| e.to_string())?;
            line.clear();
            stdout.read_line(&mut line).map_err(|e| e.to_string())?;
            let after = reader.read(0).map_err(|e| e.to_string())?;
            if before == after {
                let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id()))
                    .map_err(|e| e.to_string())?
                    .count();
                return Ok((ground_truth(&line, &what), after, tasks));
            }
        }
        Err("the runtime's statistics kept moving".to_string())
    })();
    drop(stdin);
    let _ = child.wait();
    observed.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A histogram from the ground truth equals ours, boundaries and counts.
fn same_histogram(what: &str, truth: &Value, ours: &MetricHistogram, boundaries_ns: &[f64]) {
    let buckets: Vec<f64> = truth["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(go_float)
        .collect();
    let secs: Vec<f64> = boundaries_ns.iter().map(|ns| ns / 1e9).collect();
    assert_eq!(secs, buckets, "{what}: bucket boundaries");
    let counts: Vec<u64> = truth["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(ours.counts, counts, "{what}: counts");
}

fn check(minor: &str, variant: &str) {
    let what = format!("go{minor} {variant}");
    let (truth, s, tasks) = observe(minor, variant);
    let m = &truth["metrics"];
    eprintln!(
        "{what}: {} latencies, gc {:?}, mutex {:?}+{:?} (per M: {}), goidgen {}, threads {}",
        s.sched_latencies.total(),
        s.gc_cycles,
        s.mutex_wait_ns,
        s.runtime_lock_wait_ns,
        s.runtime_lock_wait_per_m,
        s.goid_generator,
        s.threads
    );
    let boundaries = s.scheme.boundaries_ns();
    let latencies = &m["/sched/latencies:seconds"];
    same_histogram(&what, latencies, &s.sched_latencies, &boundaries);
    assert!(
        s.sched_latencies.total() > 0,
        "{what}: no scheduling latency"
    );

    let minor_n: u32 = minor.trim_start_matches("1.").parse().unwrap();
    for (name, ours) in s.stw_histograms() {
        match (&m[name], ours) {
            (Value::Null, None) => assert!(minor_n < 22, "{what}: no {name}"),
            (t, Some(h)) if !t.is_null() => {
                same_histogram(&format!("{what} {name}"), t, h, &boundaries)
            }
            (t, o) => panic!("{what}: {name}: runtime/metrics {t} vs ours {o:?}"),
        }
    }
    let gc_stw = s.stw_total_gc.as_ref().map_or(0, |h| h.total());
    assert!(minor_n < 22 || gc_stw > 0, "{what}: no GC pauses");

    assert_eq!(
        s.gc_cycles.map(u64::from),
        m["/gc/cycles/total:gc-cycles"].as_u64(),
        "{what}: GC cycles"
    );
    assert_eq!(
        s.forced_gc_cycles.map(u64::from),
        m["/gc/cycles/forced:gc-cycles"].as_u64(),
        "{what}: forced GC cycles"
    );
    assert!(
        s.forced_gc_cycles.unwrap() >= 5,
        "{what}: 5 runtime.GC calls"
    );
    assert_eq!(
        i64::from(s.gomaxprocs),
        m["/sched/gomaxprocs:threads"].as_i64().unwrap()
    );

    // Every M is a thread of the process (no cgo): the same count as /proc/PID/task, and as
    // /sched/threads/total:threads where the version has it (1.26+).
    assert_eq!(s.threads, tasks as i64, "{what}: threads vs /proc/PID/task");
    if let Some(t) = m["/sched/threads/total:threads"].as_i64() {
        assert_eq!(s.threads, t, "{what}: /sched/threads/total");
    }

    // Ps take goroutine ids 16 at a time: the generator covers every goroutine created, and
    // runs ahead by less than a batch per P that ever existed.
    let program = truth["created_by_program"].as_u64().unwrap();
    assert!(s.goid_generator >= program, "{what}: goidgen vs {program}");
    if let Some(created) = m["/sched/goroutines-created:goroutines"].as_u64() {
        let ps = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2) as u64;
        assert!(
            (created..=created + 16 * ps).contains(&s.goid_generator),
            "{what}: goidgen {} vs created {created}",
            s.goid_generator
        );
    }

    match m["/sync/mutex/wait/total:seconds"].as_str() {
        None => assert_eq!(s.mutex_wait_ns, None, "{what}"),
        Some(_) => {
            let theirs = go_float(&m["/sync/mutex/wait/total:seconds"]);
            let ours_ns = s.total_mutex_wait_ns().expect("the version has it");
            assert!(s.mutex_wait_ns.unwrap() > 0, "{what}: no mutex wait");
            let ours = ours_ns as f64 / 1e9;
            if s.runtime_lock_wait_per_m || minor_n < 22 {
                assert_eq!(ours, theirs, "{what}: mutex wait ({ours_ns} ns)");
            } else {
                assert!(ours <= theirs, "{what}: mutex wait {ours} > {theirs}");
            }
        }
    }
    assert_eq!(
        s.runtime_lock_wait_per_m,
        minor_n >= 22 && variant == "normal",
        "{what}"
    );
}

#[test]
fn runtime_stats_match_runtime_metrics_on_every_ci_version() {
    let versions = selected_go_versions();
    assert!(!versions.is_empty());
    for v in versions {
        let minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
        for variant in ["normal", "stripped"] {
            check(&minor, variant);
        }
    }
}
