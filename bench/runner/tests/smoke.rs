//! Smoke test of the harness: runs goroscope-bench in --quick mode on the pingpong workload and
//! checks the table has its rows and that every ratio parses. No timing assertions: the figures
//! depend on the machine. Needs root and a built goroscope (release; GOROSCOPE_BIN overrides);
//! skips with a message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn goroscope_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GOROSCOPE_BIN") {
        return Some(PathBuf::from(p));
    }
    let root = workspace_root();
    let targets = [
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
        Some(root.join("target")),
    ];
    targets
        .into_iter()
        .flatten()
        .map(|t| t.join("release/goroscope"))
        .find(|p| p.is_file())
}

fn go_toolchain() -> Option<PathBuf> {
    let go = std::env::var_os("GOROSCOPE_BENCH_GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".tools/go/1.27.3/bin/go"));
    go.is_file().then_some(go)
}

/// Builds the pingpong workload the way bench/run.sh does.
fn build_pingpong(go: &Path, out_dir: &Path) -> PathBuf {
    let out = out_dir.join("pingpong");
    let status = Command::new(go)
        .args(["build", "-o"])
        .arg(&out)
        .arg("./pingpong")
        .current_dir(workspace_root().join("bench/workloads"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .env("GOCACHE", workspace_root().join("target/go-cache"))
        .status()
        .expect("running go build");
    assert!(status.success(), "building the pingpong workload failed");
    out
}

/// The table row that starts with `label`, split into cells (labels may contain one space).
fn row<'a>(table: &'a str, label: &str) -> Option<Vec<&'a str>> {
    table
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(label))
        .map(|l| l[label.len()..].split_whitespace().collect())
}

#[test]
#[ignore = "needs root: runs goroscope record (scripts/test.sh runs it as root with --include-ignored)"]
fn quick_pingpong_table_has_every_row_and_ratio() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: goroscope record needs root");
        return;
    }
    let Some(goroscope) = goroscope_binary() else {
        eprintln!("skipping: no built goroscope (cargo build --release, or set GOROSCOPE_BIN)");
        return;
    };
    let Some(go) = go_toolchain() else {
        eprintln!("skipping: no Go toolchain (scripts/install-deps.sh, or GOROSCOPE_BENCH_GO)");
        return;
    };
    // Removed when `tmp` drops, even if an assertion fails.
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path();
    build_pingpong(&go, scratch);
    let json = scratch.join("report.json");

    let out = Command::new(env!("CARGO_BIN_EXE_goroscope-bench"))
        .args(["--quick", "--workloads", "pingpong", "--levels", "default"])
        .arg("--goroscope")
        .arg(&goroscope)
        .arg("--workload-dir")
        .arg(scratch)
        .arg("--go")
        .arg(&go)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("running goroscope-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "goroscope-bench failed:\n{stdout}\n{stderr}"
    );

    assert!(
        stdout.lines().any(|l| l.starts_with("pingpong — ")),
        "no pingpong table:\n{stdout}"
    );
    let header = row(&stdout, "VARIANT").expect("no header row");
    let ratio_col = header
        .iter()
        .position(|c| *c == "RATIO")
        .expect("no RATIO column");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let labels: Vec<String> = report["workloads"][0]["variants"]
        .as_array()
        .expect("variants in the JSON report")
        .iter()
        .map(|v| v["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels[0], "untraced");
    assert_eq!(labels[1], "runtime/trace");
    assert!(labels[2].starts_with("goroscope "), "{labels:?}");
    for label in &labels {
        // "goroscope default" is two words: the cells after the label line up with the header
        // cells after "VARIANT".
        let cells = row(&stdout, label).unwrap_or_else(|| panic!("no row {label}:\n{stdout}"));
        let ratio = cells[ratio_col];
        let value: f64 = ratio
            .strip_suffix('x')
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("ratio {ratio:?} of {label} does not parse:\n{stdout}"));
        assert!(value > 0.0);
        if label == "untraced" {
            assert_eq!(ratio, "1.00x");
        }
    }
    // Ground truth: each run's figure is what the workload printed about itself.
    for v in report["workloads"][0]["variants"].as_array().unwrap() {
        let sample = &v["samples"][0];
        assert!(sample["ops"].as_u64().unwrap() > 0, "{v}");
    }
}
