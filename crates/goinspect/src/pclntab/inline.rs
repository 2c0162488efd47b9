//! Inline trees of the pclntab: counting inlined copies of functions, and the chain of inlined
//! calls a pc lies in (what the runtime's traceback shows as inlined frames).
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

/// (entry size, offset of the parent index, offset of the parent pc) of `inlinedCall`: Go
/// 1.18–1.19 store the parent's index; from 1.20 only `parentPc` (offset from the function's
/// entry of an instruction at the call site), whose own PCDATA_InlTreeIndex is the parent.
fn parent_layout(format: Format) -> (Option<usize>, usize) {
    match format {
        Format::Go118 => (Some(0), 16),
        Format::Go120 => (None, 8),
    }
}

/// One inlined call a pc lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinedCall {
    /// The inlined function.
    pub function: String,
    /// A pc of the call site in the function it is inlined into (whose line is the call's).
    pub call_pc: u64,
}

/// The inlined calls `pc` (in function `i`) lies in, innermost first; empty outside any (or
/// when the tree is unreadable). At most 64 levels, against damaged trees.
pub fn inlined_at(tab: &Pclntab, gofunc: u64, i: usize, pc: u64) -> Vec<InlinedCall> {
    let (size, name_at) = entry_layout(tab.format);
    let (parent_index_at, parent_pc_at) = parent_layout(tab.format);
    let mut out = Vec::new();
    let Some(f) = tab.func_off(i) else {
        return out;
    };
    let (Some(tree_off), index_table) = (
        tab.funcdata(f, FUNCDATA_INL_TREE),
        tab.pcdata(f, PCDATA_INL_TREE_INDEX),
    ) else {
        return out;
    };
    let Some(table) = (index_table != 0)
        .then(|| tab.pctab.get(index_table as usize..))
        .flatten()
    else {
        return out;
    };
    let entry = tab.entry(i);
    let index_at = |pc: u64| PcValues::new(table, entry, tab.quantum).value_at(pc);
    let field = |e: &[u8], at: usize| e.get(at..at + 4).map(|b| [b[0], b[1], b[2], b[3]]);
    let mut index = index_at(pc).unwrap_or(-1);
    while let Ok(idx) = usize::try_from(index) {
        if out.len() >= 64 {
            break;
        }
        let Some(e) = idx
            .checked_mul(size)
            .and_then(|off| {
                gofunc
                    .checked_add(u64::from(tree_off))?
                    .checked_add(off as u64)
            })
            .and_then(|a| tab.bytes_at(a, size))
        else {
            break;
        };
        let Some(name) = field(e, name_at)
            .map(u32::from_le_bytes)
            .and_then(|off| tab.name_at(off))
        else {
            break;
        };
        let call_pc = field(e, parent_pc_at)
            .map(i32::from_le_bytes)
            .and_then(|off| u64::try_from(off).ok())
            .and_then(|off| entry.checked_add(off));
        out.push(InlinedCall {
            function: String::from_utf8_lossy(name).into_owned(),
            call_pc: call_pc.unwrap_or(entry),
        });
        index = match parent_index_at {
            Some(at) => e
                .get(at..at + 2)
                .map_or(-1, |b| i32::from(i16::from_le_bytes([b[0], b[1]]))),
            None => call_pc.and_then(index_at).unwrap_or(-1),
        };
    }
    out
}

/// The outermost inlined call of the first pc of function `i` that lies in one, and that pc: for
/// a compiler-generated wrapper whose whole body is one inlined call, the function it calls.
pub fn first_inlined_call(tab: &Pclntab, gofunc: u64, i: usize) -> Option<(String, u64)> {
    let f = tab.func_off(i)?;
    let index_table = tab.pcdata(f, PCDATA_INL_TREE_INDEX);
    let table = (index_table != 0)
        .then(|| tab.pctab.get(index_table as usize..))
        .flatten()?;
    let (entry, end) = (tab.entry(i), tab.entry(i + 1));
    let mut start = entry;
    for (pc_end, value) in PcValues::new(table, entry, tab.quantum) {
        if start >= end {
            break;
        }
        if value >= 0 {
            return inlined_at(tab, gofunc, i, start)
                .pop()
                .map(|call| (call.function, start));
        }
        start = pc_end;
    }
    None
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
