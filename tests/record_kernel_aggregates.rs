//! Referees for the kernel-side aggregates (`kernel` in the report, chunk type 8), against the
//! kernel's own accounting and a fixture's own count:
//! - the ctxsw fixture (testdata/go/ctxsw) recorded with `-p` around its work: for every thread,
//!   the last reading's counters (cumulative, as the kernel keeps them) equal
//!   /proc/PID/task/TID/status (voluntary_ctxt_switches, nonvoluntary_ctxt_switches) and
//!   /proc/PID/task/TID/schedstat (on-CPU ns, run-queue ns, runs) read while the fixture is idle
//!   at the end of the window (read again after the recording, unchanged: nothing ran between),
//!   and the window's counts equal the kernel's deltas between the two idle moments;
//! - the syscount fixture (testdata/go/syscount) makes exactly N getppid calls on one thread,
//!   then 3 select calls that sleep 20 ms each: the aggregates count exactly N and 3, on that
//!   thread and in total, and the selects' total time lies between 60 ms and what the program
//!   measured around them (calls that return on their CPU and calls that block are followed
//!   differently in BPF: both are checked);
//! - at the monitor level the section says "not captured" and why.

mod bpf_support;
mod record_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use bpf_support::require_root;
use record_support::{record_launch_with, report_json, Attached};

/// tid → (voluntary, involuntary, on-CPU ns, run-queue ns, runs), as the kernel counts them.
type Counters = BTreeMap<u64, [u64; 5]>;

/// The kernel's counters as [`Counters`] rows.
fn row(c: &testsupport::TaskCounters) -> [u64; 5] {
    [
        c.voluntary,
        c.involuntary,
        c.on_cpu_ns,
        c.runqueue_ns,
        c.runs,
    ]
}

fn kernel_counters(pid: u32) -> Counters {
    testsupport::task_counters(pid)
        .iter()
        .map(|(&tid, c)| (tid, row(c)))
        .collect()
}

/// The counters once no thread of `pid` has run for `quiet` (the process is idle).
fn idle_counters(pid: u32, quiet: Duration) -> Counters {
    testsupport::idle_task_counters(pid, quiet, row)
}

fn read_line(lines: &mut impl BufRead, want: &str) {
    let mut line = String::new();
    lines.read_line(&mut line).expect("the fixture's stdout");
    assert_eq!(line.trim(), want, "the fixture said {line:?}");
}

/// The report's per-thread counters: (cumulative at the last reading, within the window).
fn recorded_counters(json: &serde_json::Value, file: &std::path::Path) -> (Counters, Counters) {
    // The report shows the window; the cumulative values are in the recording itself.
    let mut cumulative = Counters::new();
    let mut reader = goroscope_record::Reader::open(file).expect("opening the recording");
    let mut last = None;
    while let Some(chunk) = reader.next_chunk().expect("reading the recording") {
        if let goroscope_record::Chunk::KernelAggregates(k) = chunk {
            last = Some(k);
        }
    }
    let last = last.expect("no kernel aggregates in the recording");
    for t in &last.threads {
        let c = &t.last;
        cumulative.insert(
            u64::from(t.tid),
            [
                c.voluntary_switches,
                c.involuntary_switches,
                c.on_cpu_ns,
                c.run_delay_ns.expect("run_delay (CONFIG_SCHED_INFO)"),
                c.runs.expect("pcount"),
            ],
        );
    }
    let mut window = Counters::new();
    for row in json["kernel"]["threads"]
        .as_array()
        .expect("kernel.threads")
    {
        let n = |f: &str| row[f].as_u64().unwrap_or_else(|| panic!("{f} in {row}"));
        window.insert(
            n("tid"),
            [
                n("voluntary_switches"),
                n("involuntary_switches"),
                n("on_cpu_ns"),
                n("run_delay_ns"),
                n("runs"),
            ],
        );
    }
    (cumulative, window)
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn thread_counters_equal_the_kernels_own() {
    require_root();
    for (minor, variant) in [("1.19", "normal"), ("1.27", "stripped")] {
        let label = format!("go{minor}/ctxsw/{variant}");
        let file = testsupport::scratch_path("record_kernel_aggregates", &format!("{label}.rec"));
        let mut fixture = Command::new(testsupport::program_fixture("ctxsw", minor, variant))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the fixture");
        let pid = fixture.id();
        let mut out = BufReader::new(fixture.stdout.take().unwrap());
        read_line(&mut out, "ready");
        let recording = Attached::start(pid, &["-d", "8s"], &file, &label);
        let before = idle_counters(pid, Duration::from_millis(300));
        let mut stdin = fixture.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        read_line(&mut out, "done");
        let after = idle_counters(pid, Duration::from_millis(300));
        let log = recording.wait();
        // Nothing ran between the idle reading and the recording's last one if nothing ran
        // until now: the two are then comparable to the nanosecond.
        let after_recording = kernel_counters(pid);
        drop(stdin);
        assert!(fixture.wait().expect("fixture").success(), "{label}");
        assert!(log.contains("stopped: duration"), "{label}: {log}");
        assert_eq!(
            after, after_recording,
            "{label}: the fixture ran after its work (the comparison needs it idle)"
        );

        let json = report_json(&file);
        assert_eq!(json["drops"]["total"], 0, "{label}: drops");
        assert_eq!(json["kernel"]["captured"], true, "{label}");
        assert_eq!(json["kernel"]["precision"]["thread_counters"], "exact");
        let (cumulative, window) = recorded_counters(&json, &file);
        assert_eq!(
            cumulative, after,
            "{label}: per thread [voluntary, involuntary, on-CPU ns, run-queue ns, runs], \
             goroscope's last reading vs /proc"
        );
        let mut kernel_window = Counters::new();
        for (&tid, now) in &after {
            let then = before.get(&tid).copied().unwrap_or_default();
            kernel_window.insert(tid, std::array::from_fn(|i| now[i] - then[i]));
        }
        assert_eq!(
            window, kernel_window,
            "{label}: per thread, the window's counts vs the kernel's deltas"
        );
        // The fixture ends its work blocked in read(2) on stdin: a call in flight at the end.
        let in_flight = json["kernel"]["syscalls_in_flight"]
            .as_array()
            .expect("kernel.syscalls_in_flight");
        assert!(
            in_flight.iter().any(|c| c["name"] == "read"),
            "{label}: {in_flight:?}"
        );
        let total = |c: &Counters, i: usize| c.values().map(|v| v[i]).sum::<u64>();
        let (v, nv) = (total(&kernel_window, 0), total(&kernel_window, 1));
        assert!(
            v > 100 && nv > 10,
            "{label}: the work made too few switches to referee: {kernel_window:?}"
        );
        eprintln!(
            "{label}: {v} voluntary, {nv} involuntary switches, {} ns on CPU, as the kernel counted",
            total(&kernel_window, 2)
        );
        let _ = std::fs::remove_file(&file);
    }
}

/// The report's rows for getppid: (total count, count on `tid`).
/// The kernel aggregates' rows for syscall `name`: (in total, on thread `tid`).
fn syscall_rows<'a>(
    json: &'a serde_json::Value,
    name: &str,
    tid: u64,
) -> (Option<&'a serde_json::Value>, Option<&'a serde_json::Value>) {
    let kernel = &json["kernel"];
    let total = kernel["syscalls"]
        .as_array()
        .expect("kernel.syscalls")
        .iter()
        .find(|r| r["name"] == name);
    let on_thread = kernel["syscalls_by_thread"]
        .as_array()
        .expect("kernel.syscalls_by_thread")
        .iter()
        .find(|r| r["name"] == name && r["tid"].as_u64() == Some(tid));
    (total, on_thread)
}

