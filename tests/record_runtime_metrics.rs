//! `goroscope record -p` at the monitor level on the quiesced testdata/go/rtmetrics fixture, then
//! `goroscope report --json`: the report's `runtime_metrics` (read from memory by the session,
//! stored in the recording, replayed) must hold at the end what the fixture's own
//! runtime/metrics said — `/sched/latencies:seconds` bucket for bucket, the GC cycle count — and,
//! the program being idle, nothing moving over the window. Oldest and newest Go, normal and
//! stripped.

mod bpf_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use bpf_support::require_root;
use record_support::report_json;
use serde_json::Value;

mod record_support;

const GOROSCOPE: &str = env!("CARGO_BIN_EXE_goroscope");

fn check(minor: &str, variant: &str) {
    let what = format!("go{minor} {variant}");
    let bin = testsupport::program_fixture("rtmetrics", minor, variant);
    let mut fixture = Command::new(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut line = String::new();
    BufReader::new(fixture.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let truth = testsupport::ground_truth(&line, &what);
    let file =
        testsupport::scratch_path("record_runtime_metrics", &format!("{minor}-{variant}.rec"));
    let out = Command::new(GOROSCOPE)
        .args(["record", "--level", "monitor", "-d", "1.5s", "-p"])
        .arg(fixture.id().to_string())
        .arg("-o")
        .arg(&file)
        .output()
        .expect("running goroscope record");
    drop(fixture.stdin.take());
    let _ = fixture.wait();
    assert!(
        out.status.success(),
        "{what}: record failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = report_json(&file);
    let rm = &report["runtime_metrics"];
    assert!(rm["readings"].as_u64().unwrap() >= 2, "{what}: {rm}");
    assert_eq!(report["capture"]["runtime_metrics"], "snapshot", "{what}");

    // /sched/latencies:seconds at the end: the fixture's non-empty buckets, same bounds.
    let latencies = &rm["histograms"][0];
    assert_eq!(latencies["name"], "/sched/latencies:seconds");
    let theirs = &truth["metrics"]["/sched/latencies:seconds"];
    let bound = |s: &Value| -> Option<u64> {
        let f: f64 = s.as_str().unwrap().parse().unwrap();
        f.is_finite().then(|| (f * 1e9).round() as u64)
    };
    let buckets = theirs["buckets"].as_array().unwrap();
    let expected: Vec<Value> = theirs["counts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.as_u64().unwrap() > 0)
        .map(|(i, c)| {
            serde_json::json!({
                "lower_ns": bound(&buckets[i]),
                "upper_ns": bound(&buckets[i + 1]),
                "count": c,
            })
        })
        .collect();
    assert_eq!(
        latencies["at_end"]["buckets"].as_array().unwrap(),
        &expected,
        "{what}"
    );
    // Idle during the recording: nothing recorded over the window.
    assert_eq!(latencies["window"]["count"], 0, "{what}");

    let scalar = |name: &str| {
        rm["scalars"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{what}: no {name} in {rm}"))
            .clone()
    };
    let gc = scalar("/gc/cycles/total:gc-cycles");
    assert_eq!(
        gc["at_end"].as_u64(),
        truth["metrics"]["/gc/cycles/total:gc-cycles"].as_u64(),
        "{what}"
    );
    assert_eq!(gc["delta"], 0, "{what}");
    assert_eq!(scalar("/sched/gomaxprocs:threads")["at_end"], 2, "{what}");
    let _ = std::fs::remove_file(&file);
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn monitor_level_recording_holds_the_runtimes_own_metrics() {
    require_root();
    for minor in ["1.19", "1.27"] {
        for variant in ["normal", "stripped"] {
            check(minor, variant);
        }
    }
}
