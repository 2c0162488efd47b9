//! What a recording carries for the analysis besides its events, gathered as its chunks go by:
//! the symbol and stack tables ([`MetaTables`], which make the analysis' `Meta` with the
//! header) and the losses of a stats chunk as `Lost` events. The reader uses them on a file and
//! a live capture on its stream, so a report of the file and of the live stream agree.

use std::collections::HashMap;
use std::sync::Arc;

use goroscope_events::{
    Event, EventKind, Location, LossReason, Meta, TableSymbolizer, WaitReasons,
};

use crate::{Header, StackEntry, StatsRecord, SymbolEntry};

/// The symbols and stacks of a recording so far.
#[derive(Debug, Clone, Default)]
pub struct MetaTables {
    symbols: TableSymbolizer,
    /// Stack id → frames, innermost first.
    stacks: HashMap<u32, Vec<Location>>,
    /// Start pc → the `go` statement wrapper its entry names the callee of.
    wrappers: HashMap<u64, String>,
    /// Frame pc → the functions its inlined code is inlined into.
    inlined_into: HashMap<u64, Vec<Location>>,
}

fn location(entry: &SymbolEntry) -> Location {
    Location {
        function: entry.function.clone(),
        file: entry.file.clone(),
        line: entry.line,
    }
}

impl MetaTables {
    pub fn add_symbols(&mut self, symbols: &[SymbolEntry]) {
        for s in symbols {
            self.symbols.add_pc(s.pc, location(s));
            if let Some(wrapper) = &s.wrapper {
                self.wrappers.insert(s.pc, wrapper.clone());
            }
            if !s.inlined_into.is_empty() {
                self.inlined_into.insert(s.pc, s.inlined_into.clone());
            }
        }
    }

    pub fn add_stacks(&mut self, stacks: &[StackEntry]) {
        for s in stacks {
            self.stacks
                .insert(s.id, s.frames.iter().map(location).collect());
        }
    }

    /// Everything besides events the analysis needs: Go version, wait and stop-the-world
    /// reasons, level and capabilities from `header`, and the symbols and stacks gathered so far.
    pub fn meta(&self, header: &Header) -> Meta {
        let reasons = |table: &std::collections::BTreeMap<u8, String>| {
            WaitReasons(table.iter().map(|(k, v)| (*k, v.clone())).collect())
        };
        let mut meta = Meta::new(header.target.go_version.clone());
        if let Some(level) = header.tracer_level() {
            meta = meta.with_level(level);
        }
        meta.with_capabilities(header.capabilities())
            .with_wait_reasons(reasons(&header.wait_reasons))
            .with_stw_reasons(reasons(&header.stw_reasons))
            .with_stacks(Arc::new(self.stacks.clone()))
            .with_symbolizer(Arc::new(self.symbols.clone()))
            .with_wrappers(Arc::new(self.wrappers.clone()))
            .with_inlined_into(Arc::new(self.inlined_into.clone()))
    }
}

impl StatsRecord {
    /// The losses counted here as `Lost` events stamped `at_ns` (the last event's time): that
    /// is how the analysis counts drops.
    pub fn loss_events(&self, at_ns: u64) -> Vec<Event> {
        self.drops
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(name, count)| Event {
                ts_ns: at_ns,
                cpu: 0,
                tid: 0,
                kind: EventKind::Lost {
                    reason: LossReason::ALL
                        .into_iter()
                        .find(|r| r.name() == name)
                        .unwrap_or(LossReason::Other),
                    count: *count,
                },
            })
            .collect()
    }
}
