//! Unit tests of the pclntab reader on damaged input: truncations, flipped bytes and bogus
//! offsets must give `Err` or `Ok`, never a panic, and every query on an `Ok` must be safe.
//! The input is a real fixture (`scripts/build-fixtures.sh`).

use std::path::PathBuf;

use super::*;

fn fixture(version: &str, variant: &str) -> Vec<u8> {
    let root = std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures"));
    let path = root.join(format!("go{version}/inspectee/{variant}"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/build-fixtures.sh to build the Go fixtures",
            path.display()
        )
    })
}

/// Runs every query; they must not panic whatever the table says.
fn exercise(tab: &Pclntab) {
    let funcs = tab.funcs();
    for f in funcs.iter().step_by(37) {
        let _ = tab.find_func(&f.name);
        let _ = tab.func_at(f.entry);
        let _ = tab.line_at(f.entry + 1);
    }
    let _ = tab.inlined_call_counts();
}

/// File offset and size of the pclntab section in `data`.
fn pclntab_range(data: &[u8]) -> (usize, usize) {
    let elf = ElfImage::parse(data).unwrap();
    let s = elf.section(".gopclntab").expect(".gopclntab");
    (s.file_offset as usize, s.data.len())
}

#[test]
fn damaged_pclntab_never_panics() {
    for version in ["1.19.8", "1.27.3"] {
        let good = fixture(version, "stripped");
        let (start, len) = pclntab_range(&good);
        // Flip bytes in the header, the functab, the _funcs and the pc tables.
        let mut positions: Vec<usize> = (0..72).collect();
        positions.extend((72..len).step_by(len / 150 + 1));
        for &p in &positions {
            for x in [0xff, 0x01] {
                let mut data = good.clone();
                data[start + p] ^= x;
                if let Ok(elf) = ElfImage::parse(&data) {
                    if let Ok(tab) = Pclntab::parse(&elf) {
                        exercise(&tab);
                    }
                }
            }
        }
    }
}

#[test]
fn bogus_header_offsets_are_malformed() {
    let good = fixture("1.27.3", "stripped");
    let (start, _) = pclntab_range(&good);
    // nfunc, funcnameOffset, pclnOffset set to huge values.
    for word in [0usize, 3, 7] {
        let mut data = good.clone();
        let at = start + 8 + 8 * word;
        data[at..at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        let elf = ElfImage::parse(&data).unwrap();
        let err = Pclntab::parse(&elf).err();
        assert!(
            matches!(
                err,
                Some(Error::Malformed {
                    what: ".gopclntab",
                    ..
                })
            ),
            "header word {word}: {err:?}"
        );
    }
    // Unsorted functab.
    let mut data = good.clone();
    let elf = ElfImage::parse(&good).unwrap();
    let pcln_off = {
        let s = elf.section(".gopclntab").unwrap();
        u64::from_le_bytes(s.data[64..72].try_into().unwrap()) as usize
    };
    let at = start + pcln_off + 8 * 10;
    data[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let elf = ElfImage::parse(&data).unwrap();
    let err = Pclntab::parse(&elf).err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("not sorted")),
        "{err:?}"
    );
}

#[test]
fn truncated_files_never_panic() {
    let good = fixture("1.23.9", "stripped");
    let (start, len) = pclntab_range(&good);
    for cut in [start + 10, start + 100, start + len / 3, start + len - 1] {
        let data = &good[..cut];
        if let Ok(elf) = ElfImage::parse(data) {
            match Pclntab::parse(&elf) {
                Ok(tab) => exercise(&tab),
                Err(Error::Malformed { .. } | Error::NotGo(_)) => {}
                Err(e) => panic!("unexpected error {e}"),
            }
        }
    }
}

#[test]
fn magic_scan_finds_a_pclntab_without_section() {
    // Go 1.19's stripped cgo PIE has its pclntab inside .data.rel.ro with no section of its own.
    let data = fixture("1.19.8", "cgo-stripped-pie");
    let elf = ElfImage::parse(&data).unwrap();
    assert!(!elf.has_section(".gopclntab"));
    let tab = Pclntab::parse(&elf).unwrap();
    assert_eq!(tab.format(), "1.18");
    assert!(tab.find_func("runtime.main").is_some());
    assert!(tab.moduledata_addr().is_some());
}
