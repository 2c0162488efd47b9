//! Ground-truth tests of the pclntab reader against the Go toolchains' own readers, on every
//! fixture present (all versions × variants):
//! - the function table equals what Go's debug/gosym reads (the oracle, given the right text
//!   start), and every entry equals the `.symtab` address in unstripped builds;
//! - `line_at` equals `go tool addr2line` of the toolchain that built the binary;
//! - inline-tree counts agree with DWARF's DW_TAG_inlined_subroutine, and stripped builds give
//!   the same counts as unstripped ones.

mod readers_common;

use std::collections::HashMap;

use goinspect::elf::ElfImage;
use goinspect::pclntab::Pclntab;
use readers_common::*;

#[test]
fn function_table_matches_gosym_and_symtab() {
    for f in fixtures() {
        let data = f.bytes();
        let elf = ElfImage::parse(&data).unwrap();
        let tab = Pclntab::parse(&elf).unwrap_or_else(|e| panic!("{}: {e}", f.label()));
        let expected_format = if f.minor() >= 20 { "1.20" } else { "1.18" };
        assert_eq!(tab.format(), expected_format, "{}", f.label());

        let oracle = oracle(&f.path);
        assert_eq!(
            tab.text_start(),
            oracle["text_start"].as_u64().unwrap(),
            "{}: text start (oracle took it from {})",
            f.label(),
            oracle["text_start_source"]
        );
        let ours: Vec<(String, u64, u64)> = tab
            .funcs()
            .into_iter()
            .map(|f| (f.name, f.entry, f.end))
            .collect();
        let theirs: Vec<(String, u64, u64)> = oracle["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().to_string(),
                    f["entry"].as_u64().unwrap(),
                    f["end"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{}: function count", f.label());
        assert_eq!(ours, theirs, "{}: functions", f.label());

        for (name, entry, end) in &ours {
            let found = tab.find_func(name).unwrap();
            // Names are unique except for a few duplicated compiler-generated ones; the first wins.
            assert_eq!(found.name, *name);
            let at = tab.func_at(*entry).unwrap();
            assert_eq!(
                (at.entry, at.end),
                (*entry, *end),
                "{}: func_at {name}",
                f.label()
            );
            if end > entry {
                assert_eq!(tab.func_at(end - 1).unwrap().entry, *entry);
            }
        }
        assert!(tab.func_at(ours[0].1 - 1).is_none());
        assert!(tab.func_at(ours.last().unwrap().2).is_none());

        if !f.stripped() {
            let mut symtab: HashMap<&str, Vec<u64>> = HashMap::new();
            for (name, addr, _) in elf.symbols() {
                symtab.entry(name).or_default().push(addr);
            }
            let mut compared = 0;
            for (name, entry, _) in &ours {
                // ABI0 assembly functions are "<name>.abi0" in .symtab; some (reflectcall) have
                // both an ABI0 body and an ABIInternal wrapper, both named <name> in pclntab.
                let addrs: Vec<u64> = [name.clone(), format!("{name}.abi0")]
                    .iter()
                    .flat_map(|n| symtab.get(n.as_str()).cloned().unwrap_or_default())
                    .collect();
                if !addrs.is_empty() {
                    assert!(
                        addrs.contains(entry),
                        "{}: {name} entry {entry:#x} not among .symtab {addrs:x?}",
                        f.label()
                    );
                    compared += 1;
                }
            }
            // Every pclntab function has a symbol (a few duplicates aside).
            assert!(
                compared + 5 >= ours.len(),
                "{}: only {compared} of {} functions in .symtab",
                f.label(),
                ours.len()
            );
        }
    }
}

#[test]
fn line_at_matches_go_tool_addr2line() {
    for f in fixtures() {
        // addr2line takes the text start from runtime.text, else the .text section; a stripped
        // cgo binary has neither right (.text starts with C code), so it cannot be the oracle.
        if f.variant == "cgo-stripped-pie" {
            continue;
        }
        let data = f.bytes();
        let elf = ElfImage::parse(&data).unwrap();
        let tab = Pclntab::parse(&elf).unwrap();
        let funcs = tab.funcs();
        // ~20 functions spread over the table, a pc in the middle of each, plus main.main.
        let mut pcs: Vec<u64> = (0..20)
            .map(|i| &funcs[i * funcs.len() / 20])
            .chain(tab.find_func("main.main").as_ref())
            .map(|func| func.entry + (func.end - func.entry) / 2)
            .collect();
        pcs.push(tab.find_func("main.main").unwrap().entry);
        let mut expected = addr2line(&f.go(), &f.path, &pcs);
        if expected.iter().any(|(func, _, _)| func == "?") {
            // Go 1.19's addr2line does not find the pclntab of a PIE (.data.rel.ro.gopclntab,
            // added to cmd/internal/objfile later): ask the newest toolchain instead.
            expected = addr2line(&goroot(NEWEST).join("bin/go"), &f.path, &pcs);
        }
        for (pc, (func, file, line)) in pcs.iter().zip(expected) {
            assert_eq!(
                tab.func_at(*pc).map(|x| x.name).as_deref(),
                Some(func.as_str()),
                "{}: func at {pc:#x}",
                f.label()
            );
            // addr2line prints ":0" where the function has no line table; we say None.
            let want = (line != 0).then_some((file, line));
            assert_eq!(
                tab.line_at(*pc),
                want,
                "{}: line at {pc:#x} in {func}",
                f.label()
            );
        }
    }
}

/// Functions whose inlined copies goroscope cares about (a probe on the symbol misses them).
const INLINE_CHECKED: &[&str] = &[
    "runtime.goready",
    "runtime.lockOSThread",
    "runtime.preemptM",
];

/// What we compare: for each Go callee, pclntab's inline-tree entry count against DWARF's
/// DW_TAG_inlined_subroutine count (both per callee name, over the whole binary). Both come from
/// the compiler's inline tree, but they may differ: DWARF describes inlined calls by pc ranges and
/// drops a call whose code was optimised away entirely, while the pclntab keeps an entry for every
/// call that a pc (or a nested call's parentPc) refers to. Measured on the fixtures: identical
/// in 1.21–1.27; in 1.19 three of ~670 callees differ, pclntab counting one more each (e.g.
/// runtime.waitReason.String: pclntab 3, DWARF 2). So:
/// equality for the functions goroscope probes above, equality for all but 1% of callees, and
/// where they differ the pclntab never counts fewer.
#[test]
fn inline_counts_agree_with_dwarf() {
    for f in fixtures().into_iter().filter(|f| !f.stripped()) {
        let data = f.bytes();
        let elf = ElfImage::parse(&data).unwrap();
        let tab = Pclntab::parse(&elf).unwrap();
        let ours = tab
            .inlined_call_counts()
            .unwrap_or_else(|| panic!("{}: no inline counts (moduledata not found)", f.label()));
        // C functions inlined in cgo's C code are in DWARF too; Go names are package-qualified.
        let mut dwarf = dwarf_inline_counts(&f.path);
        dwarf.retain(|name, _| name.contains('.'));
        for name in INLINE_CHECKED {
            assert_eq!(
                ours.get(*name),
                dwarf.get(*name),
                "{}: inlined copies of {name}",
                f.label()
            );
        }
        let names: std::collections::BTreeSet<&String> = dwarf.keys().chain(ours.keys()).collect();
        let diffs: Vec<_> = names
            .iter()
            .map(|k| {
                (
                    *k,
                    dwarf.get(*k).copied().unwrap_or(0),
                    ours.get(*k).copied().unwrap_or(0),
                )
            })
            .filter(|(_, d, o)| d != o)
            .collect();
        eprintln!(
            "{}: {} callees, differing (name, DWARF, pclntab): {diffs:?}",
            f.label(),
            names.len()
        );
        assert!(
            diffs.len() * 100 <= names.len(),
            "{}: {} of {} callees differ: {diffs:?}",
            f.label(),
            diffs.len(),
            names.len()
        );
        for (name, d, o) in &diffs {
            assert!(o > d, "{}: {name}: pclntab {o} < DWARF {d}", f.label());
        }
    }
}

#[test]
fn stripped_inline_counts_equal_unstripped() {
    for f in fixtures().into_iter().filter(|f| f.variant == "stripped") {
        let normal = fixture(&f.version, "normal");
        let counts = |fx: &Fixture| {
            let data = fx.bytes();
            let elf = ElfImage::parse(&data).unwrap();
            let tab = Pclntab::parse(&elf).unwrap();
            tab.inlined_call_counts()
                .unwrap_or_else(|| panic!("{}: no inline counts", fx.label()))
        };
        assert_eq!(counts(&f), counts(&normal), "{} vs normal", f.label());
        // The stripped cgo PIE has no unstripped twin; its counts must at least exist.
        let pie = fixture(&f.version, "cgo-stripped-pie");
        assert!(!counts(&pie).is_empty(), "{}", pie.label());
    }
}

/// A big real-world Go binary (the 1.27 compiler, ~28 MB, ~25k functions): the same function
/// table as debug/gosym, and inline counts found. The parse time is printed, not asserted.
#[test]
fn large_toolchain_binary() {
    let path = goroot(NEWEST).join("pkg/tool/linux_amd64/compile");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let elf = ElfImage::parse(&data).unwrap();
    let t = std::time::Instant::now();
    let tab = Pclntab::parse(&elf).unwrap();
    let parsed = t.elapsed();
    let counts = tab.inlined_call_counts().expect("inline counts");
    eprintln!(
        "compile: {} functions, parse {parsed:?}, inline counts {:?} ({} callees)",
        tab.len(),
        t.elapsed() - parsed,
        counts.len()
    );
    let oracle = oracle(&path);
    let theirs = oracle["functions"].as_array().unwrap();
    assert_eq!(tab.len(), theirs.len());
    for (ours, theirs) in tab.funcs().iter().zip(theirs) {
        assert_eq!(ours.name, theirs["name"].as_str().unwrap());
        assert_eq!(
            ours.entry,
            theirs["entry"].as_u64().unwrap(),
            "{}",
            ours.name
        );
    }
}
