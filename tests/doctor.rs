//! `goroscope doctor` end to end, as root with real BPF, on the doctor fixture
//! (testdata/go/doctor): each scenario produces one scheduling pathology (or none) and the
//! doctor must name it FIRST, with the site the fixture's source marks (`// doctor:...-site`),
//! on the oldest and newest Go of the matrix, stripped; healthy scenarios must get nothing
//! above `info`. Launched (`-- CMD`), attached (`-p`, the CPU quota and contention tests) and
//! from a recording.
//!
//! The machine the tests run on is shared (2 cores, several builds at once): the doctor then
//! rightly reports `kernel_cpu_contention` — the fixture's threads wait for a CPU behind other
//! processes — and may rank it first. That finding is about the machine, not the fixture, so
//! "first" below means first among the other findings, except in the contention test itself,
//! which makes the contention on purpose.

mod bpf_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bpf_support::require_root;
use serde_json::Value;
use testsupport::QuotaCgroup;

const VERSIONS: [&str; 2] = ["1.19", "1.27"];

fn fixture(minor: &str) -> PathBuf {
    testsupport::program_fixture("doctor", minor, "stripped")
}

/// The line of the fixture's source carrying `marker` (e.g. "doctor:leak-site").
fn marked_line(marker: &str) -> u64 {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/go/doctor/main.go");
    let text = std::fs::read_to_string(&src).expect("reading the fixture's source");
    let index = text
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} in {}", src.display()));
    index as u64 + 1
}

/// `goroscope doctor --json ARGS`: the diagnosis, the exit code and stderr.
fn doctor(args: &[&str], label: &str) -> (Value, i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(["-v", "doctor", "--json"])
        .args(args)
        .output()
        .expect("running goroscope doctor");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{label}: doctor JSON: {e}\nstderr: {stderr}"));
    let ids = bpf_support::ids_in(&stderr);
    if !ids.is_empty() {
        bpf_support::assert_unloaded(&ids);
    }
    (json, code, stderr)
}

/// The doctor watching `scenario` launched for 3 s (the program runs 4 s: it is still running
/// at the stop, so the last goroutine snapshot sees it whole), at the full level: the rules are
/// checked against every event (the default level's samples: [`launched_at`]).
fn launched(minor: &str, scenario: &str, extra: &[&str]) -> (Value, i32, String) {
    launched_at("full", minor, scenario, extra)
}

/// [`launched`] at tracer level `level`.
fn launched_at(level: &str, minor: &str, scenario: &str, extra: &[&str]) -> (Value, i32, String) {
    let bin = fixture(minor);
    let label = format!("go{minor} {scenario} at --level {level}");
    let mut args = vec![
        "--level",
        level,
        "-d",
        "3s",
        "--",
        bin.to_str().unwrap(),
        "-scenario",
        scenario,
        "-d",
        "4s",
    ];
    args.extend_from_slice(extra);
    let out = doctor(&args, &label);
    // Let the fixture finish before the next test starts a new one on this 2-core machine.
    std::thread::sleep(Duration::from_millis(1200));
    out
}

