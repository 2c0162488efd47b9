//! Goroutine snapshots against ground truth, as root with real BPF: the blocked fixture
//! (testdata/go/blocked) starts goroutines at seven `go` statements that block seven ways
//! (channel send and receive, select, sync.Mutex, time.Sleep, a loopback network read,
//! sync.Cond) before goroscope attaches, then idles. `record -p` for 2 s never sees them run, so
//! everything the report says of them comes from the runtime's memory: per site and wait reason
//! exactly the counts the fixture's own stack dump shows, their ages (the fixture ran two GCs
//! before goroscope attached, so the runtime stamped `waitsince`), the function each `go`
//! statement starts (through Go 1.21+'s `gowrap` wrappers), and `live_at_end` minus the
//! runtime's own goroutines equal to `runtime.NumGoroutine()`. Go 1.19 and 1.27, normal,
//! stripped and PIE, and the monitor level (no goroutine events at all).

mod bpf_support;
mod record_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpf_support::require_root;
use record_support::{record_attach, report_json};
use serde_json::Value;

const SECOND: u64 = 1_000_000_000;

/// The leaked[] row of a ground-truth group (same site and wait reason).
fn leak_row<'a>(report: &'a Value, group: &Value, label: &str) -> &'a Value {
    report["goroutines"]["leaked"]
        .as_array()
        .expect("leaked")
        .iter()
        .find(|r| {
            ["function", "file", "line", "wait_reason"]
                .iter()
                .all(|k| r[k] == group[k])
        })
        .unwrap_or_else(|| panic!("{label}: no leaked row for {group}: {report:#}"))
}

fn check(minor: &str, variant: &str, level: &str) {
    let label = format!("go{minor}/blocked/{variant} --level {level}");
    let fixture = testsupport::program_fixture("blocked", minor, variant);
    let file = testsupport::scratch_path(
        "record_snapshots",
        &format!("{minor}-{variant}-{level}.rec"),
    );
    let started = Instant::now();
    let mut child = Command::new(&fixture)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the fixture");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).expect("fixture stdout");
    assert!(line.starts_with("READY "), "{label}: {line:?}");

    record_attach(child.id(), &["-d", "2s", "--level", level], &file, &label);
    let window = started.elapsed();

    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{label}: fixture failed");
    let truth = testsupport::ground_truth(&rest, &label);

    let report = report_json(&file);
    let g = &report["goroutines"];
    let n = |v: &Value| {
        v.as_u64()
            .unwrap_or_else(|| panic!("{label}: {v} in {g:#}"))
    };
    assert_eq!(
        n(&g["created"]) + n(&g["preexisting"]),
        n(&g["exited"]) + n(&g["live_at_end"]) + n(&g["closed_by_goid_reuse"]),
        "{label}: accounting identity"
    );
    assert_eq!(
        n(&g["live_at_end"]) - n(&g["system_at_end"]),
        n(&truth["num_goroutine"]),
        "{label}: the program's live goroutines vs runtime.NumGoroutine()"
    );
    let snapshots = &g["snapshots"];
    assert!(
        n(&snapshots["count"]) >= 3,
        "{label}: start, 1 s, end: {snapshots}"
    );
    assert_eq!(
        n(&snapshots["last_skipped"]),
        0,
        "{label}: an idle program tears nothing"
    );
    assert_eq!(snapshots["last_partial"], false, "{label}");
    assert_eq!(report["capture"]["goroutine_states"], "snapshot", "{label}");

    let groups = truth["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 7, "{label}: {truth}");
    let mut total = 0;
    for group in groups {
        let row = leak_row(&report, group, &label);
        let count = n(&group["count"]);
        total += count;
        assert_eq!(n(&row["count"]), count, "{label}: {group}");
        // Every one blocked before the two GCs that preceded the attach: all ages known, at
        // least the recording's 2 s, at most the fixture's whole life.
        assert_eq!(n(&row["ages_known"]), count, "{label}: {row}");
        let (oldest, median) = (n(&row["oldest_blocked_ns"]), n(&row["median_blocked_ns"]));
        assert!(median >= 2 * SECOND && median <= oldest, "{label}: {row}");
        assert!(
            Duration::from_nanos(oldest) <= window + Duration::from_secs(1),
            "{label}: {row} (fixture alive {window:?})"
        );
        let site = group["function"].as_str().unwrap();
        let start = truth["start_functions"][site].as_str().unwrap();
        if minor == "1.19" {
            // Go 1.19 wraps `go f(x)` in an ordinary closure, named like any other: shown as is.
            assert_eq!(
                row["start_function"],
                format!("{site}.func1"),
                "{label}: {row}"
            );
            assert!(row.get("start_wrapper").is_none(), "{label}: {row}");
        } else {
            assert_eq!(row["start_function"], start, "{label}: {row}");
            assert_eq!(
                row["start_wrapper"],
                format!("{site}.gowrap1"),
                "{label}: {row}"
            );
        }
        // Where it blocks: the goroutine's own function (inlined into the wrapper, or not).
        let at = row["blocked_at"].as_str().unwrap_or_default();
        assert!(
            at.starts_with(start),
            "{label}: blocked at {at:?}, started as {start}"
        );
    }
    assert_eq!(total, n(&truth["created"]), "{label}");
    // None of them was seen created: they are snapshot-only, counted at their own sites.
    for site in g["by_creation_site"].as_array().unwrap() {
        if site["function"].as_str().unwrap().starts_with("main.spawn") {
            assert_eq!(n(&site["created"]), 0, "{label}: {site}");
        }
    }
    assert!(
        n(&snapshots["only_in_snapshot"]) >= total,
        "{label}: {snapshots}"
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn blocked_goroutines_that_never_run_are_reported_from_memory() {
    require_root();
    for (minor, variant) in [
        ("1.19", "normal"),
        ("1.19", "stripped"),
        ("1.27", "normal"),
        ("1.27", "stripped"),
        ("1.27", "pie"),
    ] {
        check(minor, variant, "default");
    }
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn the_monitor_level_has_goroutine_snapshots_too() {
    require_root();
    check("1.27", "stripped", "monitor");
    check("1.19", "pie", "monitor");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn every_go_version_in_between_reads_the_same() {
    require_root();
    // The g layout moves in 1.23 (syscallbp) and back in 1.25 (gobuf.ret), waitReason is
    // renumbered in 1.26: the CI versions between the two ends, stripped (layout tables).
    for minor in ["1.23", "1.25", "1.26"] {
        check(minor, "stripped", "default");
    }
}
