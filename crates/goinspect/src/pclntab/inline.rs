//! Counting inlined copies of functions from the pclntab's inline trees.
//!
//! A function with inlined calls has FUNCDATA_InlTree (funcdata 3): an array of `inlinedCall`
//! at moduledata.gofunc + offset, and PCDATA_InlTreeIndex (pcdata 2): for each pc, the index of
//! the innermost inlined call it belongs to (-1 outside any). Every array entry is one inlined
//! call site (one copy of the callee's body). The array's length is not recorded; the linker
//! (cmd/internal/obj/pcln.go, `pcinlineState.addBranch`) appends a call's parents before the
//! call itself and only calls that some pc maps to, so the largest index in PCDATA_InlTreeIndex
//! is the last entry. `inlinedCall` (runtime/symtab.go ≤1.19, runtime/symtabinl.go 1.20+):
//!   Go 1.18–1.19: parent i16, funcID u8, pad u8, file i32, line i32, func_ i32, parentPc i32
//!   Go 1.20+:     funcID u8, pad [3]u8, nameOff i32, parentPc i32, startLine i32
//! where func_/nameOff is the callee's name offset in funcnametab.

use std::collections::HashMap;

use super::{Format, PcValues, Pclntab};

const PCDATA_INL_TREE_INDEX: u32 = 2;
const FUNCDATA_INL_TREE: u8 = 3;

/// (entry size, offset of the callee name offset) of `inlinedCall`.
fn entry_layout(format: Format) -> (usize, usize) {
    match format {
        Format::Go118 => (20, 12),
        Format::Go120 => (16, 4),
    }
}

/// Callee name → number of inline-tree entries naming it, over every function.
pub fn count_inlined_calls(tab: &Pclntab, gofunc: u64) -> HashMap<String, u32> {
    let (size, name_at) = entry_layout(tab.format);
    let mut counts: HashMap<&[u8], u32> = HashMap::new();
    for i in 0..tab.nfunc {
        let Some(f) = tab.func_off(i) else { continue };
        let Some(tree_off) = tab.funcdata(f, FUNCDATA_INL_TREE) else {
            continue;
        };
        let index_table = tab.pcdata(f, PCDATA_INL_TREE_INDEX);
        let Some(table) = (index_table != 0)
            .then(|| tab.pctab.get(index_table as usize..))
            .flatten()
        else {
            continue;
        };
        let (entry, end) = (tab.entry(i), tab.entry(i + 1));
        let max_index = PcValues::new(table, entry, tab.quantum)
            // A damaged table could run on; the function's own pcs are all that matter.
            .take_while(|&(pc, _)| pc <= end)
            .map(|(_, v)| v)
            .max()
            .unwrap_or(-1);
        let Some(Ok(n)) = max_index.checked_add(1).map(usize::try_from) else {
            continue;
        };
        let Some(tree) = gofunc
            .checked_add(u64::from(tree_off))
            .and_then(|a| tab.bytes_at(a, n.checked_mul(size)?))
        else {
            continue; // tree outside the file: damaged, count nothing for this function
        };
        for e in tree.chunks_exact(size) {
            let Some(b) = e.get(name_at..name_at + 4) else {
                continue;
            };
            let nameoff = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if let Some(name) = tab.name_at(nameoff) {
                *counts.entry(name).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v))
        .collect()
}
