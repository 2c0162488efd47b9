//! Runtime struct layouts, constants and inlining facts from DWARF (gimli), when the binary has it.
//!
//! Sources: the DWARF 4/5 standards; Go's writer, cmd/link/internal/ld/dwarf.go (types and
//! globals) and cmd/compile/internal/dwarfgen (constants, inlined subroutines). Go compresses
//! DWARF sections (SHF_COMPRESSED, or `.zdebug_*` before Go 1.12); `object` decompresses them.
//! The pass itself is in `dwarf/scan.rs`; reason strings are read from data in `dwarf/strings.rs`.

mod scan;
mod strings;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use object::{Object, ObjectSection};

use crate::elf::ElfImage;
use crate::error::{Error, Result};
use crate::layout;
use crate::model::{Constants, NamedValue, RuntimeLayout, StructLayout};

/// What goroscope takes from DWARF.
#[derive(Debug, Clone)]
pub struct DwarfFacts {
    /// Source "dwarf"; reason strings empty where their array could not be read (see below).
    pub layout: RuntimeLayout,
    /// Function name (e.g. "runtime.goready") → number of DW_TAG_inlined_subroutine copies.
    pub inlined_counts: HashMap<String, u32>,
    /// Address of `runtime.sched` (before load bias), when DWARF describes it.
    pub sched_address: Option<u64>,
    /// Same for `runtime.memstats` and `runtime.allm`.
    pub memstats_address: Option<u64>,
    pub allm_address: Option<u64>,
    /// Addresses of `runtime.allgs` and `runtime.allglen` (before load bias), when DWARF
    /// describes them.
    pub allgs_address: Option<u64>,
    pub allglen_address: Option<u64>,
    /// Whether `runtime.waitReasonStrings` was found and read (else strings are empty and
    /// `layout::resolve` fills them from the version's table).
    pub wait_reason_strings_found: bool,
    /// Same for `runtime.stwReasonStrings` (Go 1.21+).
    pub stw_reason_strings_found: bool,
}

const WAIT_REASON_TYPE: &str = "runtime.waitReason";
const STW_REASON_TYPE: &str = "runtime.stwReason";
const WAIT_REASON_STRINGS: &str = "runtime.waitReasonStrings";
const STW_REASON_STRINGS: &str = "runtime.stwReasonStrings";

/// None when the binary has no DWARF.
pub fn read(elf: &ElfImage) -> Result<Option<DwarfFacts>> {
    let Some(info) = section(elf, ".debug_info")? else {
        return Ok(None);
    };
    let abbrev = section(elf, ".debug_abbrev")?
        .ok_or_else(|| Error::malformed("DWARF", ".debug_info without .debug_abbrev"))?;
    let str = section(elf, ".debug_str")?.unwrap_or(Cow::Borrowed(&[]));
    let line_str = section(elf, ".debug_line_str")?.unwrap_or(Cow::Borrowed(&[]));
    let sections = scan::Sections {
        info: &info,
        abbrev: &abbrev,
        str: &str,
        line_str: &line_str,
    };
    let struct_names: Vec<&str> = layout::STRUCTS.iter().map(|s| s.name).collect();
    let wanted = scan::Wanted {
        structs: &struct_names,
        variables: &[
            WAIT_REASON_STRINGS,
            STW_REASON_STRINGS,
            layout::SCHED_VARIABLE,
            layout::MEMSTATS_VARIABLE,
            layout::ALLM_VARIABLE,
            crate::allgs::ALLGS_VARIABLE,
            crate::allgs::ALLGLEN_VARIABLE,
        ],
        types: &[WAIT_REASON_TYPE, STW_REASON_TYPE],
    };
    let raw = scan::scan(&sections, &wanted)?;

    let structs = struct_layouts(&raw);
    let mut wait_reasons = reasons(&raw, WAIT_REASON_TYPE, Some("runtime.waitReason"));
    let mut stw_reasons = reasons(&raw, STW_REASON_TYPE, None);
    let wait_found = fill_reason_strings(elf, &raw, WAIT_REASON_STRINGS, &mut wait_reasons)?;
    let stw_found = fill_reason_strings(elf, &raw, STW_REASON_STRINGS, &mut stw_reasons)?;
    let constants = Constants {
        g_status: status_run(&raw, "runtime._Gidle", "runtime._G"),
        p_status: status_run(&raw, "runtime._Pidle", "runtime._P"),
        wait_reasons,
        stw_reasons,
        time_histogram: prefixed_constants(&raw, layout::TIME_HISTOGRAM_CONSTANT_PREFIX),
    };
    Ok(Some(DwarfFacts {
        layout: RuntimeLayout {
            sched_address: None,
            gomaxprocs_address: None,
            memstats_address: None,
            allm_address: None,
            allgs_address: None,
            allglen_address: None,
            source: "dwarf".into(),
            structs,
            constants,
        },
        inlined_counts: raw.inlined_counts.clone(),
        sched_address: raw.variables.get(layout::SCHED_VARIABLE).copied(),
        memstats_address: raw.variables.get(layout::MEMSTATS_VARIABLE).copied(),
        allm_address: raw.variables.get(layout::ALLM_VARIABLE).copied(),
        allgs_address: raw.variables.get(crate::allgs::ALLGS_VARIABLE).copied(),
        allglen_address: raw.variables.get(crate::allgs::ALLGLEN_VARIABLE).copied(),
        wait_reason_strings_found: wait_found,
        stw_reason_strings_found: stw_found,
    }))
}

