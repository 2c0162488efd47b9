//! Our own reader of Go's `.gopclntab` (function table, names, pc→file/line, inline trees) for the
//! Go 1.18 format (magic 0xfffffff0, Go 1.18–1.19) and the Go 1.20 format (0xfffffff1, Go 1.20+).
//! Sources: Go's runtime/symtab.go (pcHeader, moduledata, funcdata), runtime/runtime2.go (_func),
//! runtime/symtabinl.go (inlinedCall), cmd/link/internal/ld/pcln.go, debug/gosym/pclntab.go.
//!
//! Layout. Header (8-byte words after an 8-byte prefix of magic, 0, 0, minLC, ptrSize): nfunc,
//! nfiles, textStart (0 from Go 1.26: then moduledata.text), then the offsets from the header of
//! funcnametab, cutab, filetab, pctab and pclntable. pclntable starts with the functab:
//! nfunc (entryOff, funcOff) u32 pairs and a final entryOff that ends the last function; entry
//! offsets are relative to textStart, funcOff to pclntable. A `_func` there is entryOff, nameOff,
//! args, deferreturn, pcsp, pcfile, pcln, npcdata, cuOffset (u32 each), then in Go 1.20+
//! startLine (i32), then funcID, flag, pad, nfuncdata (u8 each); then npcdata u32 offsets into
//! pctab and nfuncdata u32 offsets from moduledata.gofunc.
//!
//! Parsing validates the header and the functab and indexes names in one pass; pc tables are
//! decoded only on request.

mod inline;

pub use inline::InlinedCall;
mod locate;
mod pcvalue;

use std::collections::HashMap;

use crate::elf::{ElfImage, LoadSegment};
use crate::error::{Error, Result};
use locate::{ModuleData, TableOffsets, MAGIC_118, MAGIC_120};
use pcvalue::PcValues;

/// A function as pclntab records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Func {
    pub name: String,
    /// Virtual address (before load bias).
    pub entry: u64,
    /// One past the last byte (the next function's entry, or the end of text).
    pub end: u64,
}

const WHAT: &str = ".gopclntab";
const HEADER_SIZE: usize = 72;

/// The `_func` fields we read, at their byte offsets.
const FUNC_NAMEOFF: usize = 4;
const FUNC_PCFILE: usize = 20;
const FUNC_PCLN: usize = 24;
const FUNC_NPCDATA: usize = 28;
const FUNC_CUOFFSET: usize = 32;

/// The two pclntab formats and what differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Go118,
    Go120,
}

impl Format {
    /// Size of `_func` before its pcdata offsets; nfuncdata is its last byte.
    fn func_size(self) -> usize {
        match self {
            Format::Go118 => 40, // no startLine
            Format::Go120 => 44,
        }
    }
}

/// A parsed pclntab. Holds borrowed bytes of the image.
pub struct Pclntab<'data> {
    format: Format,
    /// Address of the header.
    vaddr: u64,
    quantum: u32,
    text_start: u64,
    funcnametab: &'data [u8],
    cutab: &'data [u8],
    filetab: &'data [u8],
    pctab: &'data [u8],
    /// pclntable, which begins with the functab.
    pclntable: &'data [u8],
    nfunc: usize,
    /// Function name → index in the functab.
    by_name: HashMap<&'data str, usize>,
    moduledata: Option<ModuleData>,
    /// The whole file and its segments, to read funcdata (inline trees) by address.
    image: &'data [u8],
    segments: Vec<LoadSegment>,
}

