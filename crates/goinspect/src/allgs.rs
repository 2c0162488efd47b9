//! Addresses of `runtime.allgs` (the `[]*g` of every goroutine ever created) and
//! `runtime.allglen` (its length, published atomically) when the binary has no symbols for them
//! (stripped builds), read from the machine code of `runtime.allgadd`, which every Go version
//! 1.19–1.27 compiles from
//!
//! ```go
//! allgs = append(allgs, gp)                               // MOVQ runtime.allgs+8(SB), … / +16 / +0
//! atomic.Storeuintptr(&allglen, uintptr(len(allgs)))      // MOVQ runtime.allgs+8(SB), CX
//!                                                         // LEAQ runtime.allglen(SB), DX
//!                                                         // XCHGQ CX, 0(DX)
//! ```
//!
//! The store of `len(allgs)` is an `XCHG` through a register loaded by a RIP-relative `LEA`
//! (allglen) whose value was loaded from a RIP-relative `MOV` (allgs' len word, so allgs is 8
//! bytes before). The other `XCHG` of the function (`allgptr`) stores `allgs`' pointer word, so
//! a candidate is accepted only when the function also touches the slice's pointer and capacity
//! words (`allgs+0`, `allgs+16`): only the len store has both neighbours.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};

use crate::elf::ElfImage;
use crate::pclntab::Pclntab;

/// The slice of every g.
pub const ALLGS_VARIABLE: &str = "runtime.allgs";
/// Its length, stored atomically after each append.
pub const ALLGLEN_VARIABLE: &str = "runtime.allglen";
/// The function whose code names both.
pub const ANCHOR_FUNCTION: &str = "runtime.allgadd";
/// How far back from the `XCHG` its address and value may have been loaded.
const LOOKBACK: usize = 6;

/// Link-time addresses (before load bias) of the two globals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllgsGlobals {
    pub allgs: u64,
    pub allglen: u64,
}

/// Finds both globals from the code of [`ANCHOR_FUNCTION`]. None when the function or the
/// pattern is missing, or when the addresses are not in a writable segment.
pub fn from_code(elf: &ElfImage, pcln: &Pclntab) -> Option<AllgsGlobals> {
    let func = pcln.find_func(ANCHOR_FUNCTION)?;
    let code = elf.bytes_at(func.entry, func.end.checked_sub(func.entry)?)?;
    let found = find_in_code(code, func.entry)?;
    let writable = |addr: u64, len: u64| {
        elf.segments().iter().any(|s| {
            s.writable && addr >= s.vaddr && addr.saturating_add(len) - s.vaddr <= s.mem_size
        })
    };
    (writable(found.allgs, 24) && writable(found.allglen, 8)).then_some(found)
}

/// The pattern search on one function's code (at virtual address `entry`).
pub fn find_in_code(code: &[u8], entry: u64) -> Option<AllgsGlobals> {
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
    let touched = |a: u64| rip_targets.contains(&a);

    // The allglen store comes last; look from the end.
    for (idx, xchg) in insns.iter().enumerate().rev() {
        let Some((base, value)) = xchg_through_register(xchg) else {
            continue;
        };
        let before = &insns[idx.saturating_sub(LOOKBACK)..idx];
        let Some(allglen) = last_rip_load(before, base, Mnemonic::Lea) else {
            continue;
        };
        let Some(len_word) = last_rip_load(before, value, Mnemonic::Mov) else {
            continue;
        };
        let Some(allgs) = len_word.checked_sub(8) else {
            continue;
        };
        if touched(allgs) && touched(allgs + 16) && allglen != len_word {
            return Some(AllgsGlobals { allgs, allglen });
        }
    }
    None
}

/// `xchg [base], value` (either operand order) with 64-bit registers: (base, value).
fn xchg_through_register(i: &Instruction) -> Option<(Register, Register)> {
    if i.mnemonic() != Mnemonic::Xchg || i.op_count() != 2 {
        return None;
    }
    let value = match (i.op0_kind(), i.op1_kind()) {
        (OpKind::Memory, OpKind::Register) => i.op1_register(),
        (OpKind::Register, OpKind::Memory) => i.op0_register(),
        _ => return None,
    };
    let base = i.memory_base();
    (base.is_gpr64()
        && value.is_gpr64()
        && i.memory_index() == Register::None
        && i.memory_displacement64() == 0)
        .then_some((base, value))
}

/// The address of the last `mnemonic reg, [rip+X]` in `insns` that writes `reg`, provided no
/// later instruction overwrites it.
fn last_rip_load(insns: &[Instruction], reg: Register, mnemonic: Mnemonic) -> Option<u64> {
    for i in insns.iter().rev() {
        let writes = i.op_count() > 0
            && i.op0_kind() == OpKind::Register
            && i.op0_register().full_register() == reg.full_register();
        if !writes {
            continue;
        }
        return (i.mnemonic() == mnemonic
            && i.op1_kind() == OpKind::Memory
            && i.is_ip_rel_memory_operand())
        .then(|| i.ip_rel_memory_address());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Modelled on Go 1.27.3's allgadd (`go tool objdump`; allgs at 0x577080, allglen at
    /// 0x5973a0, allgptr at 0x576df0).
    fn sample(with_slice_words: bool) -> (Vec<u8>, u64) {
        let entry = 0x448800u64;
        let mut code: Vec<u8> = Vec::new();
        let rel = |at: u64, len: u64, target: u64| ((target as i64) - (at + len) as i64) as i32;
        let rip = |code: &mut Vec<u8>, prefix: &[u8], target: u64| {
            let at = entry + code.len() as u64;
            code.extend(prefix);
            code.extend(rel(at, prefix.len() as u64 + 4, target).to_le_bytes());
        };
        if with_slice_words {
            rip(&mut code, &[0x48, 0x8b, 0x0d], 0x577080 + 16); // mov rcx,[allgs+16]
            rip(&mut code, &[0x48, 0x8b, 0x05], 0x577080); // mov rax,[allgs]
        }
        // allgptr store: mov rbx,[allgs]; lea rcx,[allgptr]; xchg [rcx],rbx
        rip(&mut code, &[0x48, 0x8b, 0x1d], 0x577080);
        rip(&mut code, &[0x48, 0x8d, 0x0d], 0x576df0);
        code.extend([0x48, 0x87, 0x19]);
        // allglen store: mov rcx,[allgs+8]; lea rdx,[allglen]; xchg [rdx],rcx
        rip(&mut code, &[0x48, 0x8b, 0x0d], 0x577080 + 8);
        rip(&mut code, &[0x48, 0x8d, 0x15], 0x5973a0);
        code.extend([0x48, 0x87, 0x0a]);
        code.push(0xc3);
        (code, entry)
    }

    #[test]
    fn finds_the_len_store_and_its_slice() {
        let (code, entry) = sample(true);
        assert_eq!(
            find_in_code(&code, entry),
            Some(AllgsGlobals {
                allgs: 0x577080,
                allglen: 0x5973a0
            })
        );
    }

    #[test]
    fn refuses_an_xchg_without_the_slice_around_it() {
        // Without the pointer and capacity words, the len store alone is not trusted (and the
        // allgptr store never matches: its value is the slice's first word).
        let (code, entry) = sample(false);
        let found = find_in_code(&code, entry);
        assert_eq!(found, None);
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..96 {
            let code: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = find_in_code(&code, u64::MAX - 16);
        }
    }
}
