//! The Go toolchains the tests run against: which versions are selected and where each
//! toolchain lives (both asked of `scripts/go-versions.sh`, so tests and scripts agree), how to
//! run one offline, and how to build a small standard-library Go helper program once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::paths::workspace_root;

/// Sources `scripts/go-versions.sh` and runs `script` (e.g. one of its functions), with
/// `GOROSCOPE_GO_VERSIONS` set to `selection` when given; its trimmed stdout.
fn go_versions_sh(script: &str, selection: Option<&str>) -> String {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(". scripts/go-versions.sh && {script}"))
        .current_dir(workspace_root());
    if let Some(sel) = selection {
        cmd.env("GOROSCOPE_GO_VERSIONS", sel);
    }
    let out = cmd.output().expect("bash runs scripts/go-versions.sh");
    assert!(out.status.success(), "scripts/go-versions.sh failed");
    String::from_utf8(out.stdout)
        .expect("scripts/go-versions.sh prints UTF-8")
        .trim()
        .to_string()
}

/// The versions ("1.27.3") selected by `GOROSCOPE_GO_VERSIONS` (default: CI's subset).
pub fn selected_go_versions() -> Vec<String> {
    words(&go_versions_sh("goroscope_selected_go_versions", None))
}

/// Every version goroscope is tested against, oldest first.
pub fn all_go_versions() -> Vec<String> {
    words(&go_versions_sh(
        "goroscope_selected_go_versions",
        Some("all"),
    ))
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// GOROOT of a toolchain version, as `scripts/go-versions.sh` places them (asked once per
/// version: test binaries look it up for every fixture).
pub fn goroot(version: &str) -> PathBuf {
    static CACHE: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry(version.to_string())
        .or_insert_with(|| {
            PathBuf::from(go_versions_sh(&format!("goroscope_goroot {version}"), None))
        })
        .clone()
}

/// The `go` binary of a toolchain version.
pub fn go_binary(version: &str) -> PathBuf {
    goroot(version).join("bin/go")
}

/// A command running the `go` binary `go` offline (no toolchain switch, no proxy, no user
/// config), with its caches under the workspace's target/.
pub fn go_command(go: &Path) -> Command {
    let root = workspace_root();
    let mut c = Command::new(go);
    c.env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .env("GOENV", "off")
        .env("GOPATH", root.join("target/go-path"))
        .env("GOCACHE", root.join("target/go-cache"));
    c
}

/// Runs a command that must succeed; its stdout. Panics with the command and its stderr
/// otherwise.
pub fn run(mut c: Command) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Builds the Go program in `src_dir` (standard library only, no cgo) with the toolchain of
/// `version` into `out`, once per test process: later calls with the same `out` return it at
/// once. Panics when the build fails.
pub fn build_go_helper(version: &str, src_dir: &Path, out: &Path) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    // Held across the build so that parallel tests wait for one build instead of racing.
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(bin) = built.get(out) {
        return bin.clone();
    }
    let go = go_binary(version);
    let mut c = go_command(&go);
    c.current_dir(src_dir)
        .args(["build", "-o"])
        .arg(out)
        .arg(".")
        .env("CGO_ENABLED", "0");
    let status = c
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/install-deps.sh", go.display()));
    assert!(
        status.success(),
        "building the Go helper in {} with go{version} failed",
        src_dir.display()
    );
    built.insert(out.to_path_buf(), out.to_path_buf());
    out.to_path_buf()
}
