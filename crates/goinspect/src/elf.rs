//! The ELF view of a Go executable: sections by name, virtual address → file offset, symbols, and
//! pointer reads that honour R_X86_64_RELATIVE relocations (in PIE binaries the file holds zeros
//! where the loader later writes pointers, so the relocation addend is the real value).

use std::collections::HashMap;

use object::elf;
use object::read::elf::{Dyn, ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, RelocationFlags};

use crate::error::{Error, Result};

/// One section's placement: where it lives in memory and in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionRef<'data> {
    pub vaddr: u64,
    pub file_offset: u64,
    pub data: &'data [u8],
}

/// A loadable segment (PT_LOAD), used for address translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSegment {
    pub vaddr: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub mem_size: u64,
    pub executable: bool,
    pub writable: bool,
}

pub struct ElfImage<'data> {
    data: &'data [u8],
    file: ElfFile64<'data, Endianness>,
    segments: Vec<LoadSegment>,
    relative_relocs: HashMap<u64, u64>,
}

impl<'data> ElfImage<'data> {
    /// Parses `data` as a 64-bit x86-64 ELF executable. Other ELF classes and machines get
    /// `UnsupportedArch`; non-ELF data gets `NotElf`.
    pub fn parse(data: &'data [u8]) -> Result<Self> {
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(Error::NotElf);
        }
        match data.get(4) {
            Some(2) => {}
            Some(1) => return Err(Error::UnsupportedArch("32-bit ELF".into())),
            _ => return Err(Error::malformed("ELF header", "unknown ELF class")),
        }
        let file = ElfFile64::<Endianness>::parse(data)
            .map_err(|e| Error::malformed("ELF header", e.to_string()))?;
        let machine = file.elf_header().e_machine(file.endian());
        if machine != elf::EM_X86_64 {
            let name = match machine {
                elf::EM_AARCH64 => "arm64 (aarch64) ELF".to_string(),
                elf::EM_386 => "i386 ELF".to_string(),
                other => format!("ELF for machine {other}"),
            };
            return Err(Error::UnsupportedArch(name));
        }
        let endian = file.endian();
        let mut segments = Vec::new();
        for ph in file.elf_program_headers() {
            if ph.p_type(endian) == elf::PT_LOAD {
                // A segment whose bytes run past the end of the file means a truncated or
                // damaged executable: say so here rather than "not Go" later.
                let (offset, size) = (ph.p_offset(endian), ph.p_filesz(endian));
                if offset
                    .checked_add(size)
                    .is_none_or(|end| end > data.len() as u64)
                {
                    return Err(Error::malformed(
                        "ELF program headers",
                        format!(
                            "segment at file offset {offset:#x} with {size} bytes runs past the \
                             end of the file ({} bytes): the file is truncated or damaged",
                            data.len()
                        ),
                    ));
                }
                segments.push(LoadSegment {
                    vaddr: ph.p_vaddr(endian),
                    file_offset: ph.p_offset(endian),
                    file_size: ph.p_filesz(endian),
                    mem_size: ph.p_memsz(endian),
                    executable: ph.p_flags(endian) & elf::PF_X != 0,
                    writable: ph.p_flags(endian) & elf::PF_W != 0,
                });
            }
        }
        let mut relative_relocs = HashMap::new();
        if let Some(relocs) = file.dynamic_relocations() {
            for (offset, reloc) in relocs {
                if let RelocationFlags::Elf {
                    r_type: elf::R_X86_64_RELATIVE,
                } = reloc.flags()
                {
                    relative_relocs.insert(offset, reloc.addend() as u64);
                }
            }
        }
        Ok(ElfImage {
            data,
            file,
            segments,
            relative_relocs,
        })
    }

    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    pub fn object(&self) -> &ElfFile64<'data, Endianness> {
        &self.file
    }

    /// ET_DYN: position-independent, loaded at a random bias.
    pub fn is_pie(&self) -> bool {
        self.file.elf_header().e_type(self.file.endian()) == elf::ET_DYN
    }

    pub fn segments(&self) -> &[LoadSegment] {
        &self.segments
    }

    pub fn section(&self, name: &str) -> Option<SectionRef<'data>> {
        let s = self.file.section_by_name(name)?;
        let (file_offset, _) = s.file_range()?;
        let data = s.data().ok()?;
        Some(SectionRef {
            vaddr: s.address(),
            file_offset,
            data,
        })
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.file.section_by_name(name).is_some()
    }

    pub fn has_dwarf(&self) -> bool {
        self.has_section(".debug_info") || self.has_section(".zdebug_info")
    }

    pub fn has_symtab(&self) -> bool {
        self.file.symbols().next().is_some()
    }

    /// Address of a symbol in `.symtab` (None when stripped or absent).
    pub fn symbol_address(&self, name: &str) -> Option<u64> {
        self.file
            .symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
    }

    /// All `.symtab` symbols with their addresses (empty when stripped).
    pub fn symbols(&self) -> impl Iterator<Item = (&'data str, u64, u64)> + '_ {
        self.file
            .symbols()
            .filter_map(|s| Some((s.name().ok()?, s.address(), s.size())))
    }

    /// Shared libraries named by DT_NEEDED.
    pub fn needed_libraries(&self) -> Vec<String> {
        let endian = self.file.endian();
        let mut out = Vec::new();
        let Ok(Some((dynamic, index))) = self.file.elf_section_table().dynamic(endian, self.data)
        else {
            return out;
        };
        let Ok(strings) = self
            .file
            .elf_section_table()
            .strings(endian, self.data, index)
        else {
            return out;
        };
        for d in dynamic {
            if d.d_tag(endian) as u32 == elf::DT_NEEDED {
                if let Ok(name) = d.string(endian, strings) {
                    out.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        out
    }

    /// The segment containing `vaddr`, if it is backed by file bytes there.
    fn segment_for(&self, vaddr: u64) -> Option<&LoadSegment> {
        self.segments
            .iter()
            .find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.file_size)
    }

    /// File offset of a virtual address (what a uprobe attaches by).
    pub fn vaddr_to_file_offset(&self, vaddr: u64) -> Option<u64> {
        let s = self.segment_for(vaddr)?;
        s.file_offset.checked_add(vaddr - s.vaddr)
    }

    /// `len` bytes at a virtual address, if they are all in the file.
    pub fn bytes_at(&self, vaddr: u64, len: u64) -> Option<&'data [u8]> {
        let s = self.segment_for(vaddr)?;
        let within = vaddr - s.vaddr;
        if len > s.file_size - within {
            return None;
        }
        let start = usize::try_from(s.file_offset.checked_add(within)?).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.data.get(start..end)
    }

    /// A pointer-sized value at `vaddr` as the loader would leave it (before the load bias):
    /// the R_X86_64_RELATIVE addend if one targets it, else the file's bytes.
    pub fn read_ptr(&self, vaddr: u64) -> Option<u64> {
        if let Some(&v) = self.relative_relocs.get(&vaddr) {
            return Some(v);
        }
        let b = self.bytes_at(vaddr, 8)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }

    pub fn read_u32(&self, vaddr: u64) -> Option<u32> {
        let b = self.bytes_at(vaddr, 4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    /// The file bytes of a segment (clamped to the file, so never panics on a lying header).
    pub fn segment_bytes(&self, segment: &LoadSegment) -> &'data [u8] {
        let start = usize::try_from(segment.file_offset).unwrap_or(usize::MAX);
        let len = usize::try_from(segment.file_size).unwrap_or(usize::MAX);
        let start = start.min(self.data.len());
        let end = start.saturating_add(len).min(self.data.len());
        &self.data[start..end]
    }

    /// Addresses of 8-byte-aligned pointer slots in writable segments whose value, as the loader
    /// leaves it (see `read_ptr`), is `target`: R_X86_64_RELATIVE relocations with that addend
    /// (PIE) and plain words holding it (ET_EXEC, or PIE files that also store the value).
    /// Sorted, without duplicates.
    pub fn pointer_slots_to(&self, target: u64) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .relative_relocs
            .iter()
            .filter(|&(_, &addend)| addend == target)
            .map(|(&slot, _)| slot)
            .collect();
        let needle = target.to_le_bytes();
        for seg in self.segments.iter().filter(|s| s.writable) {
            let bytes = self.segment_bytes(seg);
            // Slots are 8-aligned in memory; the file offset has the same alignment mod page.
            let skew = (8 - (seg.vaddr % 8) as usize) % 8;
            let Some(aligned) = bytes.get(skew..) else {
                continue;
            };
            for (i, word) in aligned.chunks_exact(8).enumerate() {
                if word == needle {
                    out.push(seg.vaddr + (skew + i * 8) as u64);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
