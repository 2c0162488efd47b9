//! Latency attribution end to end, as root with real BPF, on the doctor fixture
//! (testdata/go/doctor) at `--level full`: in the hog scenario the "every P busy" share
//! dominates and names the hog's `go` statement; in the GC loop the stop-the-world share shows;
//! with a competitor pinned on the same CPU the kernel share dominates, at the full level
//! (exact) and at the default level (estimated from the kernel aggregates' run delay); so does
//! it in a cgroup whose CPU quota throttles GOMAXPROCS=2 to half a CPU, at both levels (ground
//! truth: the cgroup's `throttled_usec`, the threads' /proc schedstat run delay). In every test
//! the shares sum exactly to the measured total, and the finding of the pathology cites its
//! share. Few and short (a 2-core machine shared by several builds): one Go version each.

mod bpf_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bpf_support::require_root;
use serde_json::Value;
use testsupport::QuotaCgroup;

const CAUSES: [&str; 5] = ["stw", "kernel", "syscall", "ps_busy", "other"];

/// One test at a time: each measures why goroutines wait, and the competitor test saturates
/// CPU 0 for seconds, which would show up as kernel delay in the others' waits.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn fixture(minor: &str) -> PathBuf {
    testsupport::program_fixture("doctor", minor, "stripped")
}

/// `goroscope doctor --json --level full ARGS`: the diagnosis.
fn doctor(args: &[&str], label: &str) -> Value {
    doctor_at("full", args, label)
}

/// `goroscope doctor --json --level LEVEL ARGS`: the diagnosis.
fn doctor_at(level: &str, args: &[&str], label: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(["-v", "doctor", "--json", "--level", level])
        .args(args)
        .output()
        .expect("running goroscope doctor");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{label}: doctor JSON: {e}\nstderr: {stderr}"));
    let ids = bpf_support::ids_in(&stderr);
    if !ids.is_empty() {
        bpf_support::assert_unloaded(&ids);
    }
    json
}

/// The doctor watching `scenario` launched for 3 s (the program runs 4 s).
fn launched(minor: &str, scenario: &str) -> Value {
    let bin = fixture(minor);
    let label = format!("go{minor} {scenario}");
    let d = doctor(
        &[
            "-d",
            "3s",
            "--",
            bin.to_str().unwrap(),
            "-scenario",
            scenario,
            "-d",
            "4s",
        ],
        &label,
    );
    std::thread::sleep(Duration::from_millis(1200));
    d
}

/// The attribution, checked to be captured, non-empty and to sum to its total (overall and
/// per site); returns it and the ns of each cause.
fn attribution<'a>(d: &'a Value, label: &str) -> (&'a Value, [u64; 5]) {
    let a = &d["latency_attribution"];
    assert_ne!(a["captured"], false, "{label}: {a:#}");
    let total = a["total_ns"].as_u64().expect("total_ns");
    assert!(
        a["waits"].as_u64().unwrap() > 0 && total > 0,
        "{label}: {a:#}"
    );
    let ns = |c: &Value, cause: &str| c[format!("{cause}_ns")].as_u64().expect("cause ns");
    let causes = CAUSES.map(|cause| ns(&a["causes"], cause));
    assert_eq!(causes.iter().sum::<u64>(), total, "{label}: {a:#}");
    for site in a["by_site"].as_array().expect("by_site") {
        let sum: u64 = CAUSES.iter().map(|c| ns(&site["causes"], c)).sum();
        assert_eq!(sum, site["total_ns"].as_u64().unwrap(), "{label}: {site:#}");
    }
    (a, causes)
}

/// The `latency_attribution` evidence of finding `id` (it must cite `cause`).
fn cited<'a>(d: &'a Value, id: &str, cause: &str, label: &str) -> &'a Value {
    let f = d["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("{label}: no {id} finding: {:#}", d["findings"]));
    f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "latency_attribution" && e["cause"] == cause)
        .unwrap_or_else(|| panic!("{label}: {id} cites no {cause} share: {f:#}"))
}

