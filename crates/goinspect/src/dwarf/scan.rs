//! One pass over `.debug_info` that keeps only what goroscope needs: the members of a few named
//! structs, every DW_TAG_constant, the addresses of a few variables, and how often each function
//! is inlined. Uses gimli's raw entry reader so uninteresting DIEs are skipped by their
//! abbreviation's attribute sizes, without building trees (fast enough for 50 MB binaries).
//!
//! Format: DWARF 4 (Go ≤1.24) and 5 (Go 1.25+) as the Go linker writes it (cmd/link/internal/ld/
//! dwarf.go): names are DW_FORM_string, type and abstract-origin references DW_FORM_ref_addr,
//! member offsets DW_FORM_udata, constants DW_FORM_sdata, variable locations a DW_OP_addr block.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use gimli::{
    constants as dw, AttributeValue, DebugAbbrev, DebugInfo, DebugInfoOffset, DebugLineStr,
    DebugStr, EndianSlice, LittleEndian, Reader, UnitHeader,
};

use crate::error::{Error, Result};

type Slice<'a> = EndianSlice<'a, LittleEndian>;

/// The decompressed sections the scan reads.
pub(super) struct Sections<'a> {
    pub info: &'a [u8],
    pub abbrev: &'a [u8],
    pub str: &'a [u8],
    pub line_str: &'a [u8],
}

/// What to keep.
pub(super) struct Wanted<'w> {
    pub structs: &'w [&'w str],
    pub variables: &'w [&'w str],
    pub types: &'w [&'w str],
}

#[derive(Debug, Default)]
pub(super) struct RawStruct {
    pub size: u64,
    /// (member name, byte offset), in declaration order.
    pub members: Vec<(String, u64)>,
}

#[derive(Debug)]
pub(super) struct RawConstant {
    /// Full name, e.g. "runtime._Grunning".
    pub name: String,
    /// None for values that do not fit (negative or too large), which goroscope never needs.
    pub value: Option<u64>,
    /// `.debug_info` offset of its type DIE.
    pub type_offset: Option<usize>,
}

#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The first definition of each wanted struct.
    pub structs: HashMap<String, RawStruct>,
    /// Every constant, in DIE order (which is declaration order within a package).
    pub constants: Vec<RawConstant>,
    /// Wanted type name → `.debug_info` offset of its DIE.
    pub types: HashMap<String, usize>,
    /// Wanted variable name → address (DW_OP_addr).
    pub variables: HashMap<String, u64>,
    /// Function name → number of DW_TAG_inlined_subroutine DIEs whose origin it is.
    pub inlined_counts: HashMap<String, u32>,
}

fn gimli_err(e: gimli::Error) -> Error {
    Error::malformed("DWARF", e.to_string())
}

