//! Shared helpers of the layout tests (included by `#[path]` from layout_*.rs): where fixtures
//! and toolchains are, which Go versions to test, and the independent readers the tests compare
//! against — `testdata/go/dwarfdump` (Go's debug/dwarf) and each toolchain's own runtime source.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fixtures"))
}

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
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Versions to test ("1.27.3"): those selected by GOROSCOPE_GO_VERSIONS (default: CI's subset),
/// which must have fixtures, plus every other version whose fixture happens to be built.
pub fn versions() -> Vec<String> {
    let selected = go_versions_sh("goroscope_selected_go_versions", None);
    let all = go_versions_sh("goroscope_selected_go_versions", Some("all"));
    let mut out = Vec::new();
    for v in all.split_whitespace() {
        let must = selected.split_whitespace().any(|s| s == v);
        let present = fixture_path(v, "normal").exists();
        assert!(
            present || !must,
            "fixture for go{v} missing at {}: run scripts/build-fixtures.sh",
            fixture_path(v, "normal").display()
        );
        if present {
            out.push(v.to_string());
        }
    }
    assert!(
        !out.is_empty(),
        "no fixtures: run scripts/build-fixtures.sh"
    );
    out
}

pub fn fixture_path(version: &str, variant: &str) -> PathBuf {
    fixtures_dir().join(format!("go{version}/inspectee/{variant}"))
}

pub fn fixture(version: &str, variant: &str) -> Vec<u8> {
    let p = fixture_path(version, variant);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/build-fixtures.sh (GOROSCOPE_GO_VERSIONS=all for every version)",
            p.display()
        )
    })
}

/// "1.27.3" → "1.27".
pub fn minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

pub fn goroot(version: &str) -> PathBuf {
    PathBuf::from(go_versions_sh(&format!("goroscope_goroot {version}"), None))
}

/// What testdata/go/dwarfdump prints.
#[derive(Debug, Deserialize)]
pub struct Dump {
    pub structs: BTreeMap<String, DumpStruct>,
    pub constants: BTreeMap<String, i64>,
    pub variables: BTreeMap<String, u64>,
    pub inlined: BTreeMap<String, u32>,
}

#[derive(Debug, Deserialize)]
pub struct DumpStruct {
    pub size: u64,
    pub members: BTreeMap<String, u64>,
}

/// Builds testdata/go/dwarfdump once with the newest toolchain (its debug/dwarf reads DWARF 4
/// and 5, compressed or not).
fn dwarfdump_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let newest = go_versions_sh("goroscope_selected_go_versions", Some("all"))
            .split_whitespace()
            .last()
            .unwrap()
            .to_string();
        let go = goroot(&newest).join("bin/go");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dwarfdump");
        let root = workspace_root();
        let status = Command::new(&go)
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(root.join("testdata/go/dwarfdump"))
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOWORK", "off")
            .env("GOCACHE", root.join("target/go-cache"))
            .env("GOPATH", root.join("target/go-path"))
            .status()
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/install-deps.sh", go.display()));
        assert!(status.success(), "building testdata/go/dwarfdump failed");
        out
    })
}

/// Runs dwarfdump on a binary, asking for the structs goroscope reads and `runtime.sched`.
pub fn dwarfdump(binary: &Path) -> Dump {
    let mut cmd = Command::new(dwarfdump_binary());
    cmd.arg(binary);
    for s in goinspect::layout::STRUCTS {
        cmd.args(["-s", s.name]);
    }
    cmd.args(["-v", "runtime.sched"]);
    let out = cmd.output().expect("dwarfdump runs");
    assert!(
        out.status.success(),
        "dwarfdump {}: {}",
        binary.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("dwarfdump prints JSON")
}

/// All `.go` files of the toolchain's src/runtime, concatenated.
pub fn runtime_source(version: &str) -> String {
    let dir = goroot(version).join("src/runtime");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "go"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses `var NAME = [...]string{ key: "string", ... }` from Go source: key → string.
/// None when the source has no such array.
pub fn string_array(source: &str, var: &str) -> Option<BTreeMap<String, String>> {
    let start = source.find(&format!("var {var} = [...]string{{"))?;
    let body = &source[start..];
    let body = &body[body.find('\n')? + 1..];
    let mut out = BTreeMap::new();
    for line in body.lines() {
        let line = line.trim();
        if line.starts_with('}') {
            break;
        }
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let rest = rest.trim().trim_end_matches(',');
        let value = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{var}: unexpected line {line:?}"))
            .replace("\\\"", "\"");
        out.insert(key.trim().to_string(), value);
    }
    Some(out)
}

/// The identifiers of the `const ( … )` block whose line `first = iota` starts the enum, that
/// start with `prefix` (e.g. every `_G…` status).
pub fn const_block_names(source: &str, first: &str, prefix: &str) -> Vec<String> {
    let mut offset = 0;
    let mut pos = None;
    for line in source.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with(first)
            && t[first.len()..].trim_start().starts_with('=')
            && t.contains("iota")
        {
            pos = Some(offset);
            break;
        }
        offset += line.len();
    }
    let pos = pos.unwrap_or_else(|| panic!("no `{first} = iota` in runtime source"));
    let block_start = source[..pos].rfind("const (").unwrap();
    let block_end = pos + source[pos..].find("\n)").unwrap();
    source[block_start..block_end]
        .lines()
        .filter_map(|l| {
            let ident: String = l
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            ident.starts_with(prefix).then_some(ident)
        })
        .collect()
}
