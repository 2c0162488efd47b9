//! Where the runtime's own 1-in-8 scheduling sampler can be probed: the tracked
//! runnable→running path of `runtime.casgstatus` (see shared/reference/runtime-sampler.md).
//!
//! `casgstatus` (proc.go) runs, for a goroutine whose `gp.tracking` is set (one transition out
//! of running in 8, per goroutine, and a random 1 in 8 new goroutines):
//!
//! ```go
//! case _Grunning:
//!     gp.tracking = false
//!     sched.timeToRun.record(gp.runnableTime)
//!     gp.runnableTime = 0
//! ```
//!
//! which every supported toolchain compiles to `MOVB $0, tracking(G)` followed at once by
//! `MOVQ runnableTime(G), R`, with `G` the register holding `gp`:
//! - Go 1.21–1.27: `LEAQ runtime.sched+N(SB), AX; CALL runtime.(*timeHistogram).record(SB)`
//!   (R = BX, the duration argument). The probe goes on the CALL, a `call rel32` the kernel
//!   emulates.
//! - Go 1.19 inlines `record`: `TESTQ R, R; JGE ...` (histogram.go: negative durations go to the
//!   underflow bucket). The probe goes on that conditional jump (emulated too).
//!
//! At both probe points `gp.runnableTime` is still in memory (it is zeroed after `record`), so
//! the BPF side reads it there through `G` and the offset taken from the `MOVQ`.
//!
//! Nothing here is a version constant: the offsets of `g.tracking` and `g.runnableTime` and the
//! registers come from the instructions themselves, and the match must be unique. The shape is
//! also cross-checked against `MOVB $1, tracking(G)` (the sampler turning tracking on), which
//! `casgstatus` has in every version.

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};
use serde::{Deserialize, Serialize};

use crate::elf::ElfImage;
use crate::pclntab::Pclntab;

/// The function whose tracked path is probed.
pub const CASGSTATUS: &str = "runtime.casgstatus";
/// The histogram's record method (Go 1.20+ calls it; 1.19 inlines it).
pub const RECORD: &str = "runtime.(*timeHistogram).record";

/// How the tracked runnable→running path was recognised.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SamplerShape {
    /// `CALL runtime.(*timeHistogram).record` (Go 1.20+).
    CallRecord,
    /// `record` inlined: the `TESTQ latency, latency; Jcc` at its start (Go 1.19).
    InlinedRecordJcc,
}

/// The probe point of the runtime's sampler in one binary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SamplerPlacement {
    /// Offset of the probed instruction from `runtime.casgstatus`'s entry.
    pub offset: u64,
    /// File offset of that instruction (what the uprobe attaches by).
    pub file_offset: u64,
    /// The probed instruction, Intel syntax.
    pub instruction: String,
    pub shape: SamplerShape,
    /// Register holding `gp` there, lowercase x86-64 name ("rdi").
    pub gp_register: String,
    /// Register holding `gp.runnableTime` (the latency) there.
    pub latency_register: String,
    /// Offset of `g.tracking` (from `MOVB $0, tracking(G)`).
    pub g_tracking: u64,
    /// Offset of `g.runnableTime` (from `MOVQ runnableTime(G), R`).
    pub g_runnable_time: u64,
}

/// Finds the placement in a binary. `Err` says why not (shown by `goroscope inspect`).
pub fn find(elf: &ElfImage, pcln: &Pclntab) -> Result<SamplerPlacement, String> {
    let func = pcln
        .find_func(CASGSTATUS)
        .ok_or_else(|| format!("{CASGSTATUS} not found"))?;
    let code = elf
        .bytes_at(func.entry, func.end.saturating_sub(func.entry))
        .ok_or_else(|| format!("{CASGSTATUS} code is not in the file"))?;
    let record = pcln.find_func(RECORD).map(|f| f.entry);
    let mut placement = find_in_code(code, func.entry, record)?;
    placement.file_offset = elf
        .vaddr_to_file_offset(func.entry)
        .and_then(|o| o.checked_add(placement.offset))
        .ok_or_else(|| format!("{CASGSTATUS} entry is outside the file's segments"))?;
    Ok(placement)
}