fn ids(d: &Value) -> Vec<String> {
    d["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The machine's own contention (see the module doc).
const MACHINE: &str = "kernel_cpu_contention";

/// The first finding (the machine's contention aside unless asked for), asserted to be `id`.
fn first<'a>(d: &'a Value, id: &str, label: &str) -> &'a Value {
    let f = d["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| id == MACHINE || f["id"] != MACHINE)
        .unwrap_or_else(|| panic!("{label}: no findings: {d:#}"));
    assert_eq!(
        f["id"], id,
        "{label}: first finding is not {id}: {:#}",
        d["findings"]
    );
    assert!(
        f["severity"] == "warning" || f["severity"] == "critical",
        "{label}: {f:#}"
    );
    assert!(
        !f["fix"].as_str().unwrap_or("").is_empty(),
        "{label}: no fix"
    );
    assert!(
        !f["evidence"].as_array().unwrap().is_empty(),
        "{label}: no evidence"
    );
    f
}

fn assert_site(f: &Value, function: &str, line: Option<u64>, label: &str) {
    assert_eq!(f["site"]["function"], function, "{label}: {f:#}");
    if let Some(line) = line {
        assert_eq!(f["site"]["line"], line, "{label}: {f:#}");
        assert!(
            f["site"]["file"]
                .as_str()
                .is_some_and(|p| p.ends_with("testdata/go/doctor/main.go")),
            "{label}: {f:#}"
        );
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_goroutine_leak_is_named_first_with_its_go_statement() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} leak");
        let (d, code, stderr) = launched(minor, "leak", &[]);
        let f = first(&d, "goroutine_leak", &label);
        assert_site(
            f,
            "main.leakyHandle",
            Some(marked_line("doctor:leak-site")),
            &label,
        );
        assert_eq!(f["confidence"], "snapshot", "{label}");
        // The count grows from snapshot to snapshot.
        let series = f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "series")
            .unwrap_or_else(|| panic!("{label}: no series: {f:#}"));
        let counts: Vec<u64> = series["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["count"].as_u64().unwrap())
            .collect();
        assert!(
            counts.len() >= 3 && counts.last() > counts.first(),
            "{label}: {counts:?}"
        );
        // The healthy pool beside it is not reported.
        assert!(
            !d["findings"].to_string().contains("main.leak.func1"),
            "{label}: the pool was reported: {:#}",
            d["findings"]
        );
        assert_eq!(
            code, 1,
            "{label}: a warning fails the default --fail-on: {stderr}"
        );
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_lock_convoy_is_named_first_at_the_lock() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} convoy");
        let (d, _, _) = launched(minor, "convoy", &[]);
        let f = first(&d, "lock_convoy", &label);
        // The program's frame that takes the lock (its Lock call's line).
        assert_site(
            f,
            "main.(*ledger).add",
            Some(marked_line("doctor:lock-site")),
            &label,
        );
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_runtime_gc_loop_is_named_first() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} gc");
        let (d, _, _) = launched(minor, "gc", &[]);
        let f = first(&d, "gc_pauses", &label);
        assert_site(f, "runtime.GC", None, &label);
        assert!(
            f["title"].as_str().unwrap().starts_with("Forced GC"),
            "{label}: {f:#}"
        );
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_cpu_hog_at_gomaxprocs_1_is_named_first() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} hog");
        let (d, _, _) = launched(minor, "hog", &[]);
        let f = first(&d, "cpu_hog", &label);
        assert_site(f, "main.hogScenario.func1", None, &label);
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_cpu_hog_is_named_first_at_the_default_level_from_sysmons_requests() {
    require_root();
    for minor in VERSIONS {
        let (d, _, _) = launched_at("default", minor, "hog", &[]);
        let label = format!("go{minor} hog at --level default");
        let f = first(&d, "cpu_hog", &label);
        assert_site(f, "main.hogScenario.func1", None, &label);
        // Told from samples and sysmon's requests, and it says so.
        assert_eq!(f["confidence"], "sampled", "{label}: {f:#}");
        let requests = measure(f, "sysmon preemption requests", &label);
        assert!(requests >= 3.0, "{label}: {f:#}");
        // The runtime's samples of it: where it was created, and the loop it was stopped in.
        let created = evidence(f, "site", "created at", &label);
        assert_eq!(created["function"], "main.hogScenario", "{label}: {f:#}");
        assert_eq!(
            created["line"],
            marked_line("doctor:hog-site"),
            "{label}: {f:#}"
        );
        let stopped = evidence(f, "stack", "preempted at", &label);
        assert!(
            stopped["frames"]
                .as_array()
                .unwrap()
                .iter()
                .any(|fr| fr.as_str().unwrap().starts_with("main.hogScenario.func1 ")),
            "{label}: {f:#}"
        );
    }
}