/// Runs the pass. Any inconsistency gimli finds (bad abbreviation, truncated unit) is Malformed.
pub(super) fn scan(sections: &Sections<'_>, wanted: &Wanted<'_>) -> Result<Scan> {
    let debug_info = DebugInfo::new(sections.info, LittleEndian);
    let debug_abbrev = DebugAbbrev::new(sections.abbrev, LittleEndian);
    let strings = Strings {
        debug_str: DebugStr::new(sections.str, LittleEndian),
        debug_line_str: DebugLineStr::new(sections.line_str, LittleEndian),
    };
    let want_structs: HashSet<&str> = wanted.structs.iter().copied().collect();
    let want_vars: HashSet<&str> = wanted.variables.iter().copied().collect();
    let want_types: HashSet<&str> = wanted.types.iter().copied().collect();

    let mut out = Scan::default();
    // Abstract (inlinable) subprograms by offset, and inlined copies by origin offset: joined at
    // the end because a copy may come before its origin (references cross units).
    let mut abstract_names: HashMap<usize, String> = HashMap::new();
    let mut origins: HashMap<usize, u32> = HashMap::new();
    // Go's linker writes one abbreviation table shared by all units: parse each table once.
    let mut abbrev_cache: HashMap<usize, gimli::Abbreviations> = HashMap::new();

    let mut units = debug_info.units();
    while let Some(header) = units.next().map_err(gimli_err)? {
        let abbrev_offset = header.debug_abbrev_offset();
        let abbrevs = match abbrev_cache.entry(abbrev_offset.0) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(header.abbreviations(&debug_abbrev).map_err(gimli_err)?),
        };
        let mut entries = header.entries_raw(abbrevs, None).map_err(gimli_err)?;
        // The wanted struct whose members are being read, and its depth.
        let mut open: Option<(isize, String)> = None;
        while !entries.is_empty() {
            let offset = entries.next_offset();
            let depth = entries.next_depth();
            let Some(abbrev) = entries.read_abbreviation().map_err(gimli_err)? else {
                continue;
            };
            if open.as_ref().is_some_and(|(d, _)| depth <= *d) {
                open = None;
            }
            let die_offset = offset
                .to_debug_info_offset(&header)
                .map(|o| o.0)
                .ok_or_else(|| Error::malformed("DWARF", "entry offset outside its unit"))?;
            let tag = abbrev.tag();
            let interesting = matches!(
                tag,
                dw::DW_TAG_structure_type
                    | dw::DW_TAG_member
                    | dw::DW_TAG_constant
                    | dw::DW_TAG_variable
                    | dw::DW_TAG_base_type
                    | dw::DW_TAG_typedef
                    | dw::DW_TAG_subprogram
                    | dw::DW_TAG_inlined_subroutine
            );
            if !interesting || (tag == dw::DW_TAG_member && open.is_none()) {
                entries
                    .skip_attributes(abbrev.attributes())
                    .map_err(gimli_err)?;
                continue;
            }
            let mut die = Die::default();
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec).map_err(gimli_err)?;
                die.take(attr, &header, &strings)?;
            }
            match tag {
                dw::DW_TAG_structure_type => {
                    if let Some(name) = die.name.filter(|n| want_structs.contains(n.as_str())) {
                        if !out.structs.contains_key(&name) && abbrev.has_children() {
                            out.structs.insert(
                                name.clone(),
                                RawStruct {
                                    size: die.byte_size.unwrap_or(0),
                                    members: Vec::new(),
                                },
                            );
                            open = Some((depth, name));
                        }
                    }
                }
                dw::DW_TAG_member => {
                    if let (Some((d, owner)), Some(name), Some(loc)) =
                        (&open, die.name, die.member_offset)
                    {
                        if depth == d + 1 {
                            if let Some(s) = out.structs.get_mut(owner) {
                                s.members.push((name, loc));
                            }
                        }
                    }
                }
                dw::DW_TAG_constant => {
                    if let Some(name) = die.name {
                        out.constants.push(RawConstant {
                            name,
                            value: die.const_value,
                            type_offset: die.type_offset,
                        });
                    }
                }
                dw::DW_TAG_variable => {
                    if let (Some(name), Some(addr)) = (die.name, die.address) {
                        if want_vars.contains(name.as_str()) {
                            out.variables.entry(name).or_insert(addr);
                        }
                    }
                }
                dw::DW_TAG_base_type | dw::DW_TAG_typedef => {
                    if let Some(name) = die.name.filter(|n| want_types.contains(n.as_str())) {
                        out.types.entry(name).or_insert(die_offset);
                    }
                }
                dw::DW_TAG_subprogram => {
                    if let (true, Some(name)) = (die.inline, die.name) {
                        abstract_names.insert(die_offset, name);
                    }
                }
                dw::DW_TAG_inlined_subroutine => {
                    if let Some(origin) = die.abstract_origin {
                        *origins.entry(origin).or_insert(0) += 1;
                    }
                }
                _ => {}
            }
        }
    }
    for (origin, count) in origins {
        if let Some(name) = abstract_names.get(&origin) {
            let slot = out.inlined_counts.entry(name.clone()).or_insert(0);
            *slot = slot.saturating_add(count);
        }
    }
    Ok(out)
}

struct Strings<'a> {
    debug_str: DebugStr<Slice<'a>>,
    debug_line_str: DebugLineStr<Slice<'a>>,
}