/// The search on `casgstatus`'s code at virtual address `entry`; `record` is the entry of
/// `runtime.(*timeHistogram).record` when the binary has it. `file_offset` is left 0.
pub fn find_in_code(
    code: &[u8],
    entry: u64,
    record: Option<u64>,
) -> Result<SamplerPlacement, String> {
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
    let mut found = Vec::new();
    for (i, clear) in insns.iter().enumerate() {
        let Some((g, tracking)) = byte_store(clear, 0) else {
            continue;
        };
        let Some(load) = insns.get(i + 1) else {
            continue;
        };
        let Some((latency, runnable_time)) = qword_load_from(load, g) else {
            continue;
        };
        if runnable_time == tracking {
            continue;
        }
        // `tracking = true` somewhere in the function: the same field, set to 1.
        if !insns
            .iter()
            .any(|x| byte_store(x, 1) == Some((g, tracking)) || byte_store_any_base(x, 1, tracking))
        {
            continue;
        }
        let rest = &insns[i + 2..insns.len().min(i + 5)];
        let site = match (record, rest) {
            // LEAQ runtime.sched+N(SB), AX; CALL record
            (Some(rec), [lea, call, ..])
                if lea.mnemonic() == Mnemonic::Lea
                    && lea.memory_base() == Register::RIP
                    && call.mnemonic() == Mnemonic::Call
                    && call.op0_kind() == OpKind::NearBranch64
                    && call.near_branch64() == rec =>
            {
                Some((*call, SamplerShape::CallRecord))
            }
            // TESTQ R, R; Jcc (record inlined)
            (_, [test, jcc, ..])
                if test.mnemonic() == Mnemonic::Test
                    && test.op0_kind() == OpKind::Register
                    && test.op1_kind() == OpKind::Register
                    && test.op0_register() == latency
                    && test.op1_register() == latency
                    && jcc.is_jcc_short_or_near() =>
            {
                Some((*jcc, SamplerShape::InlinedRecordJcc))
            }
            _ => None,
        };
        if let Some((at, shape)) = site {
            found.push(SamplerPlacement {
                offset: at.ip() - entry,
                file_offset: 0,
                instruction: crate::disasm::format_instruction(&at),
                shape,
                gp_register: reg_name(g),
                latency_register: reg_name(latency),
                g_tracking: tracking,
                g_runnable_time: runnable_time,
            });
        }
    }
    match found.len() {
        1 => Ok(found.pop().expect("one")),
        0 => Err(format!(
            "{CASGSTATUS}: no tracked runnable→running path (MOVB $0, tracking(G); MOVQ \
             runnableTime(G), R; then CALL {RECORD} or TESTQ R, R; Jcc)"
        )),
        n => Err(format!(
            "{CASGSTATUS}: {n} candidate tracked runnable→running paths; refusing to guess"
        )),
    }
}

/// `MOV byte ptr [G + d], imm` with `imm == value`: `Some((G, d))`.
fn byte_store(i: &Instruction, value: u64) -> Option<(Register, u64)> {
    (i.mnemonic() == Mnemonic::Mov
        && i.op_count() == 2
        && i.op0_kind() == OpKind::Memory
        && i.memory_size() == iced_x86::MemorySize::UInt8
        && i.memory_index() == Register::None
        && i.memory_base().is_gpr64()
        && i.memory_base() != Register::RSP
        && i.op1_kind() == OpKind::Immediate8
        && u64::from(i.immediate8()) == value)
        .then(|| (i.memory_base(), i.memory_displacement64()))
}

/// The same store through any base register (`tracking = true` may use another copy of gp).
fn byte_store_any_base(i: &Instruction, value: u64, disp: u64) -> bool {
    byte_store(i, value).is_some_and(|(_, d)| d == disp)
}

