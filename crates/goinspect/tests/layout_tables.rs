//! The committed per-version layout tables: they must equal what `cargo xtask gen-tables` would
//! generate from today's fixtures (drift test), a stripped binary must get the same layout from
//! its table as the unstripped build gets from DWARF, and versions without a table must be
//! refused (or, when forced, get the nearest table).

#[path = "layout_common.rs"]
mod common;

use goinspect::dwarf;
use goinspect::elf::ElfImage;
use goinspect::error::Error;
use goinspect::layout;
use goinspect::tables;
use goinspect::version::GoVersion;

fn tables_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tables")
}

#[test]
fn committed_tables_match_their_generator() {
    for v in common::versions() {
        let minor = common::minor(&v);
        let generated = tables::generate(&common::fixture(&v, "normal"), &format!("go{v}"))
            .unwrap_or_else(|e| panic!("go{v}: {e}"));
        let committed = tables::EMBEDDED
            .iter()
            .find(|(m, _)| *m == minor)
            .unwrap_or_else(|| panic!("no table for go{minor}: run `cargo xtask gen-tables`"))
            .1;
        assert!(
            generated == committed,
            "src/tables/go{minor}.json is out of date with go{v}'s fixture: run `cargo xtask gen-tables`"
        );
    }
}

#[test]
fn every_table_file_is_embedded_and_parses() {
    let mut on_disk: Vec<String> = std::fs::read_dir(tables_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = tables::EMBEDDED
        .iter()
        .map(|(m, _)| tables::file_name(m))
        .collect();
    embedded.sort();
    assert_eq!(on_disk, embedded, "tables.rs EMBEDDED vs src/tables/");
    assert_eq!(
        tables::all().len(),
        tables::EMBEDDED.len(),
        "a table fails to parse"
    );
    for t in tables::all() {
        assert_eq!(t.layout.source, format!("table:go{}", t.minor));
        assert!(
            t.go_version.starts_with(&format!("go{}.", t.minor)),
            "{}",
            t.go_version
        );
        layout::validate(&t.layout, &t.go_version).unwrap();
        // Stable formatting: rendering the parsed table gives the committed bytes back.
        let text = tables::EMBEDDED
            .iter()
            .find(|(m, _)| *m == t.minor)
            .unwrap()
            .1;
        assert_eq!(tables::render(&t.go_version, &t.layout).unwrap(), text);
    }
}

#[test]
fn stripped_binaries_get_the_table_equal_to_the_unstripped_dwarf() {
    for v in common::versions() {
        let version = GoVersion::parse(&format!("go{v}")).unwrap();
        let normal = common::fixture(&v, "normal");
        let facts = dwarf::read(&ElfImage::parse(&normal).unwrap())
            .unwrap()
            .unwrap();
        let from_dwarf = layout::resolve(Some(&facts), &version, false).unwrap();
        assert_eq!(from_dwarf.source, "dwarf");
        for variant in ["stripped", "cgo-stripped-pie"] {
            let bytes = common::fixture(&v, variant);
            let elf = ElfImage::parse(&bytes).unwrap();
            let d = dwarf::read(&elf).unwrap();
            assert!(d.is_none(), "go{v} {variant} has no DWARF");
            let from_table = layout::resolve(None, &version, false).unwrap();
            assert_eq!(from_table.source, format!("table:go{}", common::minor(&v)));
            assert_eq!(from_table.structs, from_dwarf.structs, "go{v} {variant}");
            assert_eq!(
                from_table.constants, from_dwarf.constants,
                "go{v} {variant}"
            );
        }
    }
}

#[test]
fn missing_reason_strings_are_filled_from_the_table() {
    let v = common::versions().pop().unwrap();
    let version = GoVersion::parse(&format!("go{v}")).unwrap();
    let normal = common::fixture(&v, "normal");
    let mut facts = dwarf::read(&ElfImage::parse(&normal).unwrap())
        .unwrap()
        .unwrap();
    let complete = facts.layout.clone();
    for r in facts
        .layout
        .constants
        .wait_reasons
        .iter_mut()
        .chain(facts.layout.constants.stw_reasons.iter_mut())
    {
        r.string.clear();
    }
    facts.wait_reason_strings_found = false;
    facts.stw_reason_strings_found = false;
    let resolved = layout::resolve(Some(&facts), &version, false).unwrap();
    assert_eq!(resolved, complete);
}

#[test]
fn dwarf_missing_a_field_every_version_has_is_malformed() {
    let v = common::versions().pop().unwrap();
    let version = GoVersion::parse(&format!("go{v}")).unwrap();
    let normal = common::fixture(&v, "normal");
    let facts = dwarf::read(&ElfImage::parse(&normal).unwrap())
        .unwrap()
        .unwrap();
    let mut damaged = facts.clone();
    damaged
        .layout
        .structs
        .get_mut("runtime.g")
        .unwrap()
        .fields
        .remove("goid");
    match layout::resolve(Some(&damaged), &version, false) {
        Err(Error::Malformed { detail, .. }) => {
            assert!(detail.contains("runtime.g.goid"), "{detail}")
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
    let mut damaged = facts;
    damaged.layout.constants.g_status.remove("_Grunning");
    assert!(matches!(
        layout::resolve(Some(&damaged), &version, false),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn unknown_versions_are_refused_unless_forced() {
    let known: Vec<String> = tables::all().iter().map(|t| t.minor.clone()).collect();
    assert!(known.len() >= 8, "tables: {known:?}");
    for (raw, nearest) in [
        ("go1.20.14", "1.21"),
        ("go1.40.1", known.last().unwrap().as_str()),
        ("go1.12", known.first().unwrap().as_str()),
    ] {
        let version = GoVersion::parse(raw).unwrap();
        match layout::resolve(None, &version, false) {
            Err(e @ Error::UnsupportedGoVersion { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(raw), "{msg}");
                for k in &known {
                    assert!(msg.contains(&format!("go{k}")), "{msg} lacks go{k}");
                }
            }
            other => panic!("{raw}: expected UnsupportedGoVersion, got {other:?}"),
        }
        let forced = layout::resolve(None, &version, true).unwrap();
        assert_eq!(
            forced.source,
            format!(
                "table:go{nearest} (nearest to go{}, forced)",
                version.minor_key()
            )
        );
        let table = tables::get(nearest).unwrap();
        assert_eq!(forced.structs, table.layout.structs);
        assert_eq!(forced.constants, table.layout.constants);
    }
}