/// The finding's evidence of `kind` whose `role` (sites, stacks) starts with `role`.
fn evidence<'a>(f: &'a Value, kind: &str, role: &str, label: &str) -> &'a Value {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind && e["role"].as_str().is_some_and(|r| r.starts_with(role)))
        .unwrap_or_else(|| panic!("{label}: no {kind} evidence {role:?}: {f:#}"))
}

/// The value of the finding's `measure` evidence whose `what` starts with `what`.
fn measure(f: &Value, what: &str, label: &str) -> f64 {
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "measure" && e["what"].as_str().is_some_and(|w| w.starts_with(what)))
        .and_then(|e| e["value"].as_f64())
        .unwrap_or_else(|| panic!("{label}: no measure {what:?}: {f:#}"))
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn the_monitor_level_says_what_it_could_not_check() {
    require_root();
    let label = "go1.27 hog at --level monitor";
    let bin = fixture("1.27");
    let (d, _, _) = doctor(
        &[
            "--level",
            "monitor",
            "-d",
            "2s",
            "--",
            bin.to_str().unwrap(),
            "-scenario",
            "hog",
            "-d",
            "3s",
        ],
        label,
    );
    std::thread::sleep(Duration::from_millis(1200));
    let rule = d["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "cpu_hog")
        .expect("cpu_hog rule");
    assert_eq!(rule["status"], "not_captured", "{label}: {rule:#}");
    assert!(
        rule["why"].as_str().unwrap().contains("monitor"),
        "{label}: {rule:#}"
    );
    assert!(!ids(&d).contains(&"cpu_hog".to_string()), "{label}");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn goroutines_exiting_locked_are_named_first_with_their_site() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} lockthread");
        let (d, _, _) = launched(minor, "lockthread", &[]);
        let f = first(&d, "lockosthread_churn", &label);
        assert_site(
            f,
            "main.lockthread",
            Some(marked_line("doctor:locked-site")),
            &label,
        );
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn goroutines_exiting_locked_are_named_first_at_the_default_level_from_m_exits() {
    require_root();
    for minor in VERSIONS {
        let (d, _, _) = launched_at("default", minor, "lockthread", &[]);
        let label = format!("go{minor} lockthread at --level default");
        let f = first(&d, "lockosthread_churn", &label);
        // The site from the runtime's samples of some of the goroutines: sampled.
        assert_site(
            f,
            "main.lockthread",
            Some(marked_line("doctor:locked-site")),
            &label,
        );
        assert_eq!(f["confidence"], "sampled", "{label}: {f:#}");
        // The fixture starts one locked goroutine every ~10 ms: dozens in 3 s, each thread
        // destroyed (its M exit seen) and its thread exit following.
        let destroyed = measure(f, "threads destroyed with", &label);
        assert!(destroyed >= 10.0, "{label}: {f:#}");
        // (The last one's thread exit may come after the stop.)
        let thread_exits = measure(f, "of which the thread's exit was seen", &label);
        assert!(thread_exits + 1.0 >= destroyed, "{label}: {f:#}");
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn blocking_file_syscalls_are_named_first_with_their_site() {
    require_root();
    let dir = testsupport::scratch_path("doctor", "fsync");
    std::fs::create_dir_all(&dir).unwrap();
    for minor in VERSIONS {
        let label = format!("go{minor} syscalls");
        let (d, _, _) = launched(minor, "syscalls", &["-dir", dir.to_str().unwrap()]);
        let f = first(&d, "syscall_handoffs", &label);
        assert_site(
            f,
            "main.syscalls",
            Some(marked_line("doctor:syscall-site")),
            &label,
        );
        assert!(
            f["title"].as_str().unwrap().contains("fsync"),
            "{label}: {f:#}"
        );
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn blocking_file_syscalls_are_named_at_the_default_level_from_the_aggregates_and_samples() {
    require_root();
    let dir = testsupport::scratch_path("doctor", "fsync-default");
    std::fs::create_dir_all(&dir).unwrap();
    let minor = "1.27";
    let label = format!("go{minor} syscalls at --level default");
    let bin = fixture(minor);
    let (d, _, _) = doctor(
        &[
            "--level",
            "default",
            "-d",
            "3s",
            "--",
            bin.to_str().unwrap(),
            "-scenario",
            "syscalls",
            "-d",
            "4s",
            "-dir",
            dir.to_str().unwrap(),
        ],
        &label,
    );
    std::thread::sleep(Duration::from_millis(1200));
    // The fixture writes and fsyncs (its GROUND_TRUTH counts the fsyncs): the blocking call
    // is fsync, made by the goroutines its `go` statement marked doctor:syscall-site starts.
    let f = first(&d, "syscall_handoffs", &label);
    assert!(
        f["title"].as_str().unwrap().contains("fsync"),
        "{label}: {f:#}"
    );
    assert_eq!(f["confidence"], "sampled", "{label}: {f:#}");
    let evidence = f["evidence"].to_string();
    assert!(evidence.contains("\"what\":\"fsync ("), "{label}: {f:#}");
    assert!(!evidence.contains("\"what\":\"futex ("), "{label}: {f:#}");
    assert_site(
        f,
        "main.syscalls",
        Some(marked_line("doctor:syscall-site")),
        &label,
    );
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn healthy_programs_get_nothing_above_info_and_exit_0() {
    require_root();
    healthy_at("full");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn healthy_programs_get_nothing_above_info_at_the_default_level() {
    require_root();
    healthy_at("default");
}

/// The healthy scenarios at `level`: no finding above info (the machine's contention aside).
fn healthy_at(level: &str) {
    for minor in VERSIONS {
        for scenario in ["pool", "idle"] {
            let label = format!("go{minor} {scenario} at --level {level}");
            let (d, code, stderr) = launched_at(level, minor, scenario, &[]);
            let mut machine_only = false;
            for f in d["findings"].as_array().unwrap() {
                if f["id"] == MACHINE {
                    machine_only |= f["severity"] != "info";
                    continue;
                }
                assert_eq!(f["severity"], "info", "{label}: {f:#}");
            }
            // Exit 0, unless the busy machine's contention reached --fail-on warning.
            assert_eq!(code, i32::from(machine_only), "{label}: {stderr}");
            assert_eq!(d["recording"]["live"], true, "{label}");
        }
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_recording_gets_the_same_first_finding_and_fail_on_sets_the_status() {
    require_root();
    let rec = testsupport::scratch_path("doctor", "leak.rec");
    let bin = fixture("1.27");
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(["record", "-d", "3s", "-o"])
        .arg(&rec)
        .args(["--", bin.to_str().unwrap(), "-scenario", "leak", "-d", "4s"])
        .output()
        .expect("goroscope record");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(1200));
    let rec_arg = rec.to_str().unwrap();
    let (d, code, _) = doctor(&[rec_arg], "recording");
    let f = first(&d, "goroutine_leak", "recording");
    assert_site(
        f,
        "main.leakyHandle",
        Some(marked_line("doctor:leak-site")),
        "recording",
    );
    assert_eq!(code, 1);
    assert_eq!(d["recording"]["complete"], true);
    let (d, code, _) = doctor(&["--fail-on", "critical", rec_arg], "recording");
    // A warning does not fail --fail-on critical (the machine's contention may be critical).
    let critical = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["severity"] == "critical");
    assert_eq!(code, i32::from(critical), "{d:#}");
    let (_, code, _) = doctor(&["--fail-on", "never", rec_arg], "recording");
    assert_eq!(code, 0);
    // The text form names it too.
    let text = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(["doctor", rec_arg])
        .output()
        .expect("goroscope doctor");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("[warning] Goroutine leak: chan send at main.leakyHandle"),
        "{text}"
    );
}

#[test]
#[ignore = "needs root: creates a cgroup and loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn gomaxprocs_2_in_half_a_cpu_is_named_first_when_attached() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} burn in cpu.max 50000 100000, GOMAXPROCS=2");
        let mut cg = QuotaCgroup::create("doctor", 50_000).expect("a cgroup with a CPU quota");
        let bin = fixture(minor);
        let pid = cg.run(
            Command::new(&bin)
                .args(["-scenario", "burn", "-d", "6s"])
                .env("GOMAXPROCS", "2")
                .stdout(Stdio::null()),
        );
        std::thread::sleep(Duration::from_millis(300));
        let (d, code, stderr) = doctor(&["-p", &pid.to_string(), "-d", "3s"], &label);
        let f = first(&d, "gomaxprocs_over_quota", &label);
        let evidence = f["evidence"].to_string();
        assert!(evidence.contains("\"GOMAXPROCS\""), "{label}: {f:#}");
        assert!(
            f["title"].as_str().unwrap().contains("GOMAXPROCS 2"),
            "{label}: {f:#}"
        );
        assert!(
            f["fix"].as_str().unwrap().contains("GOMAXPROCS=1"),
            "{label}: {f:#}"
        );
        assert_eq!(code, 1, "{label}: {stderr}");
        assert_eq!(d["recording"]["mode"], "attach", "{label}");
        drop(cg);
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_competitor_pinned_on_the_same_cpu_is_named_first_when_attached() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} compute pinned to CPU 0 beside another compute");
        let bin = fixture(minor);
        let spawn = |gomaxprocs: Option<&str>, secs: &str| {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", "0"])
                .arg(&bin)
                .args(["-scenario", "compute", "-d", secs])
                .stdout(Stdio::null());
            if let Some(n) = gomaxprocs {
                cmd.env("GOMAXPROCS", n);
            }
            cmd.spawn().expect("taskset")
        };
        let mut competitor = spawn(None, "6s");
        let mut target = spawn(Some("1"), "5s");
        std::thread::sleep(Duration::from_millis(300));
        // Involuntary switches one by one: the full level (the rule reads sched_switch events).
        let (d, code, stderr) = doctor(
            &[
                "--level",
                "full",
                "-p",
                &target.id().to_string(),
                "-d",
                "3s",
            ],
            &label,
        );
        let _ = target.wait();
        let _ = competitor.wait();
        let f = first(&d, MACHINE, &label);
        assert_eq!(
            d["findings"][0]["id"], MACHINE,
            "{label}: {:#}",
            d["findings"]
        );
        let evidence = f["evidence"].to_string();
        assert!(
            evidence.contains("\"CPUs the process may use (affinity, cpuset)\",\"value\":1.0"),
            "{label}: {f:#}"
        );
        assert_eq!(code, 1, "{label}: {stderr}");
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_burst_of_goroutines_piling_up_in_the_run_queues_is_named_first() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} burst");
        let (d, _, _) = launched(minor, "burst", &[]);
        let f = first(&d, "runqueue_pileup", &label);
        assert_site(
            f,
            "main.burst",
            Some(marked_line("doctor:burst-site")),
            &label,
        );
    }
}

/// `goroscope doctor ARGS` without root: its exit code and stderr.
fn doctor_plain(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .arg("doctor")
        .args(args)
        .output()
        .expect("running goroscope doctor");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_exit_2_and_a_missing_recording_1() {
    let (code, stderr) = doctor_plain(&[]);
    assert_eq!(code, 2, "no target: {stderr}");
    let (code, stderr) = doctor_plain(&["--fail-on", "bogus", "x.rec"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("[possible values: info, warning, critical, never]"),
        "{stderr}"
    );
    let (code, stderr) = doctor_plain(&["-p", "1", "x.rec"]);
    assert_eq!(code, 2, "a pid and a recording: {stderr}");
    let missing = testsupport::scratch_path("doctor", "missing.rec");
    let (code, stderr) = doctor_plain(&[missing.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("missing.rec"), "{stderr}");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_leak_is_named_first_when_attached() {
    require_root();
    for minor in VERSIONS {
        let label = format!("go{minor} leak attached");
        let mut child = Command::new(fixture(minor))
            .args(["-scenario", "leak", "-d", "6s"])
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the fixture");
        std::thread::sleep(Duration::from_millis(500));
        let (d, code, stderr) = doctor(&["-p", &child.id().to_string(), "-d", "3s"], &label);
        let _ = child.wait();
        let f = first(&d, "goroutine_leak", &label);
        assert_site(
            f,
            "main.leakyHandle",
            Some(marked_line("doctor:leak-site")),
            &label,
        );
        assert_eq!(d["recording"]["mode"], "attach", "{label}");
        assert_eq!(code, 1, "{label}: {stderr}");
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_launched_program_that_fails_passes_its_status_through_without_findings() {
    require_root();
    let label = "go1.27 unknown scenario";
    let bin = fixture("1.27");
    // The fixture refuses an unknown scenario with status 2, before doing anything.
    let (d, code, stderr) = doctor(
        &["-d", "3s", "--", bin.to_str().unwrap(), "-scenario", "nope"],
        label,
    );
    assert!(
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "info"),
        "{label}: {d:#}"
    );
    assert_eq!(
        d["recording"]["target_exit"], "exit status: 2",
        "{label}: {d:#}"
    );
    assert_eq!(code, 2, "{label}: the program's own status: {stderr}");
}

/// `goroscope report`'s text at the default level shows the evidence the default-level rules
/// use: the goroutines sysmon asked to stop (the hog, its `go` statement and the loop it was
/// preempted in) and the threads destroyed after locked exits, by site.
#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn the_report_text_shows_sysmons_targets_and_destroyed_threads_at_the_default_level() {
    require_root();
    let bin = fixture("1.27");
    let report_text = |scenario: &str| {
        let rec = testsupport::scratch_path("doctor", &format!("{scenario}-default.rec"));
        let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
            .args(["record", "--level", "default", "-d", "2s", "-o"])
            .arg(&rec)
            .args([
                "--",
                bin.to_str().unwrap(),
                "-scenario",
                scenario,
                "-d",
                "3s",
            ])
            .output()
            .expect("goroscope record");
        assert!(
            out.status.success(),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(1200));
        let text = Command::new(env!("CARGO_BIN_EXE_goroscope"))
            .arg("report")
            .arg(&rec)
            .output()
            .expect("goroscope report");
        let _ = std::fs::remove_file(&rec);
        String::from_utf8_lossy(&text.stdout).into_owned()
    };

    let text = report_text("hog");
    let site = marked_line("doctor:hog-site");
    let row = text
        .lines()
        .skip_while(|l| !l.contains("goroutines sysmon asked to stop"))
        .find(|l| l.contains("main.hogScenario.func1, created at main.hogScenario ("))
        .unwrap_or_else(|| panic!("no row for the hog under sysmon's targets:\n{text}"));
    assert!(row.contains(&format!("main.go:{site})")), "{row}");
    // Preempted in its loop, a line or two below its `go` statement: the program's own frame.
    let at = row
        .split("preempted at main.hogScenario.func1 (")
        .nth(1)
        .unwrap_or_else(|| panic!("no preemption line: {row}"));
    let line: u64 = at
        .trim_end_matches(')')
        .rsplit(':')
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("{row}"));
    assert!((site + 1..=site + 3).contains(&line), "{row}");

    let text = report_text("lockthread");
    let head = text
        .lines()
        .find(|l| l.contains("threads destroyed (M exits"))
        .unwrap_or_else(|| panic!("no threads-destroyed line:\n{text}"));
    let destroyed: u64 = head
        .split("): ")
        .nth(1)
        .and_then(|n| n.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{head}"));
    // One locked goroutine every ~10 ms for 2 s.
    assert!(destroyed >= 10, "{head}");
    let locked_site = "main.lockthread (";
    assert!(
        text.lines()
            .skip_while(|l| !l.contains("threads destroyed (M exits"))
            .any(|l| l.contains(locked_site)
                && l.ends_with(&format!("main.go:{})", marked_line("doctor:locked-site")))),
        "{text}"
    );
}