/// `MOV R64, qword ptr [G + d]`: `Some((R, d))`.
fn qword_load_from(i: &Instruction, g: Register) -> Option<(Register, u64)> {
    (i.mnemonic() == Mnemonic::Mov
        && i.op_count() == 2
        && i.op0_kind() == OpKind::Register
        && i.op0_register().is_gpr64()
        && i.op1_kind() == OpKind::Memory
        && i.memory_base() == g
        && i.memory_index() == Register::None
        && i.memory_size() == iced_x86::MemorySize::UInt64)
        .then(|| (i.op0_register(), i.memory_displacement64()))
}

fn reg_name(r: Register) -> String {
    format!("{r:?}").to_lowercase()
}

/// The `pt_regs` index the BPF side reads a register by (`GS_REG_*` in goroscope.h), `None`
/// for registers the tracer does not read.
pub fn register_index(name: &str) -> Option<u32> {
    Some(match name {
        "rax" => 0,
        "rbx" => 1,
        "rcx" => 2,
        "rdx" => 3,
        "rsi" => 4,
        "rdi" => 5,
        "r8" => 6,
        "r9" => 7,
        "r10" => 8,
        "r11" => 9,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go 1.26.6's bytes (go tool objdump of a hello world), around the tracked path:
    /// MOVB $1,0xbe(DI) ... MOVB $0,0xbe(DI); MOVQ 0xc8(DI),BX; LEAQ sched+360(SB),AX; CALL record.
    #[test]
    fn go126_call_record() {
        let entry = 0x1000u64;
        let mut code = vec![0xc6, 0x87, 0xbe, 0, 0, 0, 0x01]; // movb $1, 0xbe(rdi)
        code.extend([0xc6, 0x87, 0xbe, 0, 0, 0, 0x00]); // movb $0, 0xbe(rdi)
        code.extend([0x48, 0x8b, 0x9f, 0xc8, 0, 0, 0]); // movq 0xc8(rdi), rbx
        code.extend([0x48, 0x8d, 0x05, 0x8f, 0xb0, 0x13, 0x00]); // leaq rip+.., rax
        let call_at = entry + code.len() as u64;
        let record = 0x2000u64;
        let rel = (record as i64 - (call_at as i64 + 5)) as i32;
        code.push(0xe8);
        code.extend(rel.to_le_bytes());
        code.push(0xc3);
        let p = find_in_code(&code, entry, Some(record)).unwrap();
        assert_eq!(p.shape, SamplerShape::CallRecord);
        assert_eq!(p.offset, call_at - entry);
        assert_eq!((p.g_tracking, p.g_runnable_time), (0xbe, 0xc8));
        assert_eq!(
            (p.gp_register.as_str(), p.latency_register.as_str()),
            ("rdi", "rbx")
        );
        // Calling anything else is not the path.
        assert!(find_in_code(&code, entry, Some(record + 16)).is_err());
    }

    /// Go 1.19.8: MOVB $0,0xbc(DI); MOVQ 0xc8(DI),DX; TESTQ DX,DX; JGE.
    #[test]
    fn go119_inlined_record() {
        let mut code = vec![0xc6, 0x87, 0xbc, 0, 0, 0, 0x01];
        code.extend([0xc6, 0x87, 0xbc, 0, 0, 0, 0x00]);
        code.extend([0x48, 0x8b, 0x97, 0xc8, 0, 0, 0]);
        code.extend([0x48, 0x85, 0xd2]); // testq rdx, rdx
        code.extend([0x7d, 0x18]); // jge
        code.push(0xc3);
        let p = find_in_code(&code, 0, None).unwrap();
        assert_eq!(p.shape, SamplerShape::InlinedRecordJcc);
        assert_eq!(p.offset, 24);
        assert_eq!((p.g_tracking, p.g_runnable_time), (0xbc, 0xc8));
        assert_eq!(p.latency_register, "rdx");
        // Without `tracking = true` anywhere, the shape is not trusted.
        assert!(find_in_code(&code[7..], 0, None).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64 {
            let code: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let _ = find_in_code(&code, u64::MAX - 8, Some(3));
        }
    }
}
