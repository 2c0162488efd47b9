//! `goroscope export` end to end: recordings of the sched fixture made with the real CLI (root)
//! exported as Perfetto traces and pprof profiles, each decoded by an independent reader —
//! Perfetto's official generated Python classes (crates/export/tests/perfetto_check.py) and
//! `go tool pprof -raw` — whose numbers must equal the report's for the same recording; and
//! bad inputs (not a recording, an unknown kind, an unwritable output), which must fail clearly
//! and leave no file under the output name.

#[allow(unused_imports)] // record_support uses its assertions, not require_root
mod bpf_support;
mod record_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use record_support::{record_fixture, report_json};
use serde_json::Value;

fn goroscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(args)
        .output()
        .expect("running goroscope")
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Records the sched fixture's `scenario` with GOMAXPROCS=2 at `level`.
fn record(scenario: &str, level: &str) -> PathBuf {
    record_fixture("export", "sched", &["-scenario", scenario], level)
}

/// What perfetto_check.py says of an exported trace.
fn check_perfetto(trace: &Path) -> Value {
    let python = testsupport::workspace_root().join(".tools/venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/install-deps.sh (it installs PyPI's perfetto package there)",
        python.display()
    );
    let script = testsupport::workspace_root().join("crates/export/tests/perfetto_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(trace)
        .output()
        .expect("running perfetto_check.py");
    ok(&out, "perfetto_check.py");
    serde_json::from_slice(&out.stdout).expect("perfetto_check.py JSON")
}

/// One pprof sample as `go tool pprof -raw` prints it: its values and frames (leaf first) as
/// "function (file:line)", the report's form.
#[derive(Debug)]
struct Sample {
    values: Vec<i64>,
    frames: Vec<String>,
}

/// `go tool pprof -raw FILE`: sample types and samples.
fn pprof_raw(file: &Path) -> (Vec<String>, Vec<Sample>) {
    let go = testsupport::go_binary(&testsupport::gotrace::referee_go_version());
    let out = testsupport::go_command(&go)
        .args(["tool", "pprof", "-raw"])
        .arg(file)
        .output()
        .expect("running go tool pprof");
    ok(&out, "go tool pprof -raw");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut types = Vec::new();
    let mut raw: Vec<(Vec<i64>, Vec<u64>)> = Vec::new();
    let mut locations: BTreeMap<u64, String> = BTreeMap::new();
    let mut section = "";
    for line in text.lines() {
        match line {
            "Samples:" | "Locations" | "Mappings" => {
                section = line;
                continue;
            }
            _ => {}
        }
        match section {
            "Samples:" if types.is_empty() => {
                types = line.split_whitespace().map(String::from).collect();
            }
            "Samples:" => {
                let Some((values, ids)) = line.split_once(':') else {
                    continue; // a label line
                };
                let Ok(values) = values
                    .split_whitespace()
                    .map(str::parse)
                    .collect::<Result<Vec<i64>, _>>()
                else {
                    continue;
                };
                let ids = ids.split_whitespace().map(|i| i.parse().unwrap()).collect();
                raw.push((values, ids));
            }
            "Locations" => {
                // "     3: 0x0 M=1 main.f /src/main.go:12:0 s=0"
                let Some((id, rest)) = line.trim().split_once(": ") else {
                    continue;
                };
                let rest = rest.trim_end_matches(" s=0");
                let rest = rest.split_once(' ').map_or(rest, |(_, r)| r); // address
                let rest = rest.split_once(' ').map_or(rest, |(_, r)| r); // mapping
                let (function, position) = rest.rsplit_once(' ').unwrap();
                let (file_line, _col) = position.rsplit_once(':').unwrap();
                let (file, line_no) = file_line.rsplit_once(':').unwrap();
                let frame = if file.is_empty() {
                    function.to_string()
                } else {
                    format!("{function} ({file}:{line_no})")
                };
                locations.insert(id.parse().unwrap(), frame);
            }
            _ => {}
        }
    }
    let samples = raw
        .into_iter()
        .map(|(values, ids)| Sample {
            values,
            frames: ids.iter().map(|i| locations[i].clone()).collect(),
        })
        .collect();
    (types, samples)
}

fn export_pprof(rec: &Path, kind: &str) -> (Vec<String>, Vec<Sample>) {
    let file = rec.with_extension(format!("{kind}.pb.gz"));
    ok(
        &goroscope(&["export", "pprof", s(rec), "--kind", kind, "-o", s(&file)]),
        "export pprof",
    );
    pprof_raw(&file)
}

fn total(samples: &[Sample], column: usize) -> i64 {
    samples.iter().map(|s| s.values[column]).sum()
}

fn u(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
#[ignore = "needs root: records the sched fixture with real BPF"]
fn cpuhog_exports_equal_the_report() {
    testsupport::require_root();
    let rec = record("cpuhog", "full");
    let report = report_json(&rec);
    let sched = &report["scheduler"];

    // Perfetto: run slices per goroutine, busy time per P, flows, no overlaps.
    let trace = rec.with_extension("pftrace");
    ok(
        &goroscope(&["export", "perfetto", s(&rec), "-o", s(&trace)]),
        "export perfetto",
    );
    let t = check_perfetto(&trace);
    assert_eq!(t["flows"]["bad"], serde_json::json!([]), "{}", t["flows"]);
    assert!(u(&t["flows"]["started"]) > 0, "no flows: {}", t["flows"]);
    let top = sched["preemption"]["time_slices"]["top_goroutines"]
        .as_array()
        .unwrap();
    assert!(!top.is_empty());
    for g in top {
        let goid = g["goid"].to_string();
        let traced = &t["goroutines"][&goid];
        assert_eq!(
            traced["running_ns"], g["running_ns"],
            "G{goid}: {traced} vs {g}"
        );
        assert_eq!(
            traced["scheduled_slices"], g["slices"],
            "G{goid}: {traced} vs {g}"
        );
    }
    for (goid, g) in t["goroutines"].as_object().unwrap() {
        assert_eq!(g["overlaps"], 0, "G{goid}'s slices overlap: {g}");
    }
    let per_p = sched["idle"]["ps"]["per_p"].as_array().unwrap();
    for p in per_p {
        let id = p["p_id"].to_string();
        let traced = &t["procs"][&id];
        assert_eq!(traced["busy_ns"], p["busy_ns"], "P{id}: {traced} vs {p}");
        assert_eq!(traced["overlaps"], 0, "P{id}'s slices overlap: {traced}");
    }
    for th in report["threads"]["per_thread"].as_array().unwrap() {
        let traced = &t["threads"][&th["tid"].to_string()];
        assert_eq!(traced["on_cpu_ns"], th["on_cpu_ns"], "{traced} vs {th}");
        assert_eq!(traced["off_cpu_ns"], th["off_cpu_ns"], "{traced} vs {th}");
    }
    let preempt = &sched["preemption"];
    assert_eq!(
        t["instants"]["async preemption"],
        preempt["preemptions"]["async_preemptions"]
    );
    assert_eq!(t["instants"]["SIGURG sent"], preempt["sigurg"]["sent"]);
    assert_eq!(
        t["instants"]["preempt request (sysmon)"],
        preempt["requests"]["by_sysmon"]
    );
    assert!(u(&t["counters"]["gomaxprocs"]) > 0, "{}", t["counters"]);

    // pprof sched-latency: the report's waits, total and per stack.
    let (types, samples) = export_pprof(&rec, "sched-latency");
    assert_eq!(types, ["contentions/count", "delay/nanoseconds"]);
    let by_stack = &sched["latency_by_stack"];
    assert_eq!(total(&samples, 0), u(&report["sched_latency"]["count"]));
    assert_eq!(
        total(&samples, 1),
        u(&by_stack["total_ns"]) + u(&by_stack["unattributed_ns"])
    );
    assert!(u(&by_stack["stacks"]) <= 50, "every stack is in the report");
    let mut expected: BTreeMap<Vec<String>, (i64, i64)> = BTreeMap::new();
    for row in by_stack["by_stack"].as_array().unwrap() {
        let frames = serde_json::from_value(row["frames"].clone()).unwrap();
        let e = expected.entry(frames).or_default();
        e.0 += u(&row["count"]);
        e.1 += u(&row["total_ns"]);
    }
    let got: BTreeMap<Vec<String>, (i64, i64)> = samples
        .iter()
        .filter(|s| !s.frames[0].starts_with("(no stack"))
        .map(|s| (s.frames.clone(), (s.values[0], s.values[1])))
        .collect();
    assert_eq!(got, expected);

    // pprof off-cpu: every thread's off-CPU time, by goroutine.
    let (types, samples) = export_pprof(&rec, "off-cpu");
    assert_eq!(types, ["switches/count", "off_cpu/nanoseconds"]);
    let off_cpu: i64 = report["threads"]["per_thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| u(&t["off_cpu_ns"]))
        .sum();
    assert_eq!(total(&samples, 1), off_cpu);
    assert!(
        samples
            .iter()
            .any(|s| s.frames[0].starts_with("main.cpuhog.func")),
        "no off-CPU time of the hogs: {samples:?}"
    );

    // pprof goroutines: the goroutines live at the end, by site.
    let (types, samples) = export_pprof(&rec, "goroutines");
    assert_eq!(types, ["goroutines/count"]);
    assert_eq!(total(&samples, 0), u(&report["goroutines"]["live_at_end"]));
}

#[test]
#[ignore = "needs root: records the sched fixture with real BPF"]
fn syscall_exports_equal_the_report() {
    testsupport::require_root();
    let rec = record("syscalls", "full");
    let report = report_json(&rec);
    let kernel = &report["scheduler"]["syscalls"]["kernel"];
    let (types, samples) = export_pprof(&rec, "syscalls");
    assert_eq!(types, ["calls/count", "syscall/nanoseconds"]);
    assert_eq!(total(&samples, 0), u(&kernel["calls"]));
    assert_eq!(total(&samples, 1), u(&kernel["total_ns"]));
    for row in kernel["by_name"].as_array().unwrap() {
        let frame = format!("syscall {}", row["name"].as_str().unwrap());
        let of_name: Vec<&Sample> = samples.iter().filter(|s| s.frames[0] == frame).collect();
        assert_eq!(
            of_name.iter().map(|s| s.values[1]).sum::<i64>(),
            u(&row["total_ns"]),
            "{frame}"
        );
    }
    let trace = rec.with_extension("pftrace");
    ok(
        &goroscope(&["export", "perfetto", s(&rec), "-o", s(&trace)]),
        "export perfetto",
    );
    let t = check_perfetto(&trace);
    assert_eq!(t["syscalls"]["count"], kernel["calls"]);
    assert_eq!(t["syscalls"]["total_ns"], kernel["total_ns"]);
    assert_eq!(t["flows"]["bad"], serde_json::json!([]), "{}", t["flows"]);
}

/// Files in `dir` whose name starts with `stem`.
fn leftovers(dir: &Path, stem: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(stem))
        .collect()
}

#[test]
fn bad_inputs_fail_clearly_and_leave_nothing() {
    let dir = testsupport::scratch_path("export", "bad");
    std::fs::create_dir_all(&dir).unwrap();
    let not_rec = dir.join("not-a-recording.rec");
    std::fs::write(&not_rec, b"this is not a recording at all").unwrap();
    let out_file = dir.join("out.pftrace");
    for args in [
        vec!["export", "perfetto", s(&not_rec), "-o", s(&out_file)],
        vec![
            "export",
            "pprof",
            s(&not_rec),
            "--kind",
            "off-cpu",
            "-o",
            s(&out_file),
        ],
    ] {
        let out = goroscope(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains("not-a-recording.rec"), "{stderr}");
        assert_eq!(
            leftovers(&dir, "out.pftrace"),
            Vec::<String>::new(),
            "{args:?}"
        );
    }
    let out = goroscope(&[
        "export",
        "pprof",
        s(&not_rec),
        "--kind",
        "heap",
        "-o",
        s(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[possible values: sched-latency, off-cpu, syscalls, goroutines]"),
        "{stderr}"
    );
    let out = goroscope(&[
        "export",
        "perfetto",
        s(&not_rec),
        "-o",
        "/nonexistent-dir/t.pftrace",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write the Perfetto trace to /nonexistent-dir/t.pftrace"),
        "{stderr}"
    );
    // Someone's file is kept.
    let theirs = dir.join("notes.txt");
    std::fs::write(&theirs, "keep me").unwrap();
    let out = goroscope(&["export", "perfetto", s(&not_rec), "-o", s(&theirs)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --force"));
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "keep me");
    // The recording itself, never.
    let out = goroscope(&[
        "export",
        "perfetto",
        s(&not_rec),
        "-o",
        s(&not_rec),
        "--force",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the recording being exported"));
}