fn largest(causes: &[u64; 5]) -> &'static str {
    let i = (0..5).max_by_key(|&i| causes[i]).unwrap();
    CAUSES[i]
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn behind_a_hog_every_p_busy_dominates_and_names_the_hog() {
    require_root();
    let _serial = serial();
    let label = "go1.27 hog";
    let d = launched("1.27", "hog");
    let (a, causes) = attribution(&d, label);
    assert_eq!(largest(&causes), "ps_busy", "{label}: {a:#}");
    // The hog is the goroutine hogScenario starts: its `go` statement is in hogScenario.
    assert_eq!(
        a["ps_busy_occupants"][0]["function"], "main.hogScenario",
        "{label}: {a:#}"
    );
    let e = cited(&d, "cpu_hog", "ps_busy", label);
    assert_eq!(e["ns"].as_u64().unwrap(), causes[3], "{label}: {e:#}");
    assert_eq!(
        e["occupant"]["function"], "main.hogScenario",
        "{label}: {e:#}"
    );
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn in_a_gc_loop_the_stop_the_world_share_shows() {
    require_root();
    let _serial = serial();
    let label = "go1.19 gc";
    let d = launched("1.19", "gc");
    let (a, causes) = attribution(&d, label);
    assert!(causes[0] > 0, "{label}: {a:#}");
    let e = cited(&d, "gc_pauses", "stw", label);
    assert_eq!(e["ns"].as_u64().unwrap(), causes[0], "{label}: {e:#}");
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn with_a_competitor_on_the_same_cpu_the_kernel_share_dominates() {
    require_root();
    let _serial = serial();
    let label = "go1.27 contend (GOMAXPROCS=1) pinned to CPU 0 beside two computes";
    let bin = fixture("1.27");
    let spawn = |scenario: &str, gomaxprocs: Option<&str>, secs: &str| {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"])
            .arg(&bin)
            .args(["-scenario", scenario, "-d", secs])
            .stdout(Stdio::null());
        if let Some(n) = gomaxprocs {
            cmd.env("GOMAXPROCS", n);
        }
        cmd.spawn().expect("taskset")
    };
    // Two CPU-bound competitors leave the target about a third of CPU 0: its goroutines, three
    // of them always runnable, wait mostly while the kernel runs the competitors.
    let mut competitors = [spawn("compute", None, "6s"), spawn("compute", None, "6s")];
    let mut target = spawn("contend", Some("1"), "5s");
    std::thread::sleep(Duration::from_millis(300));
    let d = doctor(&["-p", &target.id().to_string(), "-d", "3s"], label);
    let _ = target.wait();
    for c in &mut competitors {
        let _ = c.wait();
    }
    let (a, causes) = attribution(&d, label);
    assert_eq!(largest(&causes), "kernel", "{label}: {a:#}");
    let e = cited(&d, "kernel_cpu_contention", "kernel", label);
    assert_eq!(e["exact"], true, "{label}: {e:#}");
}

/// Σ over the process's threads of (on-CPU ns, run-queue delay ns) from
/// /proc/PID/task/*/schedstat: the kernel's own accounting, the ground truth of the kernel
/// share (threads that exit in between are missed).
fn schedstat(pid: u32) -> (u64, u64) {
    let mut sum = (0, 0);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return sum;
    };
    for task in tasks.flatten() {
        let Ok(line) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let mut fields = line
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0));
        sum.0 += fields.next().unwrap_or(0);
        sum.1 += fields.next().unwrap_or(0);
    }
    sum
}

/// The kernel's share of the time the threads wanted a CPU between two schedstat readings.
fn waited_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let on = after.0.saturating_sub(before.0) as f64;
    let delay = after.1.saturating_sub(before.1) as f64;
    delay / (on + delay).max(1.0)
}

