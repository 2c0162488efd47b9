//! Symbolization while capturing: every goroutine creation pc (and start pc, and the stack pcs
//! of goroutine snapshots) the session sees is resolved once through the target's pclntab, so
//! the consumers (a recording) carry their own symbols and `goroscope report` needs no binary.
//! A start pc in a `go` statement wrapper (Go 1.21+) is named after the function the wrapper
//! calls, with the wrapper's name beside it (goinspect's `gowrap`). Runtime addresses minus the load
//! bias are link-time addresses (PIE); the entry is stored under the runtime address, as asked for.
//!
//! The binary reading itself is goinspect's (`Pclntab::func_at`, `line_at`); what lives here is
//! the session's side: which pcs of which events to resolve, once each, and the recording's
//! entry types — so it stays out of goinspect, which knows neither events nor recordings.

use std::collections::HashSet;

use goinspect::elf::ElfImage;
use goinspect::gowrap;
use goinspect::pclntab::Pclntab;
use goroscope_events::{Event, EventKind, GoroutineSnapshot};
use goroscope_record::{StackEntry, SymbolEntry};

pub struct CreationSymbols<'p, 'data> {
    elf: &'p ElfImage<'data>,
    pclntab: &'p Pclntab<'data>,
    load_bias: u64,
    seen: HashSet<u64>,
}

impl<'p, 'data> CreationSymbols<'p, 'data> {
    pub fn new(elf: &'p ElfImage<'data>, pclntab: &'p Pclntab<'data>, load_bias: u64) -> Self {
        CreationSymbols {
            elf,
            pclntab,
            load_bias,
            seen: HashSet::new(),
        }
    }

    /// Entries for the pcs of a goroutine snapshot not resolved before: creation pcs at
    /// `pc - 1`, start pcs as is, and every stack frame at `pc - 1` (all are return addresses,
    /// the first being where `mcall` saved the goroutine).
    pub fn collect_snapshot(&mut self, snapshot: &GoroutineSnapshot) -> Vec<SymbolEntry> {
        let mut out = Vec::new();
        for g in &snapshot.goroutines {
            self.add(g.creation_pc.checked_sub(1), false, &mut out);
            self.add(Some(g.start_pc), true, &mut out);
            for &pc in &g.stack {
                self.add(pc.checked_sub(1), false, &mut out);
            }
        }
        out
    }

    /// Resolves `pc` into `out` unless seen before (or 0).
    fn add(&mut self, pc: Option<u64>, start: bool, out: &mut Vec<SymbolEntry>) {
        let Some(pc) = pc.filter(|&pc| pc != 0) else {
            return;
        };
        if !self.seen.insert(pc) {
            return;
        }
        let entry = if start {
            self.resolve_start(pc)
        } else {
            self.resolve(pc)
        };
        out.extend(entry);
    }

    /// A start pc: the function itself, or for a `go` statement wrapper the function it calls
    /// (at that function's entry line), naming the wrapper.
    fn resolve_start(&self, pc: u64) -> Option<SymbolEntry> {
        let link_pc = pc.checked_sub(self.load_bias)?;
        let func = self.pclntab.func_at(link_pc)?;
        match gowrap::wrapped_function(self.elf, self.pclntab, &func) {
            Some(callee) => {
                let (file, line) = self
                    .pclntab
                    .line_at(callee.entry)
                    .unwrap_or_else(|| (String::new(), 0));
                Some(SymbolEntry {
                    pc,
                    function: callee.name,
                    file,
                    line,
                    wrapper: Some(func.name),
                })
            }
            None => self.resolve(pc),
        }
    }

    /// Entries for the pcs of `events` not resolved before. The analysis looks a creation pc
    /// up as `creation_pc - 1` (the `go` statement's call instruction, like the runtime's
    /// "created by"), a start pc as is.
    pub fn collect(&mut self, events: &[Event]) -> Vec<SymbolEntry> {
        let mut out = Vec::new();
        for event in events {
            let EventKind::GoCreate {
                creation_pc,
                start_pc,
                ..
            } = event.kind
            else {
                continue;
            };
            self.add(creation_pc.checked_sub(1), false, &mut out);
            self.add(Some(start_pc), true, &mut out);
        }
        out
    }

    /// One captured user stack: frames innermost first. The first frame is the probed
    /// instruction itself; the others are return addresses, resolved at `pc - 1` (the call's
    /// line). Frames outside the Go program (no pclntab function) are kept as bare pcs.
    pub fn stack(&self, id: u32, pcs: &[u64]) -> StackEntry {
        let frames = pcs
            .iter()
            .enumerate()
            .map(|(i, &pc)| {
                let at = if i == 0 { pc } else { pc.saturating_sub(1) };
                match self.resolve(at) {
                    Some(entry) => SymbolEntry { pc, ..entry },
                    None => SymbolEntry {
                        pc,
                        function: format!("{pc:#x}"),
                        file: String::new(),
                        line: 0,
                        wrapper: None,
                    },
                }
            })
            .collect();
        StackEntry { id, frames }
    }

    fn resolve(&self, pc: u64) -> Option<SymbolEntry> {
        let link_pc = pc.checked_sub(self.load_bias)?;
        let function = self.pclntab.func_at(link_pc)?.name;
        let (file, line) = self
            .pclntab
            .line_at(link_pc)
            .unwrap_or_else(|| (String::new(), 0));
        Some(SymbolEntry {
            pc,
            function,
            file,
            line,
            wrapper: None,
        })
    }
}
