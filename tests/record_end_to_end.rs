//! `goroscope record` + `goroscope report` end to end, as root with real BPF, on the spawner
//! fixture (testdata/go/spawner), oldest and newest Go of the matrix, normal/stripped/PIE:
//! launch mode (`-- CMD`) and attach mode (`-p`) must count exactly the goroutines the fixture
//! says it started from its `go` statement (its own JSON line), the target's exit must end the
//! recording cleanly with its exit status, SIGINT/SIGTERM/duration must end it with a complete
//! file, SIGKILL must leave a reportable partial file, and after every ending the tracer's BPF
//! programs (ids logged by `record -v`) must be gone from the kernel.

mod bpf_support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bpf_support::{assert_unloaded, ids_in, require_root};

const GOROSCOPE: &str = env!("CARGO_BIN_EXE_goroscope");

/// The spawner fixture built by the Go version starting with `minor` ("1.19", "1.27").
fn spawner(minor: &str, variant: &str) -> PathBuf {
    testsupport::program_fixture("spawner", minor, variant)
}

fn scratch(name: &str) -> PathBuf {
    testsupport::scratch_path("record_end_to_end", name)
}

/// The fixture's ground truth line.
struct Truth {
    goroutines: u64,
    function: String,
    file: String,
    line: u64,
}

fn parse_truth(stdout: &str) -> Truth {
    let v: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("spawner printed {stdout:?}: {e}"));
    let site = &v["go_statement"];
    Truth {
        goroutines: v["goroutines"].as_u64().expect("goroutines"),
        function: site["function"].as_str().expect("function").to_string(),
        file: site["file"].as_str().expect("file").to_string(),
        line: site["line"].as_u64().expect("line"),
    }
}

