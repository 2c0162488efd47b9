//! Which runtime structs, fields and constants goroscope needs, and how a layout is chosen:
//! DWARF when present, else the per-version table, else (only if forced) the nearest table.
//!
//! The field list is the contract with the tracer: a field marked `required` is in every Go
//! version goroscope supports (1.19, 1.21–1.27, see /work/shared/reference/go-runtime-internals.md),
//! so a layout without it means damaged input, not a new Go version, and is refused rather than
//! silently read as offset 0.

use crate::allgs;
use crate::dwarf::DwarfFacts;
use crate::elf::ElfImage;
use crate::error::{Error, Result};
use crate::globals;
use crate::model::{NamedValue, RuntimeLayout};
use crate::pclntab::Pclntab;
use crate::tables;
use crate::version::GoVersion;

/// One struct field goroscope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The Go field name, e.g. "atomicstatus".
    pub name: &'static str,
    /// Present in every supported Go version: its absence means the layout is damaged.
    pub required: bool,
}

/// One runtime struct and the fields of it goroscope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StructSpec {
    /// The DWARF type name, e.g. "runtime.g".
    pub name: &'static str,
    /// In every supported Go version (else, like an optional field, only where it exists).
    pub required: bool,
    pub fields: &'static [FieldSpec],
}

const fn req(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        required: true,
    }
}

const fn opt(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        required: false,
    }
}

/// Everything goroscope reads from runtime structs. Optional fields and the versions that have
/// them: g.parentGoid (1.21+), g.syscallbp (1.23+), schedt.runqsize (≤1.24; from 1.25 the global
/// run queue length is gQueue.size, 1.25+). m.oldp/m.nextp exist in every supported version but
/// are only nice-to-have, so a future Go without them still works. For the runtime's own
/// statistics (procstat's `runtime_stats`): schedt.totalMutexWaitTime (1.21+),
/// schedt.totalRuntimeLockWaitTime, the four schedt.stw* histograms, m.mLockProfile and the
/// mLockProfile struct (1.22+), timeHistogram.overflow (1.20+).
pub const STRUCTS: &[StructSpec] = &[
    StructSpec {
        name: "runtime.g",
        required: true,
        fields: &[
            req("stackguard0"),
            req("m"),
            req("sched"),
            req("syscallsp"),
            req("syscallpc"),
            opt("syscallbp"),
            req("atomicstatus"),
            req("goid"),
            req("waitreason"),
            req("preempt"),
            req("lockedm"),
            opt("parentGoid"),
            req("gopc"),
            req("startpc"),
            req("stack"),
            req("waitsince"),
        ],
    },
    StructSpec {
        name: "runtime.m",
        required: true,
        fields: &[
            req("g0"),
            req("procid"),
            req("curg"),
            req("p"),
            opt("nextp"),
            opt("oldp"),
            opt("syscalltick"),
            req("id"),
            req("spinning"),
            req("lockedg"),
            req("lockedExt"),
            req("lockedInt"),
            opt("alllink"),
            opt("mLockProfile"),
        ],
    },
    StructSpec {
        name: "runtime.p",
        required: true,
        fields: &[
            req("id"),
            req("status"),
            req("m"),
            req("schedtick"),
            req("syscalltick"),
            req("runqhead"),
            req("runqtail"),
            req("runq"),
            req("runnext"),
        ],
    },
    StructSpec {
        name: "runtime.schedt",
        required: true,
        fields: &[
            req("goidgen"),
            req("midle"),
            req("nmidle"),
            req("nmidlelocked"),
            req("mnext"),
            req("nmsys"),
            req("ngsys"),
            req("pidle"),
            req("npidle"),
            req("nmspinning"),
            req("runq"),
            opt("runqsize"),
            req("gcwaiting"),
            req("stopwait"),
            req("nmfreed"),
            req("timeToRun"),
            opt("totalMutexWaitTime"),
            opt("totalRuntimeLockWaitTime"),
            opt("stwStoppingTimeGC"),
            opt("stwStoppingTimeOther"),
            opt("stwTotalTimeGC"),
            opt("stwTotalTimeOther"),
        ],
    },
    StructSpec {
        name: "runtime.gobuf",
        required: true,
        fields: &[req("sp"), req("pc"), req("g"), req("bp")],
    },
    StructSpec {
        name: "runtime.stack",
        required: true,
        fields: &[req("lo"), req("hi")],
    },
    StructSpec {
        name: "runtime.gQueue",
        required: true,
        fields: &[req("head"), req("tail"), opt("size")],
    },
    StructSpec {
        name: "runtime.timeHistogram",
        required: true,
        fields: &[req("counts"), req("underflow"), opt("overflow")],
    },
    StructSpec {
        name: "runtime.mstats",
        required: true,
        // numgc is what goroscope reads; the others are the fields `gcMarkTermination` writes
        // beside it, by which `globals.rs` finds `runtime.memstats` in stripped binaries.
        fields: &[
            req("numgc"),
            req("numforcedgc"),
            req("pause_ns"),
            req("pause_end"),
            req("pause_total_ns"),
            req("last_gc_unix"),
            req("last_gc_nanotime"),
        ],
    },
    StructSpec {
        name: "runtime.mLockProfile",
        required: false,
        fields: &[req("waitTime")],
    },
];

