//! Addresses of the runtime globals `runtime.sched` and `runtime.gomaxprocs` when the binary has
//! no symbols for them (stripped builds), read from the machine code of
//! `runtime.stopTheWorldWithSema`, which every Go version 1.19–1.27 compiles from
//!
//! ```go
//! lock(&sched.lock)
//! sched.stopwait = gomaxprocs        // MOVL runtime.gomaxprocs(SB), R ; MOVL R, runtime.sched+stopwait(SB)
//! ```
//!
//! Go's linker addresses globals RIP-relatively with the field offset folded into the
//! displacement, so that load/store pair gives `gomaxprocs` directly and `sched` once the layout's
//! `schedt.stopwait` offset (DWARF or the per-version table) is subtracted. The function is large,
//! so never inlined away, and its name survives stripping in `.gopclntab`. A candidate is accepted
//! only when another RIP-relative reference of the function lands inside the
//! `schedt` it implies (the `lea` of `&sched.lock` before it), so an unrelated int32 copy cannot be
//! mistaken for it.
//!
//! `runtime.memstats` is found from `runtime.gcMarkTermination`, which writes several of its
//! fields in every version (`memstats.pause_ns[memstats.numgc%len] = …`, `pause_end`,
//! `pause_total_ns`, `last_gc_unix`, `last_gc_nanotime`): each RIP-relative address in the
//! function, minus each of those fields' offsets, votes for a base, and the base that at least
//! [`MIN_FIELD_VOTES`] different fields agree on is the global.

use iced_x86::{Decoder, DecoderOptions, Instruction, MemorySize, Mnemonic, OpKind, Register};

use crate::elf::ElfImage;
use crate::model::RuntimeLayout;
use crate::pclntab::Pclntab;

/// The `gomaxprocs` global (an int32: the current GOMAXPROCS).
pub const GOMAXPROCS_VARIABLE: &str = "runtime.gomaxprocs";
/// The function whose code names both globals.
pub const ANCHOR_FUNCTION: &str = "runtime.stopTheWorldWithSema";
/// How many instructions may sit between the load of `gomaxprocs` and its store into
/// `sched.stopwait` (1.27 puts one unrelated instruction there).
const STORE_WINDOW: usize = 6;

/// The function whose code names `runtime.memstats`' fields.
pub const MEMSTATS_ANCHOR_FUNCTION: &str = "runtime.gcMarkTermination";
/// The `runtime.mstats` fields written by [`MEMSTATS_ANCHOR_FUNCTION`].
const MEMSTATS_FIELDS: &[&str] = &[
    "numgc",
    "pause_ns",
    "pause_end",
    "pause_total_ns",
    "last_gc_unix",
    "last_gc_nanotime",
];
/// How many different fields must agree on a struct's base: one could be a coincidence.
pub const MIN_FIELD_VOTES: usize = 3;

/// Link-time addresses (before load bias) of the scheduler globals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedGlobals {
    pub sched: u64,
    pub gomaxprocs: u64,
}

/// Finds both globals from the code of [`ANCHOR_FUNCTION`], using the layout's
/// `runtime.schedt` (size and `stopwait` offset). None when the function, the layout facts or the
/// pattern are missing, or when the addresses found are not in a writable segment.
pub fn from_code(elf: &ElfImage, pcln: &Pclntab, layout: &RuntimeLayout) -> Option<SchedGlobals> {
    let schedt = layout.structs.get("runtime.schedt")?;
    let stopwait = *schedt.fields.get("stopwait")?;
    let func = pcln.find_func(ANCHOR_FUNCTION)?;
    let code = elf.bytes_at(func.entry, func.end.checked_sub(func.entry)?)?;
    let found = find_in_code(code, func.entry, stopwait, schedt.size)?;
    let writable = |addr: u64| {
        elf.segments()
            .iter()
            .any(|s| s.writable && addr >= s.vaddr && addr - s.vaddr < s.mem_size)
    };
    (writable(found.sched) && writable(found.gomaxprocs)).then_some(found)
}

