//! Tracing never harms the traced program: the stress fixture (testdata/go/stress: deep
//! recursion and stack growth, tens of thousands of short-lived goroutines, blocked goroutines,
//! heavy allocation, timers, a channel ping-pong, goroutines exiting locked to their thread)
//! prints a checksum of its work. Recorded at every level in launch mode, and attached to and
//! detached from repeatedly (`record -p PID -d 300ms`) while it runs, it must print the same
//! checksum as untraced and exit 0; at the levels that capture goroutines, the report must count
//! exactly the goroutines it created at each of its `go` statements.

mod bpf_support;
mod record_support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bpf_support::require_root;
use record_support::{record_launch_with, report_json, Attached};

fn stress(minor: &str, variant: &str) -> PathBuf {
    testsupport::program_fixture("stress", minor, variant)
}

fn scratch(name: &str) -> PathBuf {
    testsupport::scratch_path("record_stress", name)
}

/// The checksum of every round the fixture printed ("ROUND <checksum>" lines).
fn round_checksums(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ROUND "))
        .collect()
}

/// The fixture run untraced: its checksum.
fn untraced_checksum(fixture: &PathBuf, label: &str) -> String {
    let out = Command::new(fixture)
        .args(["-rounds", "1"])
        .output()
        .expect("running the fixture");
    assert!(out.status.success(), "{label}: untraced run failed");
    let truth = testsupport::ground_truth(&String::from_utf8_lossy(&out.stdout), label);
    truth["checksum"].as_str().expect("checksum").to_string()
}

/// Goroutines created at the `go` statements of function `function`, as the report counts
/// them.
fn created_in(report: &serde_json::Value, function: &str) -> u64 {
    report["goroutines"]["by_creation_site"]
        .as_array()
        .expect("by_creation_site")
        .iter()
        .filter(|r| r["function"] == function)
        .map(|r| r["created"].as_u64().expect("created"))
        .sum()
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn recording_at_every_level_leaves_the_work_unchanged_and_counts_it() {
    require_root();
    for (minor, variant) in [("1.19", "normal"), ("1.27", "stripped")] {
        let fixture = stress(minor, variant);
        let expected = untraced_checksum(&fixture, &format!("go{minor}/stress/{variant}"));
        for level in ["monitor", "default", "full"] {
            let label = format!("go{minor}/stress/{variant} --level {level}");
            let file = scratch(&format!("{label}.rec"));
            // record_launch_with asserts the target's exit status 0.
            let stdout = record_launch_with(
                &fixture,
                &["-rounds", "1"],
                &[],
                &["--level", level],
                &file,
                &label,
            );
            let truth = testsupport::ground_truth(&stdout, &label);
            assert_eq!(truth["checksum"], expected.as_str(), "{label}: checksum");
            let report = report_json(&file);
            assert_eq!(report["drops"]["total"], 0, "{label}: drops");
            if level == "default" {
                // The default level samples: the runtime's own sampler fired.
                assert!(
                    report["sched_latency_sampled"]["samples"].as_u64() > Some(0),
                    "{label}: no sampled scheduling episodes"
                );
            }
            if level == "full" {
                for (function, count) in truth["created"].as_object().expect("created") {
                    assert_eq!(
                        created_in(&report, function),
                        count.as_u64().expect("count"),
                        "{label}: goroutines created in {function}"
                    );
                }
            }
            let _ = std::fs::remove_file(&file);
        }
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn attaching_and_detaching_repeatedly_leaves_the_work_unchanged() {
    require_root();
    let (minor, variant) = ("1.27", "normal");
    let label = format!("go{minor}/stress/{variant} -p");
    let fixture = stress(minor, variant);
    let expected = untraced_checksum(&fixture, &label);
    let mut child = Command::new(&fixture)
        .arg("-until-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the fixture");
    let pid = child.id();
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    let first = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("the fixture's first round");
    out.push_str(&first);
    out.push('\n');
    for (i, level) in ["default", "full", "monitor", "default"].iter().enumerate() {
        let file = scratch(&format!("attach{i}.rec"));
        let attach_label = format!("{label} attach {i} --level {level}");
        let attached = Attached::start(
            pid,
            &["--level", level, "-d", "300ms"],
            &file,
            &attach_label,
        );
        let log = attached.wait();
        assert!(log.contains("stopped: duration"), "{attach_label}: {log}");
        let report = report_json(&file);
        assert!(
            report["events"]["total"].as_u64() > Some(0),
            "{attach_label}"
        );
        let _ = std::fs::remove_file(&file);
    }
    drop(child.stdin.take()); // EOF: the fixture ends after its current round
    let status = child.wait().expect("the fixture");
    out.extend(lines.into_iter().map(|l| l + "\n"));
    assert!(
        status.success(),
        "{label}: the fixture failed after being traced: {out}"
    );
    let rounds = round_checksums(&out);
    assert!(rounds.len() >= 2, "{label}: {out}");
    assert!(
        rounds.iter().all(|c| *c == expected),
        "{label}: every round must compute {expected}: {out}"
    );
    let truth = testsupport::ground_truth(&out, &label);
    assert_eq!(
        truth["rounds"].as_u64(),
        Some(rounds.len() as u64),
        "{label}"
    );
}