impl<'data> Pclntab<'data> {
    /// Finds and parses the pclntab (section `.gopclntab`, or `.data.rel.ro.gopclntab`, or by
    /// magic scan). No pclntab → `Error::NotGo`; a damaged one → `Error::Malformed`.
    pub fn parse(elf: &ElfImage<'data>) -> Result<Self> {
        let (vaddr, bytes) = locate::find_pclntab(elf).ok_or_else(|| {
            Error::NotGo("no .gopclntab section and no pclntab header in the data".into())
        })?;
        let header = bytes.get(..HEADER_SIZE).ok_or_else(|| {
            Error::malformed(
                WHAT,
                format!("{} bytes, shorter than its header", bytes.len()),
            )
        })?;
        let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let format = match magic {
            MAGIC_118 => Format::Go118,
            MAGIC_120 => Format::Go120,
            m => {
                return Err(Error::NotGo(format!(
                    "pclntab magic {m:#x}: not a Go 1.18+ executable (goroscope supports \
                     Go 1.19 and later)"
                )))
            }
        };
        if header[4..6] != [0, 0] || header[7] != 8 {
            return Err(Error::malformed(
                WHAT,
                format!(
                    "bad header bytes {:02x?} (pad, quantum, pointer size)",
                    &header[4..8]
                ),
            ));
        }
        let quantum = u32::from(header[6]);
        if !matches!(quantum, 1 | 2 | 4) {
            return Err(Error::malformed(
                WHAT,
                format!("instruction quantum {quantum}"),
            ));
        }
        let word = |i: usize| {
            u64::from_le_bytes(header[8 + 8 * i..16 + 8 * i].try_into().unwrap_or([0; 8]))
        };
        let tables = TableOffsets {
            funcname: word(3),
            cu: word(4),
            filetab: word(5),
            pctab: word(6),
            pcln: word(7),
        };
        let table = |name: &str, off: u64| -> Result<&'data [u8]> {
            usize::try_from(off)
                .ok()
                .filter(|&o| o >= HEADER_SIZE)
                .and_then(|o| bytes.get(o..))
                .ok_or_else(|| {
                    Error::malformed(
                        WHAT,
                        format!(
                            "{name} offset {off:#x} outside the {}-byte table",
                            bytes.len()
                        ),
                    )
                })
        };
        let funcnametab = table("funcnametab", tables.funcname)?;
        let cutab = table("cutab", tables.cu)?;
        let filetab = table("filetab", tables.filetab)?;
        let pctab = table("pctab", tables.pctab)?;
        let pclntable = table("pclntable", tables.pcln)?;

        let nfunc = usize::try_from(word(0))
            .ok()
            .filter(|&n| {
                n.checked_mul(8)
                    .and_then(|b| b.checked_add(4))
                    .is_some_and(|b| b <= pclntable.len())
            })
            .ok_or_else(|| {
                Error::malformed(
                    WHAT,
                    format!("{} functions do not fit in the table", word(0)),
                )
            })?;

        let go_minor = crate::buildinfo::read_raw(elf)
            .ok()
            .and_then(|(v, _)| crate::version::GoVersion::parse(&v))
            .map(|v| v.minor);
        let moduledata = locate::find_moduledata(
            elf,
            vaddr,
            &tables,
            &locate::gofunc_offsets(magic, go_minor),
        );
        let text_start = match elf.read_ptr(vaddr + 24) {
            Some(t) if t != 0 => t,
            // Go 1.26+ leaves the header's copy 0: moduledata.text, else the runtime.text
            // symbol, else the .text section (what go tool addr2line assumes).
            _ => moduledata
                .map(|m| m.text)
                .or_else(|| elf.symbol_address("runtime.text"))
                .or_else(|| elf.section(".text").map(|s| s.vaddr))
                .ok_or_else(|| {
                    Error::malformed(
                        WHAT,
                        "no text start: header, moduledata and .text all missing",
                    )
                })?,
        };