/// `runtime.memstats` from the code of [`MEMSTATS_ANCHOR_FUNCTION`] and the layout's
/// `runtime.mstats`; None when something is missing, the fields do not agree, or the address is
/// not writable.
pub fn memstats_from_code(elf: &ElfImage, pcln: &Pclntab, layout: &RuntimeLayout) -> Option<u64> {
    let mstats = layout.structs.get("runtime.mstats")?;
    let fields: Vec<u64> = MEMSTATS_FIELDS
        .iter()
        .filter_map(|f| mstats.fields.get(*f).copied())
        .collect();
    let func = pcln.find_func(MEMSTATS_ANCHOR_FUNCTION)?;
    let code = elf.bytes_at(func.entry, func.end.checked_sub(func.entry)?)?;
    let base = struct_base_by_votes(code, func.entry, &fields)?;
    let writable = elf
        .segments()
        .iter()
        .any(|s| s.writable && base >= s.vaddr && base - s.vaddr < s.mem_size);
    writable.then_some(base)
}

/// The base address of a global struct that `code` (at `entry`) addresses RIP-relatively at
/// several of the field offsets `fields`: the base that the most different fields agree on, if
/// at least [`MIN_FIELD_VOTES`] do and no other base has as many.
pub fn struct_base_by_votes(code: &[u8], entry: u64, fields: &[u64]) -> Option<u64> {
    let targets: std::collections::BTreeSet<u64> = decode(code, entry)
        .iter()
        .filter(|i| i.is_ip_rel_memory_operand())
        .map(|i| i.ip_rel_memory_address())
        .collect();
    // base → the fields (by index) voting for it.
    let mut votes: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
    for &a in &targets {
        for (k, &f) in fields.iter().enumerate().take(64) {
            if let Some(base) = a.checked_sub(f) {
                *votes.entry(base).or_default() |= 1 << k;
            }
        }
    }
    let mut best: Option<(u64, u32)> = None;
    let mut tied = false;
    for (base, mask) in votes {
        let n = mask.count_ones();
        match best {
            Some((_, m)) if n < m => {}
            Some((_, m)) if n == m => tied = true,
            _ => {
                best = Some((base, n));
                tied = false;
            }
        }
    }
    let (base, n) = best?;
    (n as usize >= MIN_FIELD_VOTES && !tied).then_some(base)
}

/// Every instruction of `code` up to the first that does not decode.
fn decode(code: &[u8], entry: u64) -> Vec<Instruction> {
    let mut decoder = Decoder::with_ip(64, code, entry, DecoderOptions::NONE);
    let mut insns = Vec::new();
    let mut insn = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut insn);
        if insn.is_invalid() {
            break;
        }
        insns.push(insn);
    }
    insns
}

/// The pattern search on one function's code (at virtual address `entry`), given
/// `schedt.stopwait`'s offset and `schedt`'s size.
pub fn find_in_code(
    code: &[u8],
    entry: u64,
    stopwait_offset: u64,
    schedt_size: u64,
) -> Option<SchedGlobals> {
    let insns = decode(code, entry);
    let rip_targets: Vec<u64> = insns
        .iter()
        .filter(|i| i.is_ip_rel_memory_operand())
        .map(|i| i.ip_rel_memory_address())
        .collect();

    for (idx, load) in insns.iter().enumerate() {
        let Some((reg, gomaxprocs)) = int32_global_load(load) else {
            continue;
        };
        for store in insns.iter().skip(idx + 1).take(STORE_WINDOW) {
            if let Some(target) = int32_global_store_of(store, reg) {
                let Some(sched) = target.checked_sub(stopwait_offset) else {
                    break;
                };
                if stopwait_offset >= schedt_size {
                    break;
                }
                let in_sched = |a: u64| a >= sched && a - sched < schedt_size;
                // Another reference into the same schedt (sched.lock, sched.stopwait--).
                let confirmed = rip_targets.iter().any(|&a| in_sched(a) && a != target);
                if confirmed && !in_sched(gomaxprocs) {
                    return Some(SchedGlobals { sched, gomaxprocs });
                }
                break;
            }
            if writes_register(store, reg) {
                break;
            }
        }
    }
    None
}

/// `mov r32, dword ptr [rip+X]`: the register and X.
fn int32_global_load(i: &Instruction) -> Option<(Register, u64)> {
    (i.mnemonic() == Mnemonic::Mov
        && i.op_count() == 2
        && i.op0_kind() == OpKind::Register
        && i.op0_register().is_gpr32()
        && i.op1_kind() == OpKind::Memory
        && i.is_ip_rel_memory_operand()
        && i.memory_size() == MemorySize::UInt32)
        .then(|| (i.op0_register(), i.ip_rel_memory_address()))
}

