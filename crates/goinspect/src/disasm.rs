//! Machine-code facts a probe needs, decoded with iced-x86: where the stack-check prologue ends
//! (a uprobe placed there is ~19x cheaper than on the single-stepped `cmp`, keeps the argument
//! registers intact, and fires once per call even when the stack grows) and where every RET is
//! (exit probes without uretprobes, which crash Go programs when stacks move).
//!
//! Go's amd64 prologues (cmd/internal/obj/x86/obj6.go, stacksplit):
//!   small frame:  cmp rsp, [r14+0x10]            ; jbe morestack
//!   large frame:  lea r12, [rsp-N] ; cmp r12, [r14+0x10] ; jbe morestack
//!   huge frame:   mov r12, rsp ; sub r12, N ; jb morestack ; cmp r12, [r14+0x10] ; jbe morestack
//!   ABI0 asm:     mov rcx, fs:[-8] ; cmp rsp, [rcx+0x10] ; jbe morestack
//! The morestack call sits at the function's end and jumps back to the entry, so a probe after
//! the final `jbe` is reached exactly once per call.

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, IntelFormatter, Mnemonic, OpKind, Register,
};

/// What a function's code tells a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFacts {
    pub has_stack_check: bool,
    /// Offset from entry of the first instruction after the stack check (0 without one).
    pub safe_probe_offset: u64,
    /// That instruction in Intel syntax.
    pub safe_probe_instruction: String,
    /// The kernel emulates it (push reg, nop, relative jmp/call) instead of single-stepping.
    pub safe_probe_emulated: bool,
    /// Offsets from entry of every RET.
    pub ret_offsets: Vec<u64>,
    /// Every direct near CALL: (offset from entry, target address).
    pub calls: Vec<(u64, u64)>,
    /// Offsets of every instruction boundary (for tests and for validating a probe offset).
    pub instruction_count: usize,
}

/// How many leading instructions may belong to the stack check.
const PROLOGUE_WINDOW: usize = 8;
/// g.stackguard0 is at offset 16 in every supported Go version; g.stackguard1 at 24. The linker
/// checks stackguard1 instead in functions that may run on a C-created thread (`CFunc`, e.g.
/// `stopTheWorldWithSema` and `preemptPark` in Go 1.26+).
const STACKGUARD_OFFSETS: [u64; 2] = [0x10, 0x18];

/// Decodes `code` (the function's bytes, starting at virtual address `entry`).
pub fn analyze(code: &[u8], entry: u64) -> CodeFacts {
    let mut decoder = Decoder::with_ip(64, code, entry, DecoderOptions::NONE);
    let mut insns: Vec<Instruction> = Vec::new();
    let mut ret_offsets = Vec::new();
    let mut calls = Vec::new();
    let mut insn = Instruction::default();
    while decoder.can_decode() {
        decoder.decode_out(&mut insn);
        if insn.is_invalid() {
            break;
        }
        if insn.mnemonic() == Mnemonic::Ret {
            ret_offsets.push(insn.ip().wrapping_sub(entry));
        }
        if insn.mnemonic() == Mnemonic::Call && insn.op0_kind() == OpKind::NearBranch64 {
            calls.push((insn.ip().wrapping_sub(entry), insn.near_branch64()));
        }
        insns.push(insn);
    }

    let check_end = stack_check_end(&insns);
    let (safe_idx, has_stack_check) = match check_end {
        Some(i) => (i, true),
        None => (0, false),
    };
    let (safe_probe_offset, safe_probe_instruction, safe_probe_emulated) = match insns.get(safe_idx)
    {
        Some(i) => (
            i.ip().wrapping_sub(entry),
            format_insn(i),
            kernel_emulates(i),
        ),
        None => (0, String::new(), false),
    };
    CodeFacts {
        has_stack_check,
        safe_probe_offset,
        safe_probe_instruction,
        safe_probe_emulated,
        ret_offsets,
        calls,
        instruction_count: insns.len(),
    }
}

