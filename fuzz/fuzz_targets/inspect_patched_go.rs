//! Fuzz target: a real stripped Go binary with small patches applied where the inspector reads:
//! the ELF header and program headers, the section header table, `.go.buildinfo`, `.gopclntab`
//! and the data holding moduledata. Whole-file mutation rarely gets past the ELF parser with a
//! multi-megabyte input; patching keeps every other byte valid so the deep readers get exercised.
//!
//! The base binary is `$GOINSPECT_FUZZ_BASE`, else the newest
//! `target/fixtures/go*/inspectee/stripped` (scripts/build-fixtures.sh).
//!
//! Input: a sequence of patches, each `[region u8][offset u32 LE][len u8][len bytes]`; region
//! picks one of the regions above (modulo their count), offset is taken modulo its length.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

struct Base {
    data: Vec<u8>,
    /// File ranges (start, len) worth corrupting.
    regions: Vec<(usize, usize)>,
}

fn base_path() -> PathBuf {
    if let Some(p) = std::env::var_os("GOINSPECT_FUZZ_BASE") {
        return PathBuf::from(p);
    }
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/fixtures");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .map(|d| {
            d.flatten()
                .map(|e| e.path().join("inspectee/stripped"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        // go1.27.3 sorts after go1.9.x: compare the numeric parts.
        p.components()
            .rev()
            .nth(2)
            .and_then(|c| c.as_os_str().to_str())
            .map(|v| {
                v.trim_start_matches("go")
                    .split('.')
                    .filter_map(|n| n.parse::<u32>().ok())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    found
        .pop()
        .expect("no base binary: set GOINSPECT_FUZZ_BASE or run scripts/build-fixtures.sh")
}

fn u64_at(d: &[u8], off: usize) -> usize {
    d.get(off..off + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
        .unwrap_or(0)
}

fn u16_at(d: &[u8], off: usize) -> usize {
    d.get(off..off + 2)
        .map(|b| u16::from_le_bytes(b.try_into().unwrap()) as usize)
        .unwrap_or(0)
}

/// The regions, from the ELF64 headers of the (trusted, known-good) base binary.
fn regions(d: &[u8]) -> Vec<(usize, usize)> {
    let mut out = vec![(0, 64 + u16_at(d, 0x36) * u16_at(d, 0x38))]; // ELF header + phdrs
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(d, 0x28),
        u16_at(d, 0x3a),
        u16_at(d, 0x3c),
        u16_at(d, 0x3e),
    );
    out.push((shoff, shentsize * shnum));
    let sh = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(d, sh(shstrndx) + 0x18);
    for i in 0..shnum {
        let name_off = u32::from_le_bytes(d[sh(i)..sh(i) + 4].try_into().unwrap()) as usize;
        let name: Vec<u8> = d[strtab + name_off..]
            .iter()
            .take_while(|b| **b != 0)
            .copied()
            .collect();
        let (off, size) = (u64_at(d, sh(i) + 0x18), u64_at(d, sh(i) + 0x20));
        match name.as_slice() {
            b".go.buildinfo" | b".noptrdata" | b".go.module" | b".data.rel.ro" => {
                out.push((off, size))
            }
            b".gopclntab" => {
                out.push((off, 4096.min(size))); // header, start of function table
                out.push((off, size));
            }
            _ => {}
        }
    }
    out.retain(|&(o, l)| l > 0 && o + l <= d.len());
    out
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let path = base_path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let regions = regions(&data);
        Base { data, regions }
    })
}

fuzz_target!(|input: &[u8]| {
    let base = base();
    let mut data = base.data.clone();
    let mut rest = input;
    while rest.len() >= 6 {
        let (start, len) = base.regions[rest[0] as usize % base.regions.len()];
        let offset = u32::from_le_bytes(rest[1..5].try_into().unwrap()) as usize % len;
        let n = (rest[5] as usize).min(rest.len() - 6);
        let at = start + offset;
        let n = n.min(data.len() - at);
        data[at..at + n].copy_from_slice(&rest[6..6 + n]);
        rest = &rest[6 + n..];
    }
    let _ = goinspect::inspect_bytes(&data, "fuzz-patched", &goinspect::InspectOptions::default());
});
