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
use goroscope_events::{Event, EventKind, GoroutineSnapshot, Location};
use goroscope_record::{StackEntry, SymbolEntry};

/// How a pc is resolved.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A `go` statement's call (`creation_pc - 1`): the function containing it, as the
    /// runtime's "created by" names it.
    Creation,
    /// A goroutine's start pc: its function, or for a wrapper the function it calls.
    Start,
    /// A frame of a snapshot's stack (`pc - 1`), inlined functions named.
    Frame,
}

pub struct CreationSymbols<'p, 'data> {
    elf: &'p ElfImage<'data>,
    pclntab: &'p Pclntab<'data>,
    load_bias: u64,
    /// Checked for every event's pcs: hashed with foldhash (the pcs are ours, not an
    /// attacker's; SipHash was a visible share of the recorder's CPU).
    seen: HashSet<u64, foldhash::fast::RandomState>,
}

impl<'p, 'data> CreationSymbols<'p, 'data> {
    pub fn new(elf: &'p ElfImage<'data>, pclntab: &'p Pclntab<'data>, load_bias: u64) -> Self {
        CreationSymbols {
            elf,
            pclntab,
            load_bias,
            seen: HashSet::default(),
        }
    }

    /// Entries for the pcs of a goroutine snapshot not resolved before: creation pcs at
    /// `pc - 1`, start pcs as is, and every stack frame at `pc - 1` (all are return addresses,
    /// the first being where `mcall` saved the goroutine).
    pub fn collect_snapshot(&mut self, snapshot: &GoroutineSnapshot) -> Vec<SymbolEntry> {
        let mut out = Vec::new();
        for g in &snapshot.goroutines {
            self.add(g.creation_pc.checked_sub(1), Kind::Creation, &mut out);
            self.add(Some(g.start_pc), Kind::Start, &mut out);
            for &pc in &g.stack {
                self.add(pc.checked_sub(1), Kind::Frame, &mut out);
            }
        }
        out
    }

    /// Resolves `pc` into `out` unless seen before (or 0).
    fn add(&mut self, pc: Option<u64>, kind: Kind, out: &mut Vec<SymbolEntry>) {
        let Some(pc) = pc.filter(|&pc| pc != 0) else {
            return;
        };
        if !self.seen.insert(pc) {
            return;
        }
        let entry = match kind {
            Kind::Creation => self.resolve(pc),
            Kind::Start => self.resolve_start(pc),
            Kind::Frame => self.resolve_frame(pc),
        };
        out.extend(entry);
    }

    /// A stack frame's pc: in inlined code, named after the innermost function inlined there
    /// (the line is already the inlined code's), with the functions it is inlined into, each at
    /// its call's line: the frames the runtime's traceback shows.
    fn resolve_frame(&self, pc: u64) -> Option<SymbolEntry> {
        let mut entry = self.resolve(pc)?;
        let link_pc = pc.checked_sub(self.load_bias)?;
        let chain = self.pclntab.inlined_at(link_pc);
        let Some(inner) = chain.first() else {
            return Some(entry);
        };
        let outer = std::mem::replace(&mut entry.function, inner.function.clone());
        let callers = chain
            .iter()
            .skip(1)
            .map(|c| c.function.clone())
            .chain([outer]);
        entry.inlined_into = callers
            .zip(&chain)
            .map(|(function, call)| {
                let (file, line) = self
                    .pclntab
                    .line_at(call.call_pc)
                    .unwrap_or_else(|| (String::new(), 0));
                Location {
                    function,
                    file,
                    line,
                }
            })
            .collect();
        Some(entry)
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
                    .line_at(callee.pc)
                    .unwrap_or_else(|| (String::new(), 0));
                Some(SymbolEntry {
                    pc,
                    function: callee.name,
                    file,
                    line,
                    wrapper: Some(func.name),
                    inlined_into: Vec::new(),
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
            let (creation_pc, start_pc) = match event.kind {
                EventKind::GoCreate {
                    creation_pc,
                    start_pc,
                    ..
                }
                | EventKind::GoSample {
                    creation_pc,
                    start_pc,
                    ..
                } => (creation_pc, start_pc),
                _ => continue,
            };
            self.add(creation_pc.checked_sub(1), Kind::Creation, &mut out);
            self.add(Some(start_pc), Kind::Start, &mut out);
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
                        inlined_into: Vec::new(),
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
            inlined_into: Vec::new(),
        })
    }
}