/// Index of the instruction after the prologue's final conditional jump, if the function starts
/// with a stack check against g.stackguard0.
fn stack_check_end(insns: &[Instruction]) -> Option<usize> {
    let window = &insns[..insns.len().min(PROLOGUE_WINDOW)];
    let cmp_idx = window.iter().position(is_stackguard_cmp)?;
    let jcc = insns.get(cmp_idx + 1)?;
    if !jcc.is_jcc_short_or_near() {
        return None;
    }
    Some(cmp_idx + 2)
}

/// `cmp rsp|r12, [reg+0x10|0x18]`: compares a stack pointer with g.stackguard0 or stackguard1.
fn is_stackguard_cmp(i: &Instruction) -> bool {
    i.mnemonic() == Mnemonic::Cmp
        && i.op_count() == 2
        && i.op0_kind() == OpKind::Register
        && matches!(i.op0_register(), Register::RSP | Register::R12)
        && i.op1_kind() == OpKind::Memory
        && STACKGUARD_OFFSETS.contains(&i.memory_displacement64())
        && i.memory_index() == Register::None
        && i.memory_base() != Register::None
}

/// Instructions the x86 uprobe code emulates rather than single-steps
/// (arch/x86/kernel/uprobes.c: branch_setup_xol_ops, push_setup_xol_ops, nop).
fn kernel_emulates(i: &Instruction) -> bool {
    match i.mnemonic() {
        Mnemonic::Push => i.op0_kind() == OpKind::Register,
        Mnemonic::Nop => true,
        Mnemonic::Jmp | Mnemonic::Call => matches!(i.op0_kind(), OpKind::NearBranch64),
        _ => i.is_jcc_short_or_near(),
    }
}

/// An instruction in Intel syntax (as `goroscope inspect` shows probe points).
pub fn format_instruction(i: &Instruction) -> String {
    format_insn(i)
}

fn format_insn(i: &Instruction) -> String {
    let mut f = IntelFormatter::new();
    let mut s = String::new();
    f.format(i, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frame_prologue() {
        // cmp rsp,[r14+0x10]; jbe +0x20; push rbp; mov rbp,rsp; ret
        let code = [
            0x49, 0x3b, 0x66, 0x10, 0x76, 0x20, 0x55, 0x48, 0x89, 0xe5, 0xc3,
        ];
        let f = analyze(&code, 0x1000);
        assert!(f.has_stack_check);
        assert_eq!(f.safe_probe_offset, 6);
        assert_eq!(f.safe_probe_instruction, "push rbp");
        assert!(f.safe_probe_emulated);
        assert_eq!(f.ret_offsets, vec![10]);
    }

    #[test]
    fn large_frame_prologue() {
        // lea r12,[rsp-0x100]; cmp r12,[r14+0x10]; jbe rel32; push rbp; ret
        let code = [
            0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xff, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0,
            1, 0, 0, 0x55, 0xc3,
        ];
        let f = analyze(&code, 0x2000);
        assert!(f.has_stack_check);
        assert_eq!(f.safe_probe_offset, 18);
        assert_eq!(f.ret_offsets, vec![19]);
    }

    #[test]
    fn stackguard1_prologue() {
        // Go 1.26 stopTheWorldWithSema: lea r12,[rsp-0x18]; cmp r12,[r14+0x18]; jbe rel32; push rbp
        let code = [
            0x4c, 0x8d, 0x64, 0x24, 0xe8, 0x4d, 0x3b, 0x66, 0x18, 0x0f, 0x86, 0x1e, 0x04, 0, 0,
            0x55,
        ];
        let f = analyze(&code, 0x44c360);
        assert!(f.has_stack_check);
        assert_eq!(f.safe_probe_offset, 15);
        assert_eq!(f.safe_probe_instruction, "push rbp");
    }

    #[test]
    fn no_stack_check_probes_entry() {
        // sub rsp,0x18; add rsp,0x18; ret; int3
        let code = [0x48, 0x83, 0xec, 0x18, 0x48, 0x83, 0xc4, 0x18, 0xc3, 0xcc];
        let f = analyze(&code, 0);
        assert!(!f.has_stack_check);
        assert_eq!(f.safe_probe_offset, 0);
        assert!(!f.safe_probe_emulated);
        assert_eq!(f.ret_offsets, vec![8]);
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64 {
            let code: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = analyze(&code, u64::MAX - 8);
        }
    }
}
