//! Finding the pclntab and the runtime's `firstmoduledata` in an executable.
//!
//! The pclntab is the `.gopclntab` section (`.data.rel.ro.gopclntab` in Go-linked PIE). The
//! external linker may merge it into `.data.rel.ro` (stripped cgo PIE before Go 1.26), so we also
//! scan read-only data for the header magic with a sane header.
//!
//! `moduledata` (runtime/symtab.go) starts with `pcHeader *pcHeader`, then the slices funcnametab,
//! cutab, filetab, pctab, pclntable, ftab (24 bytes each), findfunctab, minpc, maxpc, text, ...
//! It is found as a pointer slot (see `ElfImage::pointer_slots_to`) holding the pclntab's address
//! whose following slices point at the pclntab's own tables. Its `text` is the base of all entry
//! offsets (the pclntab header stopped recording it in Go 1.26), and its `gofunc` is the base of
//! every funcdata offset; `gofunc`'s place moves between versions:
//!
//! | Go        | fields before `gofunc` that matter                      | rodata | gofunc |
//! |-----------|---------------------------------------------------------|--------|--------|
//! | 1.18–1.19 | ... end, gcdata, gcbss, types, etypes, rodata           | 296    | 304    |
//! | 1.20–1.26 | + covctrs, ecovctrs (before end)                        | 312    | 320    |
//! | 1.27      | + typedesclen (after types), itaboffset, itabsize       | 336    | 344    |

use crate::elf::{ElfImage, LoadSegment};

/// pclntab header magics.
pub const MAGIC_118: u32 = 0xffff_fff0;
pub const MAGIC_120: u32 = 0xffff_fff1;

/// Offsets in moduledata (all versions).
const MD_FUNCNAMETAB: u64 = 8;
const MD_CUTAB: u64 = 32;
const MD_FILETAB: u64 = 56;
const MD_PCTAB: u64 = 80;
const MD_PCLNTABLE: u64 = 104;
const MD_FTAB: u64 = 128;
const MD_TEXT: u64 = 176;

/// The pclntab bytes (from its header to the end of its section, or of its segment when found
/// by scanning) and their address.
pub fn find_pclntab<'d>(elf: &ElfImage<'d>) -> Option<(u64, &'d [u8])> {
    for name in [".gopclntab", ".data.rel.ro.gopclntab"] {
        if let Some(s) = elf.section(name) {
            return Some((s.vaddr, s.data));
        }
    }
    // No section: scan non-executable segments, 8-aligned, for a header that looks right.
    for seg in elf.segments().iter().filter(|s| !s.executable) {
        let bytes = elf.segment_bytes(seg);
        let skew = ((8 - seg.vaddr % 8) % 8) as usize;
        let mut at = skew;
        while let Some(h) = bytes.get(at..at + 72) {
            if plausible_header(h, bytes.len() - at) {
                return Some((seg.vaddr + at as u64, &bytes[at..]));
            }
            at += 8;
        }
    }
    None
}

/// Magic, pad bytes 0,0, quantum 1, pointer size 8, and table offsets that fit in `avail`.
fn plausible_header(h: &[u8], avail: usize) -> bool {
    let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    if !(magic == MAGIC_118 || magic == MAGIC_120) || h[4..8] != [0, 0, 1, 8] {
        return false;
    }
    let word = |i: usize| u64::from_le_bytes(h[8 + i * 8..16 + i * 8].try_into().unwrap_or([0; 8]));
    let nfunc = word(0);
    let offsets = [word(3), word(4), word(5), word(6), word(7)];
    nfunc > 0
        && nfunc < avail as u64 / 8
        && offsets.iter().all(|&o| o >= 72 && o < avail as u64)
        && offsets.windows(2).all(|w| w[0] <= w[1])
}

/// What we take from moduledata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleData {
    /// Address of the moduledata struct.
    pub addr: u64,
    /// `text`: start of Go text, the base of entry offsets.
    pub text: u64,
    /// `gofunc`: base of funcdata offsets; None when no known layout validated.
    pub gofunc: Option<u64>,
}

/// The pclntab's table offsets, as its header records them.
pub struct TableOffsets {
    pub funcname: u64,
    pub cu: u64,
    pub filetab: u64,
    pub pctab: u64,
    pub pcln: u64,
}

/// Finds moduledata by its pointer to the pclntab, validated by its table slices. `gofunc_offsets`
/// are the candidate offsets of `gofunc`, most likely first.
pub fn find_moduledata(
    elf: &ElfImage,
    pclntab: u64,
    tables: &TableOffsets,
    gofunc_offsets: &[u64],
) -> Option<ModuleData> {
    let at = |base: u64, off: u64| elf.read_ptr(base.checked_add(off)?);
    let expect = |off: u64| pclntab.checked_add(off);
    for slot in elf.pointer_slots_to(pclntab) {
        let slices_match = [
            (MD_FUNCNAMETAB, tables.funcname),
            (MD_CUTAB, tables.cu),
            (MD_FILETAB, tables.filetab),
            (MD_PCTAB, tables.pctab),
            (MD_PCLNTABLE, tables.pcln),
            (MD_FTAB, tables.pcln),
        ]
        .iter()
        .all(|&(field, table)| at(slot, field).is_some() && at(slot, field) == expect(table));
        if !slices_match {
            continue;
        }
        let Some(text) = at(slot, MD_TEXT) else {
            continue;
        };
        let gofunc = gofunc_offsets.iter().find_map(|&off| {
            let rodata = at(slot, off.checked_sub(8)?)?;
            let gofunc = at(slot, off)?;
            let data_segment =
                |a: u64| segment_of(elf.segments(), a).is_some_and(|s| !s.executable);
            (rodata <= gofunc && data_segment(rodata) && data_segment(gofunc)).then_some(gofunc)
        });
        return Some(ModuleData {
            addr: slot,
            text,
            gofunc,
        });
    }
    None
}

fn segment_of(segments: &[LoadSegment], vaddr: u64) -> Option<&LoadSegment> {
    segments
        .iter()
        .find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.file_size)
}

/// Candidate `gofunc` offsets in moduledata for a pclntab magic and (if known) Go minor version.
pub fn gofunc_offsets(magic: u32, go_minor: Option<u32>) -> Vec<u64> {
    if magic == MAGIC_118 {
        return vec![304];
    }
    match go_minor {
        Some(m) if m >= 27 => vec![344, 320],
        Some(_) => vec![320, 344],
        // Unknown version: both layouts, told apart by the rodata <= gofunc check.
        None => vec![344, 320],
    }
}
