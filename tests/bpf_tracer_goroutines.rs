//! The tracer end to end, as root with real BPF: attached (pid-less) to the spawner fixture's
//! binary before it starts, so nothing is missed, it must see exactly the goroutines the
//! fixture says it started from its one `go` statement, each of them exit, the fixture's threads
//! being scheduled by the kernel, and lose nothing. Ground truth is the fixture's own JSON line
//! (its pid, N, and the `go` statement's function/file/line as the Go runtime reports it).
//! Runs on the oldest and newest Go of the matrix, normal and stripped builds.

mod bpf_support;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpf_support::{assert_no_gs_program_held_by_us, assert_unloaded, require_root};
use goinspect::elf::ElfImage;
use goinspect::pclntab::Pclntab;
use goinspect::InspectOptions;
use goroscope_bpf::decode::events::{Event, EventKind};
use goroscope_bpf::tracer::{Level, Tracer, TracerOptions};
use goroscope_bpf::ObjectStorage;

const N: usize = 50;

/// The spawner build of the Go version starting with `minor` ("1.19", "1.27").
fn spawner(minor: &str, variant: &str) -> PathBuf {
    testsupport::program_fixture("spawner", minor, variant)
}

/// Go versions ("1.19", "1.23", ...) with a spawner build: always the oldest and newest of the
/// matrix (required), plus any other version CI built it for.
fn spawner_versions() -> Vec<String> {
    let mut minors: Vec<String> = std::fs::read_dir(testsupport::fixtures_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("spawner/normal").is_file())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.strip_prefix("go")?;
            let mut parts = version.split('.');
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        })
        .collect();
    for required in ["1.19", "1.27"] {
        if !minors.iter().any(|m| m == required) {
            minors.push(required.to_string()); // spawner() then explains how to build it
        }
    }
    minors.sort_by_key(|m| m.split('.').nth(1).and_then(|n| n.parse::<u32>().ok()));
    minors.dedup();
    minors
}

/// A private copy: uprobes attach to an inode, and a pid-less tracer follows every process
/// running it, so a copy makes every event ours even when other tests run the same fixture.
fn private_copy(fixture: &Path, label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-scratch")
        .join(format!("bpf_tracer_goroutines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating scratch dir");
    let copy = dir.join(label.replace('/', "-"));
    std::fs::copy(fixture, &copy).expect("copying the fixture");
    copy
}

/// The fixture's ground truth line.
struct Truth {
    pid: u32,
    goroutines: usize,
    function: String,
    file: String,
    line: u32,
    /// The goroutine that ran the `go` statement.
    parent_goid: u64,
    /// The fixture's own run time (main's start to the last goroutine's exit).
    elapsed: Duration,
}

fn parse_truth(stdout: &str) -> Truth {
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("spawner printed {stdout:?}: {e}"));
    let site = &v["go_statement"];
    Truth {
        pid: v["pid"].as_u64().expect("pid") as u32,
        goroutines: v["goroutines"].as_u64().expect("goroutines") as usize,
        function: site["function"].as_str().expect("function").to_string(),
        file: site["file"].as_str().expect("file").to_string(),
        line: site["line"].as_u64().expect("line") as u32,
        parent_goid: v["parent_goid"].as_u64().expect("parent_goid"),
        elapsed: Duration::from_nanos(v["elapsed_ns"].as_u64().expect("elapsed_ns")),
    }
}

/// How the tracer meets the fixture.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attach {
    /// Pid-less, to the binary, before the fixture starts (follows it from its first uprobe hit).
    BeforeStart,
    /// To the running fixture's pid (held on stdin until the tracer is attached).
    ByPid,
}

/// Runs the fixture under the tracer; returns its truth and every event.
fn trace_run(binary: &Path, label: &str, args: &[&str], attach: Attach) -> (Truth, Vec<Event>) {
    let inspection = goinspect::inspect_file(binary, &InspectOptions::default())
        .unwrap_or_else(|e| panic!("{label}: goinspect: {e}"));
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut held = None;
    if attach == Attach::ByPid {
        command.arg("-hold").stdin(Stdio::piped());
        held = Some(command.spawn().expect("starting the fixture"));
    }
    let pid = held.as_ref().map(|c| c.id());

    let mut storage = ObjectStorage::new();
    // Every goroutine event: the full level.
    let options = TracerOptions {
        level: Level::Full,
        ..TracerOptions::default()
    };
    let mut tracer = Tracer::attach_with(&mut storage, &inspection, pid, pid, binary, options)
        .unwrap_or_else(|e| panic!("{label}: attaching the tracer: {e:#}"));
    assert!(
        tracer.warnings().is_empty(),
        "{label}: {:?}",
        tracer.warnings()
    );
    let ids = tracer.program_ids().expect("program ids");

    let started = Instant::now();
    let mut child = match held {
        Some(mut child) => {
            // Release it: its goroutines start only now, with every probe in place.
            child.stdin.take().unwrap().write_all(b"go\n").unwrap();
            child
        }
        None => command.spawn().expect("starting the fixture"),
    };
    let mut events = Vec::new();
    // Timer-driven polling, as a recorder does: events are submitted without wakeups.
    let status = loop {
        tracer
            .poll(Duration::from_millis(50), &mut events)
            .expect("polling");
        if let Some(status) = child.try_wait().expect("waiting for the fixture") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{label}: the fixture did not finish"
        );
    };
    // Everything the fixture did is queued by now: drain.
    while tracer
        .poll(Duration::from_millis(10), &mut events)
        .expect("polling")
        > 0
    {}
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(status.success(), "{label}: fixture failed: {status}");

    let stats = tracer.stats().expect("reading stats");
    let drops = stats.drops();
    drop(tracer);
    assert_unloaded(&ids);

    let truth = parse_truth(&stdout);
    let by_type: BTreeMap<&str, u64> = stats
        .submitted_by_type()
        .into_iter()
        .map(|(t, n)| (t.name(), n))
        .collect();
    // For the report only (no timing assertions): the fixture's own run time under tracing.
    eprintln!(
        "{label}: {} events, fixture ran {:.1} ms traced ({:.0} events/s), drops {:?}, by \
         type {by_type:?}",
        events.len(),
        truth.elapsed.as_secs_f64() * 1e3,
        events.len() as f64 / truth.elapsed.as_secs_f64(),
        drops
    );
    assert_eq!(drops.total(), 0, "{label}: events were lost: {drops:?}");
    assert_eq!(
        stats.total_submitted(),
        events.len() as u64,
        "{label}: submitted and received events differ"
    );
    (truth, events)
}