/// A DWARF section's bytes, decompressed; None when absent.
fn section<'d>(elf: &ElfImage<'d>, name: &str) -> Result<Option<Cow<'d, [u8]>>> {
    let Some(s) = elf.object().section_by_name(name) else {
        return Ok(None);
    };
    s.uncompressed_data()
        .map(Some)
        .map_err(|e| Error::malformed("DWARF", format!("{name}: {e}")))
}

/// The wanted fields of each wanted struct that DWARF describes.
fn struct_layouts(raw: &scan::Scan) -> BTreeMap<String, StructLayout> {
    let mut out = BTreeMap::new();
    for spec in layout::STRUCTS {
        let Some(found) = raw.structs.get(spec.name) else {
            continue;
        };
        let mut fields = BTreeMap::new();
        for field in spec.fields {
            // Go structs can repeat only the blank name `_`, which goroscope never asks for.
            if let Some((_, offset)) = found.members.iter().find(|(n, _)| n == field.name) {
                fields.insert(field.name.to_string(), *offset);
            }
        }
        out.insert(
            spec.name.to_string(),
            StructLayout {
                size: found.size,
                fields,
            },
        );
    }
    out
}

/// G or P statuses: the run of consecutive constants that starts at `_Gidle`/`_Pidle` and keeps
/// the `_G`/`_P` prefix. Go writes a package's constants in declaration order, and the statuses
/// are one `const ( … iota … )` block in runtime2.go; going by prefix alone would also catch
/// `_GCoff`, `_GoidCacheBatch`, `_PageSize`, `_PT_LOAD`.
fn status_run(raw: &scan::Scan, first: &str, prefix: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let Some(start) = raw.constants.iter().position(|c| c.name == first) else {
        return out;
    };
    for c in raw.constants[start..]
        .iter()
        .take_while(|c| c.name.starts_with(prefix))
    {
        if let Some(v) = c.value {
            out.insert(c.name["runtime.".len()..].to_string(), v);
        }
    }
    out
}

/// Constants named `prefix…` with a value, by name without "runtime.".
fn prefixed_constants(raw: &scan::Scan, prefix: &str) -> BTreeMap<String, u64> {
    raw.constants
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .filter_map(|c| Some((c.name["runtime.".len()..].to_string(), c.value?)))
        .collect()
}

/// Constants of a reason type, sorted by value, named without their prefix ("waitReason",
/// "stw"). Found by type; `fallback_prefix` is used when the type DIE is missing.
fn reasons(raw: &scan::Scan, type_name: &str, fallback_prefix: Option<&str>) -> Vec<NamedValue> {
    let type_offset = raw.types.get(type_name).copied();
    let strip = match type_name {
        WAIT_REASON_TYPE => "runtime.waitReason",
        _ => "runtime.stw",
    };
    let mut out: Vec<NamedValue> = Vec::new();
    for c in &raw.constants {
        let matches = match (type_offset, fallback_prefix) {
            (Some(t), _) => c.type_offset == Some(t),
            (None, Some(prefix)) => c.name.starts_with(prefix),
            (None, None) => false,
        };
        let (true, Some(value)) = (matches, c.value) else {
            continue;
        };
        // An alias of an existing value (none so far) would break "indexed by value".
        if out.iter().any(|r| r.value == value) {
            continue;
        }
        out.push(NamedValue {
            value,
            name: c.name.strip_prefix(strip).unwrap_or(&c.name).to_string(),
            string: String::new(),
        });
    }
    out.sort_by_key(|r| r.value);
    out
}

/// Fills each reason's string from the binary's `[N]string` array. Returns whether the array was
/// found; a found array that cannot be read is Malformed.
fn fill_reason_strings(
    elf: &ElfImage,
    raw: &scan::Scan,
    variable: &'static str,
    reasons: &mut [NamedValue],
) -> Result<bool> {
    if reasons.is_empty() {
        return Ok(false);
    }
    let symbol = elf.symbols().find(|(name, _, _)| *name == variable);
    let Some(addr) = raw
        .variables
        .get(variable)
        .copied()
        .or_else(|| symbol.map(|(_, addr, _)| addr))
    else {
        return Ok(false);
    };
    let max_value = reasons.iter().map(|r| r.value).max().unwrap_or(0);
    // The array's own length when .symtab gives its size, else one string per value.
    let count = match symbol.map(|(_, _, size)| size) {
        Some(size) if size > 0 && size & 0xf == 0 => size / 16,
        _ => max_value.saturating_add(1),
    };
    let count = usize::try_from(count.min(max_value.saturating_add(1)))
        .map_err(|_| Error::malformed(variable, "too many elements"))?;
    let strings = strings::read_string_array(elf, variable, addr, count)?;
    for r in reasons.iter_mut() {
        if let Some(s) = usize::try_from(r.value).ok().and_then(|i| strings.get(i)) {
            r.string = s.clone();
        }
    }
    Ok(true)
}
