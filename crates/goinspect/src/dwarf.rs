//! Runtime struct layouts, constants and inlining facts from DWARF (gimli), when the binary has it.

use crate::elf::ElfImage;
use crate::error::Result;
use crate::model::RuntimeLayout;

/// What goroscope takes from DWARF.
pub struct DwarfFacts {
    pub layout: RuntimeLayout,
    /// Function name (e.g. "runtime.goready") → number of DW_TAG_inlined_subroutine copies.
    pub inlined_counts: std::collections::HashMap<String, u32>,
}

/// None when the binary has no DWARF.
pub fn read(_elf: &ElfImage) -> Result<Option<DwarfFacts>> {
    Ok(None)
}
