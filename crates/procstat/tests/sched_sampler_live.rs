//! SchedSampler on live Go processes: a tiny program (tests/gosched) built stripped, PIE, and
//! stripped PIE by Go 1.19, 1.25 (the new global run queue layout) and 1.27, started with
//! GOMAXPROCS=2. The sampler's `gomaxprocs`, read from memory through addresses goinspect found
//! (from code in stripped builds, plus the load bias for PIE), must equal what the program's
//! own `runtime.GOMAXPROCS(0)` printed; the other counters must be within what the runtime allows.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use goinspect::{inspect_pid, InspectOptions};
use procstat::SchedSampler;
use serde::Deserialize;
use testsupport::{all_go_versions, go_binary, go_command, run, scratch_path};

#[derive(Deserialize)]
struct Truth {
    pid: u32,
    gomaxprocs: i32,
}

/// Builds tests/gosched with the toolchain whose version starts with `minor` ("1.19").
fn build(minor: &str, variant: &str) -> PathBuf {
    let version = all_go_versions()
        .into_iter()
        .find(|v| v.starts_with(&format!("{minor}.")))
        .unwrap_or_else(|| panic!("no Go {minor} toolchain: run scripts/install-deps.sh"));
    let out = scratch_path("procstat-sched", &format!("gosched-{version}-{variant}"));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gosched");
    let mut c = go_command(&go_binary(&version));
    c.current_dir(&src)
        .env("CGO_ENABLED", "0")
        .args(["build", "-o"])
        .arg(&out);
    if variant.contains("pie") {
        c.arg("-buildmode=pie");
    }
    if variant.contains("stripped") {
        c.arg("-ldflags=-s -w");
    }
    c.arg(".");
    run(c);
    out
}

fn check(minor: &str, variant: &str) {
    let what = format!("go{minor} {variant}");
    let bin = build(minor, variant);
    let mut child = Command::new(&bin)
        .env("GOMAXPROCS", "2")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let truth: Truth =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: {e}: {line}"));
    assert_eq!(truth.pid, child.id());

    let result = (|| {
        let insp = inspect_pid(truth.pid, &InspectOptions::default()).map_err(|e| e.to_string())?;
        assert_eq!(
            insp.binary.has_symtab,
            !variant.contains("stripped"),
            "{what}"
        );
        assert_eq!(insp.binary.pie, variant.contains("pie"), "{what}");
        let sampler = SchedSampler::from_inspection(&insp).map_err(|e| e.to_string())?;
        sampler.sample().map_err(|e| e.to_string())
    })();
    let _ = child.stdin.take().unwrap().write_all(b"\n");
    let _ = child.wait();
    let sample = result.unwrap_or_else(|e| panic!("{what}: {e}"));
    eprintln!("{what}: {sample:?}");

    assert_eq!(truth.gomaxprocs, 2, "{what}: GOMAXPROCS=2 was not honoured");
    assert_eq!(sample.gomaxprocs, truth.gomaxprocs, "{what}: {sample:?}");
    assert!(
        (0..=sample.gomaxprocs).contains(&sample.npidle),
        "{what}: {sample:?}"
    );
    assert!(
        (0..=sample.gomaxprocs).contains(&sample.nmspinning),
        "{what}: {sample:?}"
    );
    assert!(sample.global_runq >= 0, "{what}: {sample:?}");
}

#[test]
fn go1_19_stripped_pie_and_stripped_pie() {
    for variant in ["stripped", "pie", "stripped-pie"] {
        check("1.19", variant);
    }
}

#[test]
fn go1_25_stripped_pie() {
    check("1.25", "stripped-pie");
}

#[test]
fn go1_27_stripped_pie_and_stripped_pie() {
    for variant in ["stripped", "pie", "stripped-pie"] {
        check("1.27", variant);
    }
}
