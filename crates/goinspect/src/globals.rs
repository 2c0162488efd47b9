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

/// The pattern search on one function's code (at virtual address `entry`), given
/// `schedt.stopwait`'s offset and `schedt`'s size.
pub fn find_in_code(
    code: &[u8],
    entry: u64,
    stopwait_offset: u64,
    schedt_size: u64,
) -> Option<SchedGlobals> {
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

    #[test]
    fn garbage_never_panics() {
        for len in 0..96 {
            let code: Vec<u8> = (0..len).map(|i| (i * 53 + 7) as u8).collect();
            let _ = find_in_code(&code, u64::MAX - 16, 8, 64);
        }
    }
}
