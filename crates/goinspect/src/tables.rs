//! Per-Go-version runtime layout tables for binaries without DWARF, generated from the real
//! toolchains by `cargo xtask gen-tables` (see xtask/) and embedded here.
//!
//! Each `tables/go1.N.json` is the DWARF-derived layout (`dwarf::read`) of the `normal` fixture
//! built by one exact toolchain (recorded as `go_version`), written with sorted keys so that
//! regenerating gives byte-identical files; `tests/layout_tables.rs` fails when they drift.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::dwarf;
use crate::elf::ElfImage;
use crate::error::{Error, Result};
use crate::layout;
use crate::model::{Constants, RuntimeLayout, StructLayout};
use crate::version::GoVersion;

/// The committed tables: (minor version, JSON). Add a line here when xtask writes a new file
/// (the drift test checks that this list and the directory agree).
pub const EMBEDDED: &[(&str, &str)] = &[
    ("1.19", include_str!("tables/go1.19.json")),
    ("1.21", include_str!("tables/go1.21.json")),
    ("1.22", include_str!("tables/go1.22.json")),
    ("1.23", include_str!("tables/go1.23.json")),
    ("1.24", include_str!("tables/go1.24.json")),
    ("1.25", include_str!("tables/go1.25.json")),
    ("1.26", include_str!("tables/go1.26.json")),
    ("1.27", include_str!("tables/go1.27.json")),
];

/// One parsed table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// "1.27".
    pub minor: String,
    /// The exact toolchain the table was generated from, e.g. "go1.27.3".
    pub go_version: String,
    /// With `source` = "table:go1.N".
    pub layout: RuntimeLayout,
}

/// The stored form: what a table file holds.
#[derive(Debug, Serialize, Deserialize)]
struct TableFile {
    go_version: String,
    generator: String,
    structs: std::collections::BTreeMap<String, StructLayout>,
    constants: Constants,
}

const GENERATOR: &str =
    "cargo xtask gen-tables (from the DWARF of the toolchain's `normal` fixture)";

/// The file name of a minor version's table, e.g. "go1.27.json".
pub fn file_name(minor: &str) -> String {
    format!("go{minor}.json")
}

/// Every embedded table, oldest first, parsed once. A table that does not parse is left out
/// (the tests assert that all parse).
pub fn all() -> &'static [Table] {
    static TABLES: OnceLock<Vec<Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut out: Vec<Table> = EMBEDDED
            .iter()
            .filter_map(|(minor, text)| parse(minor, text).ok())
            .collect();
        out.sort_by_key(|t| minor_number(&t.minor));
        out
    })
}

/// ("1.27", layout) for every version a table exists for, oldest first.
pub fn known() -> Vec<(String, RuntimeLayout)> {
    all()
        .iter()
        .map(|t| (t.minor.clone(), t.layout.clone()))
        .collect()
}

/// "go1.19, go1.21, …": for error messages.
pub fn known_versions_text() -> String {
    all()
        .iter()
        .map(|t| format!("go{}", t.minor))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table for a minor version ("1.27").
pub fn get(minor: &str) -> Option<&'static Table> {
    all().iter().find(|t| t.minor == minor)
}

/// The table whose minor version is closest to `version`'s; on a tie, the newer one (a Go
/// release between two known ones usually already has the older one's changes).
pub fn nearest(version: &GoVersion) -> Option<&'static Table> {
    let want = (i64::from(version.major), i64::from(version.minor));
    all().iter().min_by_key(|t| {
        let (major, minor) = minor_number(&t.minor);
        let distance = (i64::from(major) - want.0).abs() * 1000 + (i64::from(minor) - want.1).abs();
        (distance, std::cmp::Reverse((major, minor)))
    })
}

/// Parses one table file.
pub fn parse(minor: &str, text: &str) -> Result<Table> {
    let file: TableFile = serde_json::from_str(text)
        .map_err(|e| Error::malformed("layout table", format!("go{minor}.json: {e}")))?;
    Ok(Table {
        minor: minor.to_string(),
        go_version: file.go_version,
        layout: RuntimeLayout {
            sched_address: None,
            gomaxprocs_address: None,
            memstats_address: None,
            allm_address: None,
            allgs_address: None,
            allglen_address: None,
            source: format!("table:go{minor}"),
            structs: file.structs,
            constants: file.constants,
        },
    })
}

/// Writes a layout as a table file: sorted keys, two-space indent, final newline, so the same
/// layout always gives the same bytes.
pub fn render(go_version: &str, layout: &RuntimeLayout) -> Result<String> {
    let file = TableFile {
        go_version: go_version.to_string(),
        generator: GENERATOR.to_string(),
        structs: layout.structs.clone(),
        constants: layout.constants.clone(),
    };
    // Sorted keys at every level, so regeneration is byte-identical whatever map type serde_json
    // was built with (the workspace enables preserve_order for build settings).
    let mut value =
        serde_json::to_value(&file).map_err(|e| Error::malformed("layout table", e.to_string()))?;
    sort_keys(&mut value);
    let mut text = serde_json::to_string_pretty(&value)
        .map_err(|e| Error::malformed("layout table", e.to_string()))?;
    text.push('\n');
    Ok(text)
}

fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Generates the table text for a fixture binary built by toolchain `go_version` ("go1.27.3"):
/// what `cargo xtask gen-tables` writes and what the drift test recomputes. The binary must
/// have DWARF with the reason strings readable, so the table is complete.
pub fn generate(binary: &[u8], go_version: &str) -> Result<String> {
    let elf = ElfImage::parse(binary)?;
    let facts = dwarf::read(&elf)?
        .ok_or_else(|| Error::malformed("fixture", "no DWARF: build it without -s/-w"))?;
    if !facts.wait_reason_strings_found {
        return Err(Error::malformed(
            "fixture",
            "runtime.waitReasonStrings could not be read",
        ));
    }
    if !facts.stw_reason_strings_found && !facts.layout.constants.stw_reasons.is_empty() {
        return Err(Error::malformed(
            "fixture",
            "runtime.stwReasonStrings could not be read",
        ));
    }
    layout::validate(&facts.layout, go_version)?;
    render(go_version, &facts.layout)
}

fn minor_number(minor: &str) -> (u32, u32) {
    let mut parts = minor.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}