/// `mov dword ptr [rip+X], reg`: X.
fn int32_global_store_of(i: &Instruction, reg: Register) -> Option<u64> {
    (i.mnemonic() == Mnemonic::Mov
        && i.op_count() == 2
        && i.op0_kind() == OpKind::Memory
        && i.is_ip_rel_memory_operand()
        && i.op1_kind() == OpKind::Register
        && i.op1_register() == reg)
        .then(|| i.ip_rel_memory_address())
}

/// Whether `i` overwrites `reg` (or its 64-bit form), ending the load's value.
fn writes_register(i: &Instruction, reg: Register) -> bool {
    i.op_count() > 0
        && i.op0_kind() == OpKind::Register
        && i.op0_register().full_register() == reg.full_register()
        && !matches!(i.mnemonic(), Mnemonic::Cmp | Mnemonic::Test)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Modelled on Go 1.27.3's stopTheWorldWithSema (`go tool objdump`; sched at 0x578b60,
    /// stopwait at +268, gomaxprocs at 0x597200): `lea rax,[rip+sched+32]` (with `with_lock`);
    /// `call`; `mov ecx,[rip+gomaxprocs]`; `mov [rip+sched+268],ecx`.
    fn sample(with_lock: bool) -> (Vec<u8>, u64) {
        let entry = 0x44a82d;
        let mut code = Vec::new();
        let rel = |at: u64, len: u64, target: u64| ((target as i64) - (at + len) as i64) as i32;
        if with_lock {
            // lea rax,[rip+disp32]
            code.extend([0x48, 0x8d, 0x05]);
            code.extend(rel(entry, 7, 0x578b60 + 32).to_le_bytes());
        }
        // call rel32 (to itself: the target does not matter)
        code.extend([0xe8, 0xfb, 0xff, 0xff, 0xff]);
        // mov ecx,[rip+disp32]
        let at = entry + code.len() as u64;
        code.extend([0x8b, 0x0d]);
        code.extend(rel(at, 6, 0x597200).to_le_bytes());
        // mov [rip+disp32],ecx
        let at = entry + code.len() as u64;
        code.extend([0x89, 0x0d]);
        code.extend(rel(at, 6, 0x578b60 + 268).to_le_bytes());
        (code, entry)
    }

    #[test]
    fn finds_both_globals_in_the_load_store_pair() {
        let (code, entry) = sample(true);
        assert_eq!(
            find_in_code(&code, entry, 268, 6872),
            Some(SchedGlobals {
                sched: 0x578b60,
                gomaxprocs: 0x597200
            })
        );
    }

    #[test]
    fn refuses_a_pair_with_nothing_else_in_the_implied_schedt() {
        let (code, entry) = sample(false);
        assert_eq!(find_in_code(&code, entry, 268, 6872), None);
        let (code, entry) = sample(true);
        // stopwait must lie inside schedt, and cannot be beyond the store's target.
        assert_eq!(find_in_code(&code, entry, 268, 200), None);
        assert_eq!(find_in_code(&code, entry, u64::MAX, 6872), None);
    }

    /// `lea rcx,[rip+base+f]` for each field offset f, at 0x427000.
    fn leas(base: u64, fields: &[u64]) -> (Vec<u8>, u64) {
        let entry = 0x427000u64;
        let mut code = Vec::new();
        for &f in fields {
            let at = entry + code.len() as u64;
            code.extend([0x48, 0x8d, 0x0d]);
            code.extend((((base + f) as i64) - (at + 7) as i64).to_le_bytes()[..4].iter());
        }
        (code, entry)
    }

    #[test]
    fn a_struct_base_needs_three_fields_to_agree() {
        let (code, entry) = leas(0x598ee0, &[7680, 3584, 5632, 3576]);
        let fields = [7680, 3584, 5632, 3576, 3568, 7696];
        assert_eq!(struct_base_by_votes(&code, entry, &fields), Some(0x598ee0));
        let (code, entry) = leas(0x598ee0, &[7680, 3584]);
        assert_eq!(struct_base_by_votes(&code, entry, &fields), None);
        // Two unrelated bases with three fields each: ambiguous, refused.
        let (mut code, entry) = leas(0x598ee0, &[7680, 3584, 5632]);
        let (more, _) = leas(0x700000, &[7680, 3584, 5632]);
        code.extend(more);
        assert_eq!(struct_base_by_votes(&code, entry, &fields), None);
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..96 {
            let code: Vec<u8> = (0..len).map(|i| (i * 53 + 7) as u8).collect();
            let _ = find_in_code(&code, u64::MAX - 16, 8, 64);
            let _ = struct_base_by_votes(&code, u64::MAX - 16, &[0, 8, u64::MAX]);
        }
    }
}
