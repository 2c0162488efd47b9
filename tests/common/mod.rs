//! Shared helpers of the `goroscope inspect` end-to-end tests: where the Go fixtures, the oracle
//! and each Go toolchain live, and how to run the goroscope binary and parse its JSON.
//!
//! Fixtures come from `scripts/build-fixtures.sh`, the oracle and cross builds from
//! `scripts/build-oracle.sh`; both live in `$GOROSCOPE_FIXTURES` or `<workspace>/target/fixtures`.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use goinspect::Inspection;

pub mod oracle;

/// The build variants `scripts/build-fixtures.sh` makes of each program.
pub const VARIANTS: &[&str] = &["normal", "stripped", "pie", "cgo", "cgo-stripped-pie"];

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fixtures"))
}

/// One built fixture binary: `<fixtures>/go<version>/inspectee/<variant>`.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Toolchain version as in the directory name, e.g. "1.27.3".
    pub version: String,
    pub variant: String,
    pub path: PathBuf,
}

impl Fixture {
    /// The Go minor version: 27 for "1.27.3".
    pub fn minor(&self) -> u32 {
        self.version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }
    pub fn stripped(&self) -> bool {
        self.variant.contains("stripped")
    }
    pub fn pie(&self) -> bool {
        self.variant.contains("pie")
    }
    pub fn cgo(&self) -> bool {
        self.variant.starts_with("cgo")
    }
    pub fn label(&self) -> String {
        format!("go{}/{}", self.version, self.variant)
    }
    /// The toolchain that built it.
    pub fn go(&self) -> PathBuf {
        goroot(&self.version).join("bin/go")
    }
}

/// GOROOT of a toolchain version, as `scripts/go-versions.sh` places them.
pub fn goroot(version: &str) -> PathBuf {
    if version.starts_with("1.19") {
        PathBuf::from("/usr/lib/go-1.19")
    } else {
        workspace_root().join(".tools/go").join(version)
    }
}

/// Every inspectee fixture present, sorted by version then variant. Panics (with what to run)
/// when there is none: the tests need at least one Go version.
pub fn inspectee_fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(version) = name.strip_prefix("go") else {
                continue;
            };
            for variant in VARIANTS {
                let path = entry.path().join("inspectee").join(variant);
                if path.is_file() {
                    out.push(Fixture {
                        version: version.to_string(),
                        variant: variant.to_string(),
                        path,
                    });
                }
            }
        }
    }
    assert!(
        !out.is_empty(),
        "no Go fixtures under {}: run scripts/build-fixtures.sh (GOROSCOPE_GO_VERSIONS=all for \
         every toolchain)",
        dir.display()
    );
    out.sort_by_key(|f| (version_key(&f.version), variant_rank(&f.variant)));
    out
}

fn version_key(v: &str) -> Vec<u32> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

fn variant_rank(v: &str) -> usize {
    VARIANTS.iter().position(|x| *x == v).unwrap_or(usize::MAX)
}

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

/// A file made by `scripts/build-oracle.sh` (`oracle`, `cross/386`, `cross/arm64`).
pub fn oracle_output(rel: &str) -> PathBuf {
    let p = fixtures_dir().join(rel);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/build-oracle.sh",
        p.display()
    );
    p
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