/// How many calls of `name` the aggregates hold: (in total, on thread `tid`).
fn syscall_counts(json: &serde_json::Value, name: &str, tid: u64) -> (u64, u64) {
    let count = |row: Option<&serde_json::Value>| row.map_or(0, |r| r["count"].as_u64().unwrap());
    let (total, on_thread) = syscall_rows(json, name, tid);
    (count(total), count(on_thread))
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn syscall_counts_equal_what_the_program_made_and_monitor_says_not_captured() {
    require_root();
    const N: u64 = 5000;
    for (minor, variant) in [("1.19", "stripped"), ("1.27", "normal")] {
        let label = format!("go{minor}/syscount/{variant}");
        let fixture = testsupport::program_fixture("syscount", minor, variant);
        let file = testsupport::scratch_path("record_kernel_aggregates", &format!("{label}.rec"));
        let n = N.to_string();
        let stdout = record_launch_with(&fixture, &[&n], &[], &[], &file, &label);
        let said: Vec<&str> = stdout.split_whitespace().collect();
        let (made, tid, selects, select_ns): (u64, u64, u64, u64) = match said.as_slice() {
            ["getppid", n, "tid", tid, "select", k, "sum_ns", ns] => (
                n.parse().unwrap(),
                tid.parse().unwrap(),
                k.parse().unwrap(),
                ns.parse().unwrap(),
            ),
            _ => panic!("{label}: the fixture said {stdout:?}"),
        };
        assert_eq!(made, N, "{label}");
        let json = report_json(&file);
        assert_eq!(json["kernel"]["lost"]["syscalls"], 0, "{label}");
        assert_eq!(
            syscall_counts(&json, "getppid", tid),
            (N, N),
            "{label}: getppid calls, in total and on thread {tid}"
        );
        // The selects sleep, so their thread switches out inside each call: the tracer then
        // keeps the call's start with the thread rather than with the CPU it entered on.
        assert_eq!(
            syscall_counts(&json, "select", tid),
            (selects, selects),
            "{label}: select calls, in total and on thread {tid}"
        );
        let select = syscall_rows(&json, "select", tid).1.unwrap();
        let select_total = select["total_ns"].as_u64().unwrap();
        assert!(
            (selects * 20_000_000..=select_ns).contains(&select_total),
            "{label}: the selects took {select_total} ns in the kernel's view; the program \
             measured {select_ns} ns around them, and each sleeps at least 20 ms: {select}"
        );
        let latency = &json["kernel"]["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "getppid")
            .unwrap()["latency"];
        assert_eq!(latency["count"], N, "{label}");
        assert!(
            latency["p50_le_ns"].as_u64().unwrap() > 0,
            "{label}: {latency}"
        );

        // At the monitor level: not captured, and why.
        let stdout =
            record_launch_with(&fixture, &[&n], &[], &["--level", "monitor"], &file, &label);
        assert!(stdout.starts_with("getppid"), "{label}: {stdout}");
        let json = report_json(&file);
        assert_eq!(
            json["kernel"]["captured"], false,
            "{label}: {}",
            json["kernel"]
        );
        let why = json["kernel"]["why"].as_str().unwrap_or_default();
        assert!(why.contains("monitor"), "{label}: {why}");
        assert_eq!(json["kernel"]["threads"].as_array().map_or(0, Vec::len), 0);
        let text = Command::new(env!("CARGO_BIN_EXE_goroscope"))
            .arg("report")
            .arg(&file)
            .output()
            .expect("goroscope report");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains(
                "Kernel aggregates (threads and syscalls, counted in the kernel): not captured"
            ),
            "{label}: {text}"
        );
        let _ = std::fs::remove_file(&file);
    }
}
