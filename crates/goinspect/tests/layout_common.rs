//! Shared helpers of the layout tests (included by `#[path]` from layout_*.rs): which Go versions
//! to test (paths, fixtures and toolchains come from the `testsupport` crate), and the
//! independent readers the tests compare against — `testdata/go/dwarfdump` (Go's debug/dwarf)
//! and each toolchain's own runtime source.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use testsupport::{all_go_versions, goroot, selected_go_versions};

pub use testsupport::fixture_path;

/// Versions to test ("1.27.3"): those selected by GOROSCOPE_GO_VERSIONS (default: CI's subset),
/// which must have fixtures, plus every other version whose fixture happens to be built.
pub fn versions() -> Vec<String> {
    let selected = selected_go_versions();
    let mut out = Vec::new();
    for v in all_go_versions() {
        let must = selected.contains(&v);
        let present = fixture_path(&v, "normal").exists();
        assert!(
            present || !must,
            "fixture for go{v} missing at {}: run scripts/build-fixtures.sh",
            fixture_path(&v, "normal").display()
        );
        if present {
            out.push(v);
        }
    }
    assert!(
        !out.is_empty(),
        "no fixtures: run scripts/build-fixtures.sh"
    );
    out
}

pub fn fixture(version: &str, variant: &str) -> Vec<u8> {
    testsupport::fixture(version, variant).bytes()
}

/// "1.27.3" → "1.27".
pub fn minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
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

/// testdata/go/dwarfdump, built once with the newest toolchain (its debug/dwarf reads DWARF 4
/// and 5, compressed or not).
fn dwarfdump_binary() -> PathBuf {
    let newest = all_go_versions()
        .pop()
        .expect("scripts/go-versions.sh lists versions");
    testsupport::build_go_helper(
        &newest,
        &testsupport::workspace_root().join("testdata/go/dwarfdump"),
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("dwarfdump"),
    )
}

/// Runs dwarfdump on a binary, asking for the structs goroscope reads and `runtime.sched`.
pub fn dwarfdump(binary: &Path) -> Dump {
    let mut cmd = Command::new(dwarfdump_binary());
    cmd.arg(binary);
    for s in goinspect::layout::STRUCTS {
        cmd.args(["-s", s.name]);
    }
    cmd.args(["-v", "runtime.sched"]);
    serde_json::from_str(&testsupport::run(cmd)).expect("dwarfdump prints JSON")
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
