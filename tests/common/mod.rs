//! Shared helpers of the `goroscope inspect` end-to-end tests: how to run the goroscope binary
//! and parse its JSON, plus the ground truth in [`oracle`].
//!
//! Where the Go fixtures, the oracle and each Go toolchain live comes from the `testsupport`
//! crate (fixtures from `scripts/build-fixtures.sh`, the oracle and cross builds from
//! `scripts/build-oracle.sh`, in `$GOROSCOPE_FIXTURES` or `<workspace>/target/fixtures`).
#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goinspect::Inspection;

// Each test binary uses a different part of these.
#[allow(unused_imports)]
pub use testsupport::{inspectee_fixtures, oracle_output, workspace_root, Fixture};

pub mod oracle;

/// A fixture of the given variant from the newest version present.
pub fn newest(variant: &str) -> Fixture {
    inspectee_fixtures()
        .into_iter()
        .rev()
        .find(|f| f.variant == variant)
        .unwrap_or_else(|| {
            panic!("no {variant} fixture: run scripts/build-fixtures.sh");
        })
}

/// Runs the goroscope binary under test.
pub fn goroscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .args(args)
        .env_remove("GOROSCOPE_LOG")
        .output()
        .expect("running goroscope")
}

/// `goroscope inspect --json ARGS...`, parsed; Err(stderr) when it fails.
pub fn inspect_json(args: &[&str]) -> Result<Inspection, String> {
    let mut full = vec!["inspect", "--json"];
    full.extend_from_slice(args);
    let out = goroscope(&full);
    if !out.status.success() {
        return Err(format!(
            "goroscope {} exited with {}: {}",
            full.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "goroscope {}: output is not the documented JSON ({e}): {}",
            full.join(" "),
            String::from_utf8_lossy(&out.stdout)
                .chars()
                .take(400)
                .collect::<String>()
        )
    })
}

pub fn inspect_path(path: &Path) -> Result<Inspection, String> {
    inspect_json(&[path.to_str().expect("UTF-8 fixture path")])
}

/// A scratch directory for a test, under the workspace target dir (not /tmp: some tests write
/// copies of 2–5 MB fixtures).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/test-scratch")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating scratch dir");
    dir
}

/// Kills and reaps a child process when dropped, so a failing assertion leaves nothing running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