/// The prefix of the constants that shape a `timeHistogram` (`timeHistSubBucketBits`, ...;
/// which ones exist depends on the version): kept in `Constants::time_histogram`.
pub const TIME_HISTOGRAM_CONSTANT_PREFIX: &str = "runtime.timeHist";

/// G statuses present in every supported version (1.26 added `_Gleaked`, `_Gdeadextra`).
pub const REQUIRED_G_STATUS: &[&str] = &[
    "_Gidle",
    "_Grunnable",
    "_Grunning",
    "_Gsyscall",
    "_Gwaiting",
    "_Gdead",
    "_Gcopystack",
    "_Gpreempted",
    "_Gscan",
];

/// P statuses present in every supported version (`_Psyscall` became `_Psyscall_unused` in 1.26).
pub const REQUIRED_P_STATUS: &[&str] = &["_Pidle", "_Prunning", "_Pgcstop", "_Pdead"];

/// The scheduler's global `sched` variable; its address is per binary, so never in a table.
pub const SCHED_VARIABLE: &str = "runtime.sched";
/// The memory statistics (`runtime.mstats`), whose `numgc` counts completed GC cycles.
pub const MEMSTATS_VARIABLE: &str = "runtime.memstats";
/// The head of the list of every M (`m.alllink` links them).
pub const ALLM_VARIABLE: &str = "runtime.allm";

/// The spec of a struct goroscope reads, by DWARF name.
pub fn struct_spec(name: &str) -> Option<&'static StructSpec> {
    STRUCTS.iter().find(|s| s.name == name)
}

/// Checks that a layout has every struct, field and constant that all supported versions have.
/// `origin` names where the layout came from, for the error message.
pub fn validate(layout: &RuntimeLayout, origin: &str) -> Result<()> {
    let what = "runtime layout";
    let mut missing = Vec::new();
    for spec in STRUCTS {
        let Some(found) = layout.structs.get(spec.name) else {
            if spec.required {
                missing.push(format!("struct {}", spec.name));
            }
            continue;
        };
        if found.size == 0 {
            missing.push(format!("size of {}", spec.name));
        }
        for field in spec.fields.iter().filter(|f| f.required) {
            if !found.fields.contains_key(field.name) {
                missing.push(format!("{}.{}", spec.name, field.name));
            }
        }
    }
    let c = &layout.constants;
    for name in REQUIRED_G_STATUS {
        if !c.g_status.contains_key(*name) {
            missing.push(format!("constant runtime.{name}"));
        }
    }
    for name in REQUIRED_P_STATUS {
        if !c.p_status.contains_key(*name) {
            missing.push(format!("constant runtime.{name}"));
        }
    }
    if !c.time_histogram.contains_key("timeHistSubBucketBits") {
        missing.push("constant runtime.timeHistSubBucketBits".into());
    }
    if !c.wait_reasons.iter().any(|w| w.name == "Zero") {
        missing.push("constant runtime.waitReasonZero".into());
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::malformed(
            what,
            format!(
                "{origin} lacks what every supported Go version has: {}",
                missing.join(", ")
            ),
        ))
    }
}

