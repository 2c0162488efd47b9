//! Where each tracer uprobe goes: from goinspect's function table to `(program, file offset)`
//! pairs. Entry probes sit at `file_offset + safe_probe_offset` (after the stack-check prologue:
//! cheaper, registers intact, no double hit through morestack); the probe that needs a return
//! value (newproc1's new g) sits on every RET instruction, never on a uretprobe, which
//! would crash the Go program when its stack moves. Pure data: unit-tested without BPF.

use goinspect::{FunctionInfo, Inspection};

/// A BPF program of tracer.bpf.c that attaches to a Go function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UprobeProgram {
    NewprocRet,
    Casgstatus,
    Execute,
    Gopark,
    Ready,
    Gosched,
    Goexit1,
    Mstart1,
    Mexit,
}

/// Whether a program probes the entry (after the prologue) or each RET of its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Entry,
    EachRet,
}

/// Go function → program. Every one is a plain runtime symbol in Go 1.19 and 1.21–1.27
/// (go-runtime-internals.md, table 1); their arguments are listed in tracer.bpf.c.
const PROBES: &[(&str, UprobeProgram, Placement)] = &[
    (
        "runtime.newproc1",
        UprobeProgram::NewprocRet,
        Placement::EachRet,
    ),
    (
        "runtime.casgstatus",
        UprobeProgram::Casgstatus,
        Placement::Entry,
    ),
    ("runtime.execute", UprobeProgram::Execute, Placement::Entry),
    ("runtime.gopark", UprobeProgram::Gopark, Placement::Entry),
    ("runtime.ready", UprobeProgram::Ready, Placement::Entry),
    (
        "runtime.goschedImpl",
        UprobeProgram::Gosched,
        Placement::Entry,
    ),
    ("runtime.goexit1", UprobeProgram::Goexit1, Placement::Entry),
    ("runtime.mstart1", UprobeProgram::Mstart1, Placement::Entry),
    ("runtime.mexit", UprobeProgram::Mexit, Placement::Entry),
];

/// One uprobe to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeSite {
    pub program: UprobeProgram,
    /// pclntab symbol, e.g. "runtime.casgstatus".
    pub symbol: String,
    /// ELF file offset of the probed instruction (what uprobes attach by).
    pub file_offset: u64,
}

/// The uprobes to attach, and a warning for each function that cannot be probed (the events it
/// would give are then missing from the trace).
pub fn uprobe_sites(inspection: &Inspection) -> (Vec<UprobeSite>, Vec<String>) {
    let mut sites = Vec::new();
    let mut warnings = Vec::new();
    for (symbol, program, placement) in PROBES {
        let Some(func) = inspection
            .functions
            .iter()
            .find(|f| f.symbol == *symbol && f.found)
        else {
            warnings.push(format!(
                "{symbol} was not found in the binary: its events ({program:?}) will be missing"
            ));
            continue;
        };
        match placement {
            Placement::Entry => match func.file_offset.checked_add(func.safe_probe_offset) {
                Some(file_offset) => sites.push(site(*program, func, file_offset)),
                None => warnings.push(format!("{symbol}: probe offset overflows")),
            },
            Placement::EachRet if func.ret_offsets.is_empty() => warnings.push(format!(
                "{symbol} has no RET instruction that goinspect could find: its events \
                 ({program:?}) will be missing"
            )),
            Placement::EachRet => {
                for ret in &func.ret_offsets {
                    match func.file_offset.checked_add(*ret) {
                        Some(file_offset) => sites.push(site(*program, func, file_offset)),
                        None => warnings.push(format!("{symbol}: RET offset overflows")),
                    }
                }
            }
        }
        if func.inlined_copies > 0 {
            warnings.push(format!(
                "{symbol} is also inlined at {} call sites: events from those are missing",
                func.inlined_copies
            ));
        }
    }
    (sites, warnings)
}

fn site(program: UprobeProgram, func: &FunctionInfo, file_offset: u64) -> UprobeSite {
    UprobeSite {
        program,
        symbol: func.symbol.clone(),
        file_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(symbol: &str, found: bool, safe: u64, rets: &[u64]) -> FunctionInfo {
        FunctionInfo {
            name: symbol.trim_start_matches("runtime.").into(),
            symbol: symbol.into(),
            found,
            entry: 0x401000,
            end: 0x401100,
            file_offset: 0x1000,
            safe_probe_offset: safe,
            safe_probe_instruction: "push rbp".into(),
            safe_probe_emulated: true,
            has_stack_check: safe > 0,
            ret_offsets: rets.to_vec(),
            inlined_copies: 0,
            inlined_source: "none".into(),
            symtab_entry: None,
        }
    }

    /// An Inspection with only these functions, without going through a binary.
    fn with_functions(functions: Vec<FunctionInfo>) -> Inspection {
        Inspection {
            path: String::new(),
            pid: None,
            build: Default::default(),
            binary: goinspect::BinaryFacts {
                pie: false,
                has_dwarf: false,
                has_symtab: false,
                cgo: false,
                external_linker: false,
                go_build_id: None,
                gnu_build_id: None,
                pclntab_format: String::new(),
                pclntab_functions: 0,
                text_start: 0,
            },
            functions,
            layout: goinspect::RuntimeLayout {
                source: String::new(),
                structs: Default::default(),
                constants: Default::default(),
                sched_address: None,
            },
            load_bias: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn entry_probes_skip_the_prologue_and_newproc1_gets_every_ret() {
        let insp = with_functions(vec![
            func("runtime.newproc1", true, 10, &[0x80, 0xf0]),
            func("runtime.casgstatus", true, 0, &[0x40]),
            func("runtime.execute", true, 6, &[0x40]),
        ]);
        let (sites, warnings) = uprobe_sites(&insp);
        let got: Vec<(UprobeProgram, u64)> =
            sites.iter().map(|s| (s.program, s.file_offset)).collect();
        assert_eq!(
            got,
            vec![
                (UprobeProgram::NewprocRet, 0x1080),
                (UprobeProgram::NewprocRet, 0x10f0),
                (UprobeProgram::Casgstatus, 0x1000),
                (UprobeProgram::Execute, 0x1006),
            ]
        );
        // gopark, ready, goschedImpl, goexit1, mstart1, mexit are absent from this inspection.
        assert_eq!(warnings.len(), 6, "{warnings:?}");
    }

    #[test]
    fn not_found_and_ret_less_functions_are_warnings() {
        let insp = with_functions(vec![
            func("runtime.newproc1", true, 10, &[]),
            func("runtime.gopark", false, 10, &[0x40]),
        ]);
        let (sites, warnings) = uprobe_sites(&insp);
        assert!(sites.is_empty());
        assert!(warnings.iter().any(|w| w.contains("runtime.newproc1")));
        assert!(warnings.iter().any(|w| w.contains("runtime.gopark")));
    }
}
