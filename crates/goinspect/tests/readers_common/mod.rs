//! Shared helpers of the `readers_*` tests (buildinfo, pclntab and process readers): the
//! fixtures and toolchains (from the `testsupport` crate), and the ground-truth tools we compare
//! with: the oracle (`scripts/build-oracle.sh`, debug/gosym), `go version -m`,
//! `go tool addr2line` and `dwarfinl` (this directory's Go program:
//! DW_TAG_inlined_subroutine counts from DWARF).
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// Each test binary uses a different part of these.
#[allow(unused_imports)]
pub use testsupport::{fixture, go_command, goroot, inspectee_fixtures as fixtures, run, Fixture};

/// The newest toolchain: its tools read every older format.
pub const NEWEST: &str = "1.27.3";

/// The oracle's JSON for a binary (debug/gosym etc., see testdata/go/oracle).
pub fn oracle(binary: &Path) -> serde_json::Value {
    let mut c = Command::new(testsupport::oracle_output("oracle"));
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
    let tool = testsupport::build_go_helper(
        NEWEST,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readers_common"),
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dwarfinl"),
    );
    let mut c = Command::new(tool);
    c.arg(binary);
    serde_json::from_str(&run(c)).expect("dwarfinl JSON")
}
