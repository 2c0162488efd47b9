//! `goroscope record -p` at the monitor level on the quiesced testdata/go/rtmetrics fixture, then
//! `goroscope report --json`: the report's `runtime_metrics` (read from memory by the session,
//! stored in the recording, replayed) must hold at the end what the fixture's own
//! runtime/metrics said — `/sched/latencies:seconds` bucket for bucket (up to a few stray
//! transitions after the fixture's reading), the GC cycle count — and, the program being idle,
//! nothing moving over the window. Oldest and newest Go, normal and stripped.

mod bpf_support;

use std::collections::BTreeMap;
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

    // /sched/latencies:seconds at the end: the fixture's non-empty buckets, same bounds and
    // counts. The fixture is idle, but the runtime may still record a stray transition after
    // its own reading (its print, a preemption on a loaded machine): a few are allowed here;
    // crates/procstat/tests/runtime_stats_live.rs proves the values exact.
    let latencies = &rm["histograms"][0];
    assert_eq!(latencies["name"], "/sched/latencies:seconds");
    let theirs = &truth["metrics"]["/sched/latencies:seconds"];
    let bound = |s: &Value| -> Value {
        let f: f64 = s.as_str().unwrap().parse().unwrap();
        if f.is_finite() {
            serde_json::json!((f * 1e9).round() as u64)
        } else {
            Value::Null
        }
    };
    let buckets = theirs["buckets"].as_array().unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (i, c) in theirs["counts"].as_array().unwrap().iter().enumerate() {
        let c = c.as_u64().unwrap();
        if c > 0 {
            let key = format!("{}..{}", bound(&buckets[i]), bound(&buckets[i + 1]));
            expected.insert(key, c);
        }
    }
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    for b in latencies["at_end"]["buckets"].as_array().unwrap() {
        let key = format!("{}..{}", b["lower_ns"], b["upper_ns"]);
        ours.insert(key, b["count"].as_u64().unwrap());
    }
    let mut stray = 0;
    for (key, &n) in &ours {
        let want = expected.get(key).copied().unwrap_or(0);
        assert!(n >= want, "{what}: bucket {key}: {n} < {want}");
        stray += n - want;
    }
    assert!(
        expected.keys().all(|k| ours.contains_key(k)),
        "{what}: {ours:?} vs {expected:?}"
    );
    assert!(stray <= 3, "{what}: {stray} more than runtime/metrics said");
    // Idle during the recording: (almost) nothing recorded over the window.
    assert!(
        latencies["window"]["count"].as_u64().unwrap() <= stray,
        "{what}"
    );

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