/// `goroscope report FILE [--json]`: (stdout, stderr); the command must succeed.
fn report(file: &Path, json: bool) -> (String, String) {
    let mut cmd = Command::new(GOROSCOPE);
    cmd.arg("report").arg(file);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("running goroscope report");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "goroscope report {} failed: {stderr}",
        file.display()
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn report_json(file: &Path) -> serde_json::Value {
    let (stdout, _) = report(file, true);
    serde_json::from_str(&stdout).expect("report JSON")
}

/// The by_creation_site row of the truth's `go` statement: (created, exited).
fn site_counts(report: &serde_json::Value, truth: &Truth, label: &str) -> (u64, u64) {
    let rows = report["goroutines"]["by_creation_site"]
        .as_array()
        .expect("by_creation_site");
    let row = rows
        .iter()
        .find(|r| {
            r["function"] == truth.function.as_str()
                && r["file"] == truth.file.as_str()
                && r["line"] == truth.line
        })
        .unwrap_or_else(|| {
            panic!(
                "{label}: no creation site {}:{} ({}) in {rows:#?}",
                truth.file, truth.line, truth.function
            )
        });
    (
        row["created"].as_u64().unwrap(),
        row["exited"].as_u64().unwrap(),
    )
}

/// Reads goroscope's stderr on a thread, line by line.
fn stderr_lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for goroscope's "recording pid" line (the tracer is attached); returns what it read.
fn wait_recording(lines: &mpsc::Receiver<String>, label: &str) -> String {
    let mut seen = String::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{label}: goroscope never started recording: {seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("goroscope: recording pid") {
            return seen;
        }
    }
}

fn rest(lines: mpsc::Receiver<String>) -> String {
    lines.into_iter().map(|l| l + "\n").collect()
}

/// The tracer's programs named in goroscope's -v log must be unloaded.
fn check_unloaded(log: &str, label: &str) {
    let ids = ids_in(log);
    assert!(!ids.is_empty(), "{label}: no program ids in the log: {log}");
    assert_unloaded(&ids);
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn launch_mode_counts_every_goroutine_and_ends_with_the_target() {
    require_root();
    for minor in ["1.19", "1.27"] {
        for variant in ["normal", "stripped", "pie"] {
            let label = format!("go{minor}/spawner/{variant}");
            let file = scratch(&format!("{label}.rec"));
            let out = Command::new(GOROSCOPE)
                .args(["-v", "record", "--level", "full", "-o"])
                .arg(&file)
                .arg("--")
                .arg(spawner(minor, variant))
                .output()
                .expect("running goroscope record");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{label}: record failed: {stderr}");
            assert!(
                stderr.contains("stopped: target exited (target exit status: 0)"),
                "{label}: {stderr}"
            );
            check_unloaded(&stderr, &label);
            // goroscope's stdout is the launched program's.
            let truth = parse_truth(&String::from_utf8_lossy(&out.stdout));
            let json = report_json(&file);
            assert_eq!(
                site_counts(&json, &truth, &label),
                (truth.goroutines, truth.goroutines),
                "{label}: created/exited at the go statement"
            );
            assert_eq!(json["drops"]["total"], 0, "{label}: drops");
            // Probes were in place before the program's first instruction: no goroutine
            // (not even main's) existed before the trace.
            assert_eq!(
                json["goroutines"]["preexisting"], 0,
                "{label}: goroutines missed at the start"
            );
            let (text, warnings) = report(&file, false);
            assert!(
                text.contains("ended: target exited (exit status: 0)"),
                "{label}: {text}"
            );
            assert!(warnings.is_empty(), "{label}: report warned: {warnings}");
            let _ = std::fs::remove_file(&file);
        }
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn launch_mode_reports_a_failing_exit_status() {
    require_root();
    let file = scratch("bad-flag.rec");
    // An unknown flag: Go's flag package exits with status 2 before main's work.
    let out = Command::new(GOROSCOPE)
        .args(["-v", "record", "-o"])
        .arg(&file)
        .arg("--")
        .arg(spawner("1.27", "normal"))
        .arg("-no-such-flag")
        .output()
        .expect("running goroscope record");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // goroscope succeeded, and passes the program's status on (issue 12).
    assert_eq!(out.status.code(), Some(2), "record: {stderr}");
    assert!(stderr.contains("target exit status: 2"), "{stderr}");
    check_unloaded(&stderr, "bad flag");
    let (text, _) = report(&file, false);
    assert!(text.contains("(exit status: 2)"), "{text}");
    let _ = std::fs::remove_file(&file);
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn attach_mode_follows_a_running_fixture_until_it_exits() {
    require_root();
    for (minor, variant) in [("1.19", "normal"), ("1.27", "normal"), ("1.27", "pie")] {
        let label = format!("go{minor}/spawner/{variant} -p");
        let file = scratch(&format!("{label}.rec"));
        let mut fixture = Command::new(spawner(minor, variant))
            .arg("-hold")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the fixture");
        let mut record = Command::new(GOROSCOPE)
            .args([
                "-v",
                "record",
                "--level",
                "full",
                "-p",
                &fixture.id().to_string(),
                "-o",
            ])
            .arg(&file)
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting goroscope record");
        let lines = stderr_lines(record.stderr.take().unwrap());
        let mut log = wait_recording(&lines, &label);
        // Release the fixture; goroscope must notice its exit and stop by itself.
        fixture.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let out = fixture.wait_with_output().expect("fixture");
        assert!(out.status.success(), "{label}: fixture failed");
        let status = record.wait().expect("goroscope record");
        log.push_str(&rest(lines));
        assert!(status.success(), "{label}: {log}");
        assert!(log.contains("stopped: target exited"), "{label}: {log}");
        // Attached, "exited" is all goroscope knows: not said twice.
        assert!(!log.contains("(target exited)"), "{label}: {log}");
        check_unloaded(&log, &label);
        let truth = parse_truth(&String::from_utf8_lossy(&out.stdout));
        let json = report_json(&file);
        assert_eq!(
            site_counts(&json, &truth, &label),
            (truth.goroutines, truth.goroutines),
            "{label}: created/exited at the go statement"
        );
        let _ = std::fs::remove_file(&file);
    }
}

/// Launches a held spawner under `goroscope record` (it waits on stdin, so it runs until we
/// let it go) and ends the recording with `how`.
fn end_recording(how: &str) -> (PathBuf, String, Child) {
    let label = format!("ended by {how}");
    let file = scratch(&format!("{how}.rec"));
    let mut cmd = Command::new(GOROSCOPE);
    cmd.args(["-v", "record", "--level", "full", "-o"])
        .arg(&file);
    if how == "duration" {
        cmd.args(["-d", "1500ms"]);
    }
    let mut record = cmd
        .arg("--")
        .arg(spawner("1.27", "normal"))
        .arg("-hold")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting goroscope record");
    let lines = stderr_lines(record.stderr.take().unwrap());
    let mut log = wait_recording(&lines, &label);
    // Let a progress line, a stats chunk and the runtime's start-up events reach the file.
    std::thread::sleep(Duration::from_millis(1500));
    let signal = match how {
        "SIGINT" => Some(libc::SIGINT),
        "SIGTERM" => Some(libc::SIGTERM),
        "SIGKILL" => Some(libc::SIGKILL),
        _ => None,
    };
    if let Some(signal) = signal {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(record.id() as i32, signal) }, 0);
    }
    let status = record.wait().expect("goroscope record");
    log.push_str(&rest(lines));
    if how == "SIGKILL" {
        assert!(!status.success(), "{label}: {log}");
    } else {
        assert!(status.success(), "{label}: {log}");
        assert!(log.contains(&format!("stopped: {how}")), "{label}: {log}");
    }
    check_unloaded(&log, &label);
    (file, log, record)
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn signals_and_duration_end_the_recording_cleanly() {
    require_root();
    for how in ["SIGINT", "SIGTERM", "duration"] {
        let (file, _log, record) = end_recording(how);
        let (text, warnings) = report(&file, false);
        assert!(text.contains(&format!("ended: {how}")), "{how}: {text}");
        assert!(
            warnings.is_empty(),
            "{how}: the file is incomplete: {warnings}"
        );
        let json = report_json(&file);
        assert!(
            json["goroutines"]["created"].as_u64().unwrap() > 0,
            "{how}: the runtime's start-up goroutines are missing"
        );
        // The held fixture (still running, released by closing its stdin) goes away.
        drop(record);
        let _ = std::fs::remove_file(&file);
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn a_killed_recorder_leaves_a_reportable_file() {
    require_root();
    let (file, _log, record) = end_recording("SIGKILL");
    let (text, warnings) = report(&file, false);
    assert!(text.contains("interrupted (no end chunk)"), "{text}");
    assert!(warnings.contains("no end chunk"), "{warnings}");
    let json = report_json(&file);
    assert!(
        json["goroutines"]["created"].as_u64().unwrap() > 0,
        "the runtime's start-up goroutines are missing"
    );
    drop(record);
    let _ = std::fs::remove_file(&file);
}
