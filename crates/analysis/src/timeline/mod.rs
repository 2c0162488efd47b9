//! The timeline model below the report: goroutine, P and thread slices, flows, instants,
//! counters and structured stacks, emitted by the state machines and sections as they apply
//! events (each record once) to a [`Collector`]. The report does not read it; it is for outputs
//! that need time (Perfetto, pprof, a live view). Record types in record.rs, the collector trait
//! in collector.rs.

mod collector;
mod record;
mod sink;

pub use collector::{Collector, NoCollector, VecCollector};
pub use record::*;
pub(crate) use sink::Sink;

use goroscope_events::{Location, Meta, Symbolizer};

use crate::sites::SiteKey;

/// The frames of `key`, innermost first: a captured stack from the recording's stack table
/// (empty if the table lacks it), or a start function alone (its address when unknown).
pub fn frames(meta: &Meta, key: StackKey) -> Vec<Location> {
    match key {
        StackKey::Captured(id) => meta.stacks.get(&id).cloned().unwrap_or_default(),
        // A function entry, not a return address: resolved as is.
        StackKey::Start(pc) => vec![meta.symbolizer.resolve(pc).unwrap_or(Location {
            function: format!("{pc:#x}"),
            file: String::new(),
            line: 0,
        })],
    }
}

/// Where the `go` statement at `creation_pc` is (the return address `GoCreate` instants carry,
/// 0 if not read), named as the report names creation sites.
pub fn creation_site(creation_pc: u64, symbolizer: &dyn Symbolizer) -> Location {
    SiteKey::from_creation_pc(creation_pc).locate(symbolizer)
}