/// Checks one traced run against the fixture's truth.
fn check_run(binary: &Path, label: &str, truth: &Truth, events: &[Event]) {
    let data = std::fs::read(binary).expect("reading the fixture");
    let elf = ElfImage::parse(&data).expect("ELF");
    let pclntab = Pclntab::parse(&elf).expect("pclntab");

    // Goroutines created at the `go` statement: creation_pc is the return address of the call
    // into newproc, so (like the runtime's "created by") its line is that of pc - 1.
    // The binary is a private copy only this fixture runs, so every uprobe event is its own.
    let mut at_site = Vec::new();
    for e in events {
        let EventKind::GoCreate {
            goid,
            parent_goid,
            creation_pc,
            ..
        } = e.kind
        else {
            continue;
        };
        let func = pclntab.func_at(creation_pc).map(|f| f.name);
        let line = pclntab.line_at(creation_pc.saturating_sub(1));
        if func.as_deref() == Some(truth.function.as_str())
            && line == Some((truth.file.clone(), truth.line))
        {
            assert_eq!(
                parent_goid, truth.parent_goid,
                "{label}: parent of goroutine {goid}"
            );
            at_site.push(goid);
        }
    }
    assert_eq!(
        at_site.len(),
        truth.goroutines,
        "{label}: goroutines created at {}:{} ({})",
        truth.file,
        truth.line,
        truth.function
    );
    let created: HashMap<u64, usize> = at_site.iter().map(|g| (*g, 0)).collect();
    assert_eq!(created.len(), truth.goroutines, "{label}: duplicate goids");

    let mut exits = created;
    for e in events {
        if let EventKind::GoExit { goid, .. } = e.kind {
            if let Some(n) = exits.get_mut(&goid) {
                *n += 1;
            }
        }
    }
    let exited_once = exits.values().filter(|n| **n == 1).count();
    assert_eq!(
        exited_once, truth.goroutines,
        "{label}: goroutines of the site that exited exactly once"
    );

    // The tracer follows the process from its first uprobe hit: its threads' switches carry
    // the "in target" flags, and their tids are threads of the fixture's pid.
    let switches = events
        .iter()
        .filter(|e| match e.kind {
            EventKind::Switch {
                prev_tid,
                next_tid,
                prev_in_target,
                next_in_target,
                ..
            } => {
                (prev_in_target && (prev_tid == truth.pid || is_thread_of(prev_tid, events)))
                    || (next_in_target && (next_tid == truth.pid || is_thread_of(next_tid, events)))
            }
            _ => false,
        })
        .count();
    assert!(
        switches > 0,
        "{label}: no sched_switch of the fixture's threads"
    );
}

/// Whether `tid` is a thread the traced process forked (seen as a ThreadFork).
fn is_thread_of(tid: u32, events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ThreadFork { child_tid } if child_tid == tid))
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn tracer_sees_every_goroutine_of_the_spawner() {
    require_root();
    for minor in spawner_versions() {
        let minor = minor.as_str();
        for variant in ["normal", "stripped"] {
            let label = format!("go{minor}/spawner/{variant}");
            let binary = private_copy(&spawner(minor, variant), &label);
            let (truth, events) = trace_run(&binary, &label, &[], Attach::BeforeStart);
            assert_eq!(truth.goroutines, N, "{label}: the fixture's default N");
            check_run(&binary, &label, &truth, &events);
            let _ = std::fs::remove_file(&binary);
        }
    }
    // Many more goroutines than the wakeup threshold holds events for: the timer poll and the
    // threshold wakeups must still deliver every event.
    let label = "go1.27/spawner/normal -n 10000";
    let binary = private_copy(&spawner("1.27", "normal"), "storm");
    let (truth, events) = trace_run(&binary, label, &["-n", "10000"], Attach::BeforeStart);
    assert_eq!(truth.goroutines, 10_000);
    check_run(&binary, label, &truth, &events);
    let _ = std::fs::remove_file(&binary);
    // Attached by pid to a process that is already running: target filter in the BPF config.
    for minor in ["1.19", "1.27"] {
        let label = format!("go{minor}/spawner/normal by pid");
        let binary = private_copy(&spawner(minor, "normal"), &label);
        let (truth, events) = trace_run(&binary, &label, &[], Attach::ByPid);
        check_run(&binary, &label, &truth, &events);
        let _ = std::fs::remove_file(&binary);
    }
    // Sequential on purpose (one test): this looks at every program the test process holds.
    assert_no_gs_program_held_by_us();
}