/// Picks the layout for a binary.
pub fn resolve(
    dwarf: Option<&DwarfFacts>,
    version: &GoVersion,
    force_nearest: bool,
) -> Result<RuntimeLayout> {
    if let Some(facts) = dwarf {
        let mut layout = facts.layout.clone();
        if !facts.wait_reason_strings_found {
            fill_strings(&mut layout.constants.wait_reasons, version, |t| {
                &t.layout.constants.wait_reasons
            });
        }
        if !facts.stw_reason_strings_found {
            fill_strings(&mut layout.constants.stw_reasons, version, |t| {
                &t.layout.constants.stw_reasons
            });
        }
        validate(&layout, "the binary's DWARF")?;
        return Ok(layout);
    }
    if let Some(table) = tables::get(&version.minor_key()) {
        return Ok(table.layout.clone());
    }
    if force_nearest {
        if let Some(table) = tables::nearest(version) {
            let mut layout = table.layout.clone();
            layout.source = format!(
                "table:go{} (nearest to go{}, forced)",
                table.minor,
                version.minor_key()
            );
            return Ok(layout);
        }
    }
    Err(Error::UnsupportedGoVersion {
        version: version.raw.clone(),
        known: tables::known_versions_text(),
    })
}

/// Fills the printable strings of wait/STW reasons the binary's DWARF named but whose string array
/// could not be read, from the table of the same Go version (or the nearest one): matched by
/// constant name, since values move between versions but names keep their meaning.
fn fill_strings(
    reasons: &mut [NamedValue],
    version: &GoVersion,
    pick: impl Fn(&tables::Table) -> &Vec<NamedValue>,
) {
    let Some(table) = tables::get(&version.minor_key()).or_else(|| tables::nearest(version)) else {
        return;
    };
    let known = pick(table);
    for reason in reasons.iter_mut() {
        if let Some(k) = known.iter().find(|k| k.name == reason.name) {
            reason.string = k.string.clone();
        }
    }
}

/// Address of `runtime.sched` (before load bias): from DWARF, else from `.symtab`. None when the
/// binary is stripped; goroscope then finds the scheduler through a P or M instead.
pub fn sched_address(elf: &ElfImage, dwarf: Option<&DwarfFacts>) -> Option<u64> {
    dwarf
        .and_then(|d| d.sched_address)
        .or_else(|| elf.symbol_address(SCHED_VARIABLE))
}

