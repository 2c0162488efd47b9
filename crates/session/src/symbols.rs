//! Symbolization while capturing: every goroutine creation pc (and start pc) the session
//! sees is resolved once through the target's pclntab, so the consumers (a recording) carry
//! their own symbols and `goroscope report` needs no binary. Runtime addresses minus the load
//! bias are link-time addresses (PIE); the entry is stored under the runtime address, as asked for.
//!
//! The binary reading itself is goinspect's (`Pclntab::func_at`, `line_at`); what lives here is
//! the session's side: which pcs of which events to resolve, once each, and the recording's
//! entry types — so it stays out of goinspect, which knows neither events nor recordings.

use std::collections::HashSet;

use goinspect::pclntab::Pclntab;
use goroscope_events::{Event, EventKind};
use goroscope_record::{StackEntry, SymbolEntry};

pub struct CreationSymbols<'p, 'data> {
    pclntab: &'p Pclntab<'data>,
    load_bias: u64,
    seen: HashSet<u64>,
}

impl<'p, 'data> CreationSymbols<'p, 'data> {
    pub fn new(pclntab: &'p Pclntab<'data>, load_bias: u64) -> Self {
        CreationSymbols {
            pclntab,
            load_bias,
            seen: HashSet::new(),
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
            for pc in [creation_pc.checked_sub(1), Some(start_pc)]
                .into_iter()
                .flatten()
            {
                if pc == 0 || !self.seen.insert(pc) {
                    continue;
                }
                if let Some(entry) = self.resolve(pc) {
                    out.push(entry);
                }
            }
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
        })
    }
}