/// The attributes of one DIE that the scan uses.
#[derive(Default)]
struct Die {
    name: Option<String>,
    byte_size: Option<u64>,
    member_offset: Option<u64>,
    const_value: Option<u64>,
    type_offset: Option<usize>,
    address: Option<u64>,
    abstract_origin: Option<usize>,
    inline: bool,
}

impl Die {
    fn take<'a>(
        &mut self,
        attr: gimli::Attribute<Slice<'a>>,
        header: &UnitHeader<Slice<'a>>,
        strings: &Strings<'a>,
    ) -> Result<()> {
        let value = attr.value();
        match attr.name() {
            dw::DW_AT_name => self.name = string_value(value, strings)?,
            dw::DW_AT_byte_size => self.byte_size = attr.udata_value(),
            dw::DW_AT_data_member_location => self.member_offset = member_offset(value),
            dw::DW_AT_const_value => self.const_value = const_value(value),
            dw::DW_AT_type => self.type_offset = reference(value, header),
            dw::DW_AT_abstract_origin => self.abstract_origin = reference(value, header),
            dw::DW_AT_location => self.address = address(value),
            dw::DW_AT_inline => self.inline = true,
            _ => {}
        }
        Ok(())
    }
}

fn string_value(value: AttributeValue<Slice<'_>>, strings: &Strings<'_>) -> Result<Option<String>> {
    let bytes = match value {
        AttributeValue::String(s) => s,
        AttributeValue::DebugStrRef(o) => strings.debug_str.get_str(o).map_err(gimli_err)?,
        AttributeValue::DebugLineStrRef(o) => {
            strings.debug_line_str.get_str(o).map_err(gimli_err)?
        }
        // Go does not use string offsets tables; a name in one is just not needed.
        _ => return Ok(None),
    };
    Ok(Some(String::from_utf8_lossy(bytes.slice()).into_owned()))
}

/// DW_AT_data_member_location: a constant, or an expression `DW_OP_plus_uconst N`.
fn member_offset(value: AttributeValue<Slice<'_>>) -> Option<u64> {
    match value {
        AttributeValue::Exprloc(expr) => plus_uconst(expr.0),
        AttributeValue::Block(block) => plus_uconst(block),
        other => unsigned(other),
    }
}

fn plus_uconst(mut r: Slice<'_>) -> Option<u64> {
    if r.read_u8().ok()? != dw::DW_OP_plus_uconst.0 {
        return None;
    }
    r.read_uleb128().ok()
}

/// A constant-class value as u64, if it is a non-negative integer.
fn unsigned(value: AttributeValue<Slice<'_>>) -> Option<u64> {
    match value {
        AttributeValue::Udata(v) | AttributeValue::Data8(v) => Some(v),
        AttributeValue::Data1(v) => Some(v.into()),
        AttributeValue::Data2(v) => Some(v.into()),
        AttributeValue::Data4(v) => Some(v.into()),
        AttributeValue::Sdata(v) => u64::try_from(v).ok(),
        _ => None,
    }
}

/// DW_AT_const_value. Go writes DW_FORM_sdata; negative values are not ones goroscope needs.
fn const_value(value: AttributeValue<Slice<'_>>) -> Option<u64> {
    unsigned(value)
}

/// A reference to another DIE, as a `.debug_info` offset.
fn reference(value: AttributeValue<Slice<'_>>, header: &UnitHeader<Slice<'_>>) -> Option<usize> {
    match value {
        AttributeValue::UnitRef(o) => o.to_debug_info_offset(header).map(|o| o.0),
        AttributeValue::DebugInfoRef(DebugInfoOffset(o)) => Some(o),
        _ => None,
    }
}

/// DW_AT_location of a global: exactly `DW_OP_addr <8 bytes>`.
fn address(value: AttributeValue<Slice<'_>>) -> Option<u64> {
    let mut r = match value {
        AttributeValue::Exprloc(expr) => expr.0,
        AttributeValue::Block(block) => block,
        _ => return None,
    };
    if r.read_u8().ok()? != dw::DW_OP_addr.0 || r.len() != 8 {
        return None;
    }
    r.read_u64().ok()
}
