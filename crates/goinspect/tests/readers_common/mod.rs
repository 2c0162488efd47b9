//! Shared helpers of the `readers_*` tests (buildinfo, pclntab and process readers): where the
//! fixtures and toolchains are, and the ground-truth tools we compare with: the oracle
//! (`scripts/build-oracle.sh`, debug/gosym), `go version -m`, `go tool addr2line` and `dwarfinl`
//! (this directory's Go program: DW_TAG_inlined_subroutine counts from DWARF).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const VARIANTS: &[&str] = &["normal", "stripped", "pie", "cgo", "cgo-stripped-pie"];
pub const NEWEST: &str = "1.27.3";

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fixtures"))
}

#[derive(Debug, Clone)]
pub struct Fixture {
    pub version: String,
    pub variant: String,
    pub path: PathBuf,
}

impl Fixture {
    pub fn label(&self) -> String {
        format!("go{}/{}", self.version, self.variant)
    }
    pub fn stripped(&self) -> bool {
        self.variant.contains("stripped")
    }
    pub fn minor(&self) -> u32 {
        self.version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }
    pub fn go(&self) -> PathBuf {
        goroot(&self.version).join("bin/go")
    }
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap_or_else(|e| panic!("{}: {e}", self.path.display()))
    }
}

pub fn goroot(version: &str) -> PathBuf {
    if version.starts_with("1.19") {
        PathBuf::from("/usr/lib/go-1.19")
    } else {
        workspace_root().join(".tools/go").join(version)
    }
}

/// Every inspectee fixture, by version then variant; panics with what to run when none exist.
pub fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
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
    assert!(
        !out.is_empty(),
        "no Go fixtures in {}: run scripts/build-fixtures.sh",
        dir.display()
    );
    out.sort_by_key(|f| (f.minor(), VARIANTS.iter().position(|v| *v == f.variant)));
    out
}

pub fn fixture(version: &str, variant: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.version == version && f.variant == variant)
        .unwrap_or_else(|| {
            panic!("no fixture go{version}/{variant}: run scripts/build-fixtures.sh")
        })
}

/// Environment for running a Go toolchain offline, with caches under target/.
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

pub fn run(mut c: Command) -> String {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The oracle's JSON for a binary (debug/gosym etc., see testdata/go/oracle).
pub fn oracle(binary: &Path) -> serde_json::Value {
    let oracle = fixtures_dir().join("oracle");
    assert!(
        oracle.is_file(),
        "{} missing: run scripts/build-oracle.sh",
        oracle.display()
    );
    let mut c = Command::new(oracle);
    c.arg(binary);
    serde_json::from_str(&run(c)).expect("oracle JSON")
}

/// `go tool addr2line` of the given toolchain: (function, file, line) per pc.
pub fn addr2line(go: &Path, binary: &Path, pcs: &[u64]) -> Vec<(String, String, u32)> {
    let mut c = go_command(go);
    c.args(["tool", "addr2line"]).arg(binary);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("go tool addr2line");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for pc in pcs {
            writeln!(stdin, "{pc:#x}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "addr2line: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .map(|pair| {
            let (file, line) = pair[1].rsplit_once(':').unwrap();
            (
                pair[0].to_string(),
                file.to_string(),
                line.parse().unwrap_or(0),
            )
        })
        .collect()
}

/// DW_TAG_inlined_subroutine count per callee, from DWARF, by `dwarfinl` (built once).
pub fn dwarf_inline_counts(binary: &Path) -> HashMap<String, u32> {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    let tool = TOOL.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/readers_common");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dwarfinl");
        let mut c = go_command(&goroot(NEWEST).join("bin/go"));
        c.current_dir(&src).args(["build", "-o"]).arg(&out).arg(".");
        c.env("CGO_ENABLED", "0");
        run(c);
        out
    });
    let mut c = Command::new(tool);
    c.arg(binary);
    serde_json::from_str(&run(c)).expect("dwarfinl JSON")
}