/// Fills `layout.sched_address` and `layout.gomaxprocs_address`: symbols first (DWARF,
/// `.symtab`), else the code of `runtime.stopTheWorldWithSema` (`globals.rs`), which also works
/// in stripped binaries; `memstats_address` the same way (from `runtime.gcMarkTermination`),
/// `allm_address` from symbols only, and `allgs_address`/`allglen_address` through
/// `fill_allgs_addresses`. Where both exist they are compared, and a disagreement is a warning
/// (the symbol wins): it would mean the code pattern no longer matches this Go version.
pub fn fill_global_addresses(
    layout: &mut RuntimeLayout,
    elf: &ElfImage,
    pcln: &Pclntab,
    dwarf: Option<&DwarfFacts>,
    warnings: &mut Vec<String>,
) {
    let from_code = globals::from_code(elf, pcln, layout);
    let from_symbols = [
        (SCHED_VARIABLE, sched_address(elf, dwarf)),
        (
            globals::GOMAXPROCS_VARIABLE,
            elf.symbol_address(globals::GOMAXPROCS_VARIABLE),
        ),
    ];
    let from_code = [from_code.map(|g| g.sched), from_code.map(|g| g.gomaxprocs)];
    let mut chosen = [None, None];
    for (i, ((name, symbol), code)) in from_symbols.into_iter().zip(from_code).enumerate() {
        if let (Some(s), Some(c)) = (symbol, code) {
            if s != c {
                warnings.push(format!(
                    "{name}: the symbol says {s:#x} but the code of {} says {c:#x}; using the \
                     symbol",
                    globals::ANCHOR_FUNCTION
                ));
            }
        }
        chosen[i] = symbol.or(code);
    }
    layout.sched_address = chosen[0];
    layout.gomaxprocs_address = chosen[1];

    let memstats_symbol = dwarf
        .and_then(|d| d.memstats_address)
        .or_else(|| elf.symbol_address(MEMSTATS_VARIABLE));
    let memstats_code = globals::memstats_from_code(elf, pcln, layout);
    if let (Some(s), Some(c)) = (memstats_symbol, memstats_code) {
        if s != c {
            warnings.push(format!(
                "{MEMSTATS_VARIABLE}: the symbol says {s:#x} but the code of {} says {c:#x}; \
                 using the symbol",
                globals::MEMSTATS_ANCHOR_FUNCTION
            ));
        }
    }
    layout.memstats_address = memstats_symbol.or(memstats_code);
    layout.allm_address = dwarf
        .and_then(|d| d.allm_address)
        .or_else(|| elf.symbol_address(ALLM_VARIABLE));
    fill_allgs_addresses(layout, elf, pcln, dwarf, warnings);
}

/// Fills `layout.allgs_address` and `layout.allglen_address` the same way: symbols (DWARF,
/// `.symtab`) first, else the code of `runtime.allgadd` (`allgs.rs`), compared where both exist.
fn fill_allgs_addresses(
    layout: &mut RuntimeLayout,
    elf: &ElfImage,
    pcln: &Pclntab,
    dwarf: Option<&DwarfFacts>,
    warnings: &mut Vec<String>,
) {
    let from_code = allgs::from_code(elf, pcln);
    let symbol =
        |name: &str, from_dwarf: Option<u64>| from_dwarf.or_else(|| elf.symbol_address(name));
    let pairs = [
        (
            allgs::ALLGS_VARIABLE,
            symbol(allgs::ALLGS_VARIABLE, dwarf.and_then(|d| d.allgs_address)),
            from_code.map(|g| g.allgs),
        ),
        (
            allgs::ALLGLEN_VARIABLE,
            symbol(
                allgs::ALLGLEN_VARIABLE,
                dwarf.and_then(|d| d.allglen_address),
            ),
            from_code.map(|g| g.allglen),
        ),
    ];
    let mut chosen = [None, None];
    for (i, (name, symbol, code)) in pairs.into_iter().enumerate() {
        if let (Some(s), Some(c)) = (symbol, code) {
            if s != c {
                warnings.push(format!(
                    "{name}: the symbol says {s:#x} but the code of {} says {c:#x}; using the \
                     symbol",
                    allgs::ANCHOR_FUNCTION
                ));
            }
        }
        chosen[i] = symbol.or(code);
    }
    layout.allgs_address = chosen[0];
    layout.allglen_address = chosen[1];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_names_are_unique() {
        for (i, s) in STRUCTS.iter().enumerate() {
            assert!(
                STRUCTS[i + 1..].iter().all(|o| o.name != s.name),
                "{}",
                s.name
            );
            for (j, f) in s.fields.iter().enumerate() {
                assert!(
                    s.fields[j + 1..].iter().all(|o| o.name != f.name),
                    "{}.{}",
                    s.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn empty_layout_is_malformed_and_names_what_is_missing() {
        let layout = RuntimeLayout {
            sched_address: None,
            gomaxprocs_address: None,
            memstats_address: None,
            allm_address: None,
            allgs_address: None,
            allglen_address: None,
            source: "dwarf".into(),
            structs: Default::default(),
            constants: Default::default(),
        };
        let err = validate(&layout, "test").unwrap_err().to_string();
        assert!(err.contains("struct runtime.g"), "{err}");
        assert!(err.contains("runtime._Grunning"), "{err}");
    }
}
