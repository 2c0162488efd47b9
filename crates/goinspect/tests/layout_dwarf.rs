//! Ground truth for `dwarf::read`: for every Go version with a built `normal` fixture, the layout,
//! constants and inline counts goinspect reads with gimli agree with an independent reader
//! (testdata/go/dwarfdump, Go's own debug/dwarf), and the reason strings and status names agree
//! with the toolchain's own src/runtime.

#[path = "layout_common.rs"]
mod common;

use std::collections::BTreeMap;

use goinspect::dwarf::{self, DwarfFacts};
use goinspect::elf::ElfImage;
use goinspect::layout;

fn read_facts(bytes: &[u8], what: &str) -> DwarfFacts {
    let elf = ElfImage::parse(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    dwarf::read(&elf)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .unwrap_or_else(|| panic!("{what}: no DWARF"))
}

#[test]
fn struct_offsets_constants_and_inlining_match_go_debug_dwarf() {
    for v in common::versions() {
        let path = common::fixture_path(&v, "normal");
        let facts = read_facts(&common::fixture(&v, "normal"), &format!("go{v} normal"));
        let dump = common::dwarfdump(&path);
        let layout = &facts.layout;
        assert_eq!(layout.source, "dwarf");
        layout::validate(layout, &format!("go{v}")).unwrap();

        for spec in layout::STRUCTS {
            let Some(ours) = layout.structs.get(spec.name) else {
                // An optional struct this version lacks (runtime.mLockProfile before 1.22).
                assert!(!spec.required, "go{v} {}", spec.name);
                assert!(!dump.structs.contains_key(spec.name), "go{v} {}", spec.name);
                continue;
            };
            let theirs = &dump.structs[spec.name];
            assert_eq!(ours.size, theirs.size, "go{v} size of {}", spec.name);
            for field in spec.fields {
                assert_eq!(
                    ours.fields.get(field.name),
                    theirs.members.get(field.name),
                    "go{v} {}.{}",
                    spec.name,
                    field.name
                );
            }
        }

        let consts = &layout.constants;
        let expect = |name: &str| -> u64 {
            let full = format!("runtime.{name}");
            u64::try_from(dump.constants[&full]).unwrap()
        };
        for (name, value) in consts.g_status.iter().chain(&consts.p_status) {
            assert_eq!(*value, expect(name), "go{v} {name}");
        }
        let wait_theirs: BTreeMap<String, u64> = dump
            .constants
            .iter()
            .filter_map(|(k, &val)| {
                let name = k.strip_prefix("runtime.waitReason")?;
                Some((name.to_string(), u64::try_from(val).unwrap()))
            })
            .collect();
        let wait_ours: BTreeMap<String, u64> = consts
            .wait_reasons
            .iter()
            .map(|w| (w.name.clone(), w.value))
            .collect();
        assert_eq!(wait_ours, wait_theirs, "go{v} wait reasons");
        let hist_theirs: BTreeMap<String, u64> = dump
            .constants
            .iter()
            .filter(|(k, _)| k.starts_with(layout::TIME_HISTOGRAM_CONSTANT_PREFIX))
            .map(|(k, &val)| {
                (
                    k["runtime.".len()..].to_string(),
                    u64::try_from(val).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            consts.time_histogram, hist_theirs,
            "go{v} timeHist constants"
        );
        for s in &consts.stw_reasons {
            assert_eq!(
                s.value,
                expect(&format!("stw{}", s.name)),
                "go{v} stw{}",
                s.name
            );
        }

        // Every inlined function, not just the probed ones: the counts must be identical.
        let ours: BTreeMap<String, u32> = facts.inlined_counts.clone().into_iter().collect();
        assert_eq!(ours, dump.inlined, "go{v} inlined counts");
        assert!(
            ours.get("runtime.preemptM").copied().unwrap_or(0) > 0,
            "go{v}: preemptM is always inlined"
        );

        let elf_bytes = common::fixture(&v, "normal");
        let elf = ElfImage::parse(&elf_bytes).unwrap();
        let sched = dump.variables.get("runtime.sched").copied();
        assert!(sched.is_some(), "go{v}: dwarfdump found runtime.sched");
        assert_eq!(facts.sched_address, sched, "go{v} runtime.sched");
        assert_eq!(elf.symbol_address("runtime.sched"), sched, "go{v} .symtab");
        assert_eq!(layout::sched_address(&elf, Some(&facts)), sched);
    }
}

#[test]
fn statuses_and_reason_strings_match_the_toolchains_runtime_source() {
    for v in common::versions() {
        let facts = read_facts(&common::fixture(&v, "normal"), &format!("go{v} normal"));
        let source = common::runtime_source(&v);
        let c = &facts.layout.constants;

        let g_names = common::const_block_names(&source, "_Gidle", "_G");
        let ours: Vec<&String> = c.g_status.keys().collect();
        let mut theirs: Vec<&String> = g_names.iter().collect();
        theirs.sort();
        assert_eq!(ours, theirs, "go{v} G statuses");
        let p_names = common::const_block_names(&source, "_Pidle", "_P");
        let ours: Vec<&String> = c.p_status.keys().collect();
        let mut theirs: Vec<&String> = p_names.iter().collect();
        theirs.sort();
        assert_eq!(ours, theirs, "go{v} P statuses");

        assert!(facts.wait_reason_strings_found, "go{v}");
        let strings = common::string_array(&source, "waitReasonStrings")
            .unwrap_or_else(|| panic!("go{v}: no waitReasonStrings in source"));
        let ours: BTreeMap<String, String> = c
            .wait_reasons
            .iter()
            .map(|w| (format!("waitReason{}", w.name), w.string.clone()))
            .collect();
        assert_eq!(ours, strings, "go{v} wait reason strings");

        match common::string_array(&source, "stwReasonStrings") {
            Some(strings) => {
                assert!(facts.stw_reason_strings_found, "go{v}");
                let ours: BTreeMap<String, String> = c
                    .stw_reasons
                    .iter()
                    .map(|s| (format!("stw{}", s.name), s.string.clone()))
                    .collect();
                assert_eq!(ours, strings, "go{v} stw reason strings");
            }
            None => assert!(c.stw_reasons.is_empty(), "go{v} has no stwReason"),
        }
    }
}

#[test]
fn pie_and_cgo_builds_give_the_same_layout_as_the_normal_build() {
    for v in common::versions() {
        let normal = read_facts(&common::fixture(&v, "normal"), &format!("go{v} normal"));
        // PIE: the reason-string pointers are R_X86_64_RELATIVE relocations (zeros in the file).
        for variant in ["pie", "cgo"] {
            let facts = read_facts(&common::fixture(&v, variant), &format!("go{v} {variant}"));
            assert_eq!(facts.layout, normal.layout, "go{v} {variant}");
            assert!(facts.sched_address.is_some(), "go{v} {variant}");
        }
        for variant in ["stripped", "cgo-stripped-pie"] {
            let bytes = common::fixture(&v, variant);
            let elf = ElfImage::parse(&bytes).unwrap();
            assert!(dwarf::read(&elf).unwrap().is_none(), "go{v} {variant}");
            assert_eq!(layout::sched_address(&elf, None), None, "go{v} {variant}");
        }
    }
}

/// Damaged DWARF gives an error or (where the damage misses what is read) a result, never a
/// panic: corrupt bytes across the compressed `.debug_info` and `.debug_abbrev`.
#[test]
fn damaged_dwarf_never_panics() {
    let v = common::versions().pop().unwrap();
    let bytes = common::fixture(&v, "normal");
    let elf = ElfImage::parse(&bytes).unwrap();
    let mut targets = Vec::new();
    for name in [".debug_info", ".debug_abbrev"] {
        let s = elf.section(name).expect("section present");
        targets.push((s.file_offset as usize, s.data.len()));
    }
    let mut errors = 0;
    for (start, len) in targets {
        for step in 0..24 {
            let mut damaged = bytes.clone();
            // Past the 24-byte compression header, then spread over the data.
            let at = start + 24 + (len - 24) * step / 24;
            for b in damaged.iter_mut().skip(at).take(8) {
                *b ^= 0x5a;
            }
            let elf = ElfImage::parse(&damaged).unwrap();
            match dwarf::read(&elf) {
                Ok(Some(facts)) => {
                    let _ = layout::validate(&facts.layout, "damaged");
                }
                Ok(None) => {}
                Err(e) => {
                    errors += 1;
                    assert!(e.to_string().contains("malformed"), "{e}");
                }
            }
        }
    }
    assert!(errors > 0, "corrupting compressed DWARF must be noticed");
}