        let mut tab = Pclntab {
            format,
            vaddr,
            quantum,
            text_start,
            funcnametab,
            cutab,
            filetab,
            pctab,
            pclntable,
            nfunc,
            by_name: HashMap::with_capacity(nfunc),
            moduledata,
            image: elf.data(),
            segments: elf.segments().to_vec(),
        };
        tab.index()?;
        Ok(tab)
    }

    /// Validates the functab (sorted entries, `_func`s and names in range) and indexes names.
    fn index(&mut self) -> Result<()> {
        let mut prev = 0u32;
        for i in 0..=self.nfunc {
            let entry = self.entry_off(i);
            if entry < prev {
                return Err(Error::malformed(
                    WHAT,
                    format!("functab not sorted at function {i} (offset {entry:#x} < {prev:#x})"),
                ));
            }
            prev = entry;
            if i == self.nfunc {
                break;
            }
            let funcoff = self.func_off(i).ok_or_else(|| {
                Error::malformed(WHAT, format!("function {i}: _func outside pclntable"))
            })?;
            let name = self
                .name_at(self.u32_at(funcoff + FUNC_NAMEOFF))
                .ok_or_else(|| {
                    Error::malformed(
                        WHAT,
                        format!("function {i}: name offset outside funcnametab"),
                    )
                })?;
            if let Ok(name) = std::str::from_utf8(name) {
                self.by_name.entry(name).or_insert(i);
            }
        }
        Ok(())
    }

    /// "1.18" or "1.20".
    pub fn format(&self) -> &'static str {
        match self.format {
            Format::Go118 => "1.18",
            Format::Go120 => "1.20",
        }
    }

    /// The pclntab header's textStart (before load bias); from Go 1.26, where the header no
    /// longer records it, moduledata.text.
    pub fn text_start(&self) -> u64 {
        self.text_start
    }

    /// Address of the pclntab header.
    pub fn vaddr(&self) -> u64 {
        self.vaddr
    }

    /// Address of `runtime.firstmoduledata`, when found.
    pub fn moduledata_addr(&self) -> Option<u64> {
        self.moduledata.map(|m| m.addr)
    }

    pub fn len(&self) -> usize {
        self.nfunc
    }

    pub fn is_empty(&self) -> bool {
        self.nfunc == 0
    }

    pub fn funcs(&self) -> Vec<Func> {
        (0..self.nfunc).map(|i| self.func(i)).collect()
    }

    /// Exact-name lookup, e.g. "runtime.casgstatus".
    pub fn find_func(&self, name: &str) -> Option<Func> {
        self.by_name.get(name).map(|&i| self.func(i))
    }

    /// The function containing `pc`.
    pub fn func_at(&self, pc: u64) -> Option<Func> {
        self.index_at(pc).map(|i| self.func(i))
    }

    /// Source file and line of `pc` (for a goroutine's creation site, a `go` statement's PC).
    pub fn line_at(&self, pc: u64) -> Option<(String, u32)> {
        let i = self.index_at(pc)?;
        let f = self.func_off(i)?;
        let entry = self.entry(i);
        let line = self.pc_value(self.u32_at(f + FUNC_PCLN), entry, pc)?;
        let fileno = self.pc_value(self.u32_at(f + FUNC_PCFILE), entry, pc)?;
        let cu = self.u32_at(f + FUNC_CUOFFSET);
        let slot = usize::try_from(cu.checked_add(u32::try_from(fileno).ok()?)?).ok()?;
        let file_off = read_u32(self.cutab, slot.checked_mul(4)?)?;
        if file_off == u32::MAX {
            return None;
        }
        let file = cstring(self.filetab, file_off as usize)?;
        Some((
            String::from_utf8_lossy(file).into_owned(),
            u32::try_from(line).ok()?,
        ))
    }

    /// The functions inlined at `pc`, innermost first (empty outside inlined code, or when the
    /// inline trees cannot be located): what the runtime's traceback prints as inlined frames.
    pub fn inlined_at(&self, pc: u64) -> Vec<InlinedCall> {
        match (
            self.moduledata.as_ref().and_then(|m| m.gofunc),
            self.index_at(pc),
        ) {
            (Some(gofunc), Some(i)) => inline::inlined_at(self, gofunc, i, pc),
            _ => Vec::new(),
        }
    }

    /// The outermost function inlined at the first inlined pc of the function starting at
    /// `entry`, and that pc (see `gowrap`).
    pub fn first_inlined_call(&self, entry: u64) -> Option<(String, u64)> {
        let gofunc = self.moduledata.as_ref()?.gofunc?;
        let i = self.index_at(entry)?;
        inline::first_inlined_call(self, gofunc, i)
    }

    /// For every function name that appears as an inlined call in some function's inline tree,
    /// how many inlined copies exist (distinct (outer function, inline-tree entry) pairs).
    /// None when the inline trees cannot be located: funcdata offsets are relative to
    /// moduledata.gofunc, and moduledata is found only by pointer scanning (see `locate`).
    pub fn inlined_call_counts(&self) -> Option<HashMap<String, u32>> {
        let gofunc = self.moduledata?.gofunc?;
        Some(inline::count_inlined_calls(self, gofunc))
    }

    // ---- functab and _func access (all bounds-checked; damage reads as None/0) ----

    fn func(&self, i: usize) -> Func {
        let name = self
            .func_off(i)
            .and_then(|f| self.name_at(self.u32_at(f + FUNC_NAMEOFF)))
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        Func {
            name,
            entry: self.entry(i),
            end: self.entry(i + 1),
        }
    }

    /// Index of the function containing `pc`.
    fn index_at(&self, pc: u64) -> Option<usize> {
        if self.nfunc == 0 || pc < self.entry(0) || pc >= self.entry(self.nfunc) {
            return None;
        }
        // Entries are sorted (checked at parse): the last entry <= pc.
        let (mut lo, mut hi) = (0, self.nfunc);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid) <= pc {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }

    fn entry_off(&self, i: usize) -> u32 {
        read_u32(self.pclntable, i * 8).unwrap_or(u32::MAX)
    }

    fn entry(&self, i: usize) -> u64 {
        self.text_start.wrapping_add(u64::from(self.entry_off(i)))
    }

    /// Offset of function i's `_func` in pclntable, if the whole fixed part fits.
    fn func_off(&self, i: usize) -> Option<usize> {
        let off = read_u32(self.pclntable, i * 8 + 4)? as usize;
        (off.checked_add(self.format.func_size())? <= self.pclntable.len()).then_some(off)
    }

    fn u32_at(&self, off: usize) -> u32 {
        read_u32(self.pclntable, off).unwrap_or(0)
    }

    fn name_at(&self, nameoff: u32) -> Option<&'data [u8]> {
        cstring(self.funcnametab, nameoff as usize)
    }

    /// Value of the pc-value table at `pctab[off]` at `pc` in a function starting at `entry`.
    fn pc_value(&self, off: u32, entry: u64, pc: u64) -> Option<i32> {
        if off == 0 {
            return None;
        }
        let table = self.pctab.get(off as usize..)?;
        PcValues::new(table, entry, self.quantum).value_at(pc)
    }

    /// pcdata table `index` of the `_func` at `f` (offset into pctab; 0 = none).
    fn pcdata(&self, f: usize, index: u32) -> u32 {
        if index >= self.u32_at(f + FUNC_NPCDATA) {
            return 0;
        }
        self.u32_at(f + self.format.func_size() + index as usize * 4)
    }

    /// funcdata `index` of the `_func` at `f`: offset from gofunc, or None.
    fn funcdata(&self, f: usize, index: u8) -> Option<u32> {
        let size = self.format.func_size();
        let nfuncdata = *self.pclntable.get(f + size - 1)?;
        if index >= nfuncdata {
            return None;
        }
        let npcdata = self.u32_at(f + FUNC_NPCDATA) as usize;
        let at = f
            .checked_add(size)?
            .checked_add(npcdata.checked_mul(4)?)?
            .checked_add(usize::from(index) * 4)?;
        read_u32(self.pclntable, at).filter(|&o| o != u32::MAX)
    }

    /// `len` bytes at a virtual address in the file (funcdata holds no pointers, so no
    /// relocation matters).
    fn bytes_at(&self, vaddr: u64, len: usize) -> Option<&'data [u8]> {
        let s = self
            .segments
            .iter()
            .find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.file_size)?;
        let within = vaddr - s.vaddr;
        if len as u64 > s.file_size - within {
            return None;
        }
        let start = usize::try_from(s.file_offset.checked_add(within)?).ok()?;
        self.image.get(start..start.checked_add(len)?)
    }
}

fn read_u32(bytes: &[u8], off: usize) -> Option<u32> {
    let b = bytes.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes(b.try_into().ok()?))
}

/// NUL-terminated bytes at `off`.
fn cstring(bytes: &[u8], off: usize) -> Option<&[u8]> {
    let rest = bytes.get(off..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..len])
}

#[cfg(test)]
mod tests;
