//! A uprobe on a real Go program, as root with real BPF loads: the self-test program is attached
//! to `runtime.newproc1` at the safe probe offset goinspect computes (after the stack-check
//! prologue), for every process running the fixture, and the fixture then runs to completion.
//! Every goroutine creation goes through newproc1, so the hit count must cover the goroutines
//! the fixture starts; the traced program must be unharmed; nothing may stay loaded afterwards.

mod bpf_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use bpf_support::{
    assert_no_gs_program_held_by_us, assert_unloaded, loaded_programs,
    prog_ids_held_by_this_process, require_root,
};
use goinspect::InspectOptions;
use goroscope_bpf::{ObjectStorage, Selftest};

/// Goroutines testdata/go/inspectee/main.go creates through newproc1: `runtime.main` itself
/// (rt0_go starts it with newproc), 4 `go worker(...)` in a loop, the LockOSThread goroutine and
/// the Goexit goroutine. The runtime adds its own (forcegc, bgsweep, bgscavenge, finalizers...),
/// so the count is a lower bound.
const INSPECTEE_GOROUTINES: u64 = 7;

fn fixtures_dir() -> PathBuf {
    std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fixtures"))
}

/// Fixture versions present, oldest first ("1.19.8", ..., "1.27.3").
fn versions_present() -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(fixtures_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("go").map(String::from))
        .filter(|v| v.split('.').all(|p| p.parse::<u32>().is_ok()))
        .collect();
    versions.sort_by_key(|v| {
        v.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    versions
}

/// The fixtures to trace: the newest Go's normal and stripped builds and Go 1.19's normal one.
fn fixtures() -> Vec<(String, PathBuf)> {
    let versions = versions_present();
    let newest = versions.last().cloned();
    let go119 = versions.iter().find(|v| v.starts_with("1.19.")).cloned();
    let wanted = [
        (newest.clone(), "normal"),
        (newest, "stripped"),
        (go119, "normal"),
    ];
    wanted
        .into_iter()
        .map(|(version, variant)| {
            let version = version.unwrap_or_else(|| {
                panic!(
                    "missing Go fixtures under {} (need the newest Go and 1.19): run \
                     scripts/build-fixtures.sh",
                    fixtures_dir().display()
                )
            });
            let path = fixtures_dir()
                .join(format!("go{version}"))
                .join("inspectee")
                .join(variant);
            assert!(
                path.is_file(),
                "{} is missing: run scripts/build-fixtures.sh",
                path.display()
            );
            (version, path)
        })
        .collect()
}

/// A private copy of the fixture: uprobes attach to an inode, and other tests on the machine may
/// run the shared fixture at the same time; a copy makes every counted hit ours.
fn private_copy(fixture: &Path, label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-scratch")
        .join(format!("bpf_uprobe_go-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating scratch dir");
    let copy = dir.join(label.replace('/', "-"));
    std::fs::copy(fixture, &copy).expect("copying the fixture");
    copy
}

/// Traces one fixture run; returns the newproc1 hit count.
fn trace_one_run(version: &str, fixture: &Path) -> u64 {
    let label = format!(
        "go{version}/{}",
        fixture.file_name().unwrap().to_string_lossy()
    );
    let binary = private_copy(fixture, &label);
    let inspection = goinspect::inspect_file(&binary, &InspectOptions::default())
        .unwrap_or_else(|e| panic!("{label}: goinspect could not inspect it: {e}"));
    let newproc1 = inspection
        .functions
        .iter()
        .find(|f| f.symbol == "runtime.newproc1")
        .unwrap_or_else(|| panic!("{label}: runtime.newproc1 is not in goinspect's probe list"));
    assert!(newproc1.found, "{label}: runtime.newproc1 not found");
    let offset = newproc1.file_offset + newproc1.safe_probe_offset;

    let mut storage = ObjectStorage::new();
    // No sched_switch here: target 0 is "no process".
    let mut probe = Selftest::load(&mut storage, 0).expect("loading the selftest BPF program");
    let ids: Vec<u32> = probe
        .program_ids()
        .expect("program ids")
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    // The listings used below to prove unloading must see our programs while they are loaded.
    let listed = loaded_programs();
    let held = prog_ids_held_by_this_process();
    for id in &ids {
        assert!(
            listed
                .iter()
                .any(|p| p.id == *id && p.name.starts_with("gs_")),
            "bpftool does not list our program {id}: {listed:?}"
        );
        assert!(
            held.contains(id),
            "/proc/self/fdinfo does not show our program {id}: {held:?}"
        );
    }

    probe
        .attach_uprobe(&binary, offset, None)
        .unwrap_or_else(|e| panic!("{label}: {e:#}"));
    let child = Command::new(&binary)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting the fixture");
    let pid = child.id();
    let out = child.wait_with_output().expect("waiting for the fixture");
    let counts = probe.counts().expect("reading counters");
    drop(probe);
    assert_unloaded(&ids);
    let _ = std::fs::remove_file(&binary);

    // The traced program is unharmed: normal exit and its normal output.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{label} exited with {} under the uprobe; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("inspectee go{version}")),
        "{label} printed {stdout:?}"
    );

    eprintln!(
        "{label}: runtime.newproc1+{:#x} ({}) hit {} times",
        newproc1.safe_probe_offset, newproc1.safe_probe_instruction, counts.uprobe_hits
    );
    assert!(
        counts.uprobe_hits >= INSPECTEE_GOROUTINES,
        "{label}: newproc1 hit {} times, but the program creates at least \
         {INSPECTEE_GOROUTINES} goroutines",
        counts.uprobe_hits
    );
    assert_eq!(
        counts.last_uprobe_tgid, pid,
        "{label}: the hits came from another process"
    );
    counts.uprobe_hits
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn newproc1_uprobe_counts_goroutine_creations_of_real_go_programs() {
    require_root();
    // Sequential on purpose: the final check looks at every program this process holds.
    for (version, fixture) in fixtures() {
        trace_one_run(&version, &fixture);
    }
    assert_no_gs_program_held_by_us();
}
