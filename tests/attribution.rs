//! Latency attribution end to end, as root with real BPF, on the doctor fixture
//! (testdata/go/doctor) at `--level full`: in the hog scenario the "every P busy" share
//! dominates and names the hog's `go` statement; in the GC loop the stop-the-world share shows;
//! with a competitor pinned on the same CPU the kernel share dominates. In every test the
//! shares sum exactly to the measured total, and the finding of the pathology cites its share.
//! Few and short (a 2-core machine shared by several builds): one Go version each.

mod bpf_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bpf_support::require_root;
use serde_json::Value;

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
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(["-v", "doctor", "--json", "--level", "full"])
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