/// The attribution's `kernel` exactness entry.
fn kernel_exactness(a: &Value) -> &Value {
    a["exactness"]
        .as_array()
        .expect("exactness")
        .iter()
        .find(|e| e["cause"] == "kernel")
        .expect("kernel exactness")
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn with_a_competitor_on_the_same_cpu_the_default_level_estimates_the_kernel_share() {
    require_root();
    let _serial = serial();
    let label = "go1.27 contend (GOMAXPROCS=1) pinned to CPU 0 beside two computes, default level";
    let bin = fixture("1.27");
    let spawn = |scenario: &str, gomaxprocs: Option<&str>, secs: &str| {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"])
            .arg(&bin)
            .args(["-scenario", scenario, "-d", secs])
            .stdout(Stdio::null());
        if let Some(n) = gomaxprocs {
            cmd.env("GOMAXPROCS", n);
        }
        cmd.spawn().expect("taskset")
    };
    let mut competitors = [spawn("compute", None, "6s"), spawn("compute", None, "6s")];
    let mut target = spawn("contend", Some("1"), "5s");
    std::thread::sleep(Duration::from_millis(300));
    let pid = target.id();
    let before = schedstat(pid);
    let d = doctor_at("default", &["-p", &pid.to_string(), "-d", "3s"], label);
    let truth = waited_share(before, schedstat(pid));
    let _ = target.wait();
    for c in &mut competitors {
        let _ = c.wait();
    }
    let (a, causes) = attribution(&d, label);
    eprintln!(
        "{label}: kernel {:.2} of the waits; schedstat share {truth:.2}",
        causes[1] as f64 / causes.iter().sum::<u64>() as f64
    );
    assert_eq!(a["basis"], "samples", "{label}: {a:#}");
    let k = kernel_exactness(a);
    assert_eq!(k["exact"], false, "{label}: {k:#}");
    assert!(
        k["how"].as_str().unwrap().starts_with("estimated"),
        "{label}: {k:#}"
    );
    // The kernel really held the threads off their CPU most of the time they wanted it ...
    assert!(truth > 0.5, "{label}: schedstat share {truth:.2}");
    // ... and the estimate shows it, as the largest cause, near the threads' own share.
    assert_eq!(
        largest(&causes),
        "kernel",
        "{label}: truth {truth:.2}: {a:#}"
    );
    let share = causes[1] as f64 / causes.iter().sum::<u64>() as f64;
    assert!(
        (share - truth).abs() < 0.2,
        "{label}: {share:.2} vs {truth:.2}"
    );
    let e = cited(&d, "kernel_cpu_contention", "kernel", label);
    assert_eq!(e["exact"], false, "{label}: {e:#}");
    assert_eq!(e["ns"].as_u64().unwrap(), causes[1], "{label}: {e:#}");
}

/// `contend` (4 goroutines yielding) with GOMAXPROCS=2 in a cgroup with cpu.max "50000 100000"
/// (half a CPU for two Ps), watched for 3 s at `level`: the attribution, the diagnosis, the
/// time the cgroup was throttled meanwhile (cpu.stat) and the threads' schedstat share.
fn throttled(level: &str, label: &str) -> (Value, u64, f64) {
    let mut cg = QuotaCgroup::create("attribution", 50_000).expect("a cgroup with a CPU quota");
    let bin = fixture("1.27");
    let pid = cg.run(
        Command::new(&bin)
            .args(["-scenario", "contend", "-d", "6s"])
            .env("GOMAXPROCS", "2")
            .stdout(Stdio::null()),
    );
    std::thread::sleep(Duration::from_millis(300));
    let (throttled_before, before) = (cg.throttled_usec(), schedstat(pid));
    let d = doctor_at(level, &["-p", &pid.to_string(), "-d", "3s"], label);
    let truth = waited_share(before, schedstat(pid));
    let throttled = cg
        .throttled_usec()
        .zip(throttled_before)
        .map_or(0, |(after, before)| after.saturating_sub(before));
    drop(cg);
    (d, throttled, truth)
}

#[test]
#[ignore = "needs root: creates a cgroup and loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn throttled_by_a_cpu_quota_the_kernel_share_dominates_at_full_and_default() {
    require_root();
    let _serial = serial();
    for (level, exact) in [("full", true), ("default", false)] {
        let label =
            format!("go1.27 contend, GOMAXPROCS=2 in cpu.max 50000 100000, --level {level}");
        let (d, throttled_us, truth) = throttled(level, &label);
        // Ground truth: the quota held the threads off their CPUs (cpu.stat), most of the
        // time they wanted one (schedstat).
        assert!(
            throttled_us > 0,
            "{label}: cpu.stat throttled_usec did not grow"
        );
        assert!(truth > 0.5, "{label}: schedstat share {truth:.2}");
        let (a, causes) = attribution(&d, &label);
        eprintln!(
            "{label}: kernel {:.2} of the waits; schedstat share {truth:.2}",
            causes[1] as f64 / causes.iter().sum::<u64>() as f64
        );
        assert_eq!(
            largest(&causes),
            "kernel",
            "{label}: truth {truth:.2}: {a:#}"
        );
        assert_eq!(kernel_exactness(a)["exact"], exact, "{label}: {a:#}");
        if !exact {
            // The estimate is the threads' own ratio, weighed by the waits: near the truth.
            let share = causes[1] as f64 / causes.iter().sum::<u64>() as f64;
            assert!(
                (share - truth).abs() < 0.2,
                "{label}: {share:.2} vs {truth:.2}"
            );
        }
        let e = cited(&d, "gomaxprocs_over_quota", "kernel", &label);
        assert_eq!(e["exact"], exact, "{label}: {e:#}");
        assert_eq!(e["ns"].as_u64().unwrap(), causes[1], "{label}: {e:#}");
        std::thread::sleep(Duration::from_millis(1200));
    }
}
