//! [`Meta`]: what the analysis needs besides events to interpret them offline — the Go
//! version, its wait-reason strings, what the recording captured, and a [`Symbolizer`] for
//! program counters.
//!
//! The real symbolizer is goinspect's pclntab reader; wait-reason strings come from the
//! inspected binary (`runtime.waitReasonStrings`) or goinspect's per-version tables, because the
//! numbering changes between Go versions (go-runtime-internals.md, "waitReason values").

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::capture::{Capabilities, Level};

/// A source position: function, file and line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// Maps a program counter of the traced binary to its source position.
pub trait Symbolizer: Send + Sync {
    /// The location of the instruction at exactly `pc` (no return-address adjustment: callers
    /// that hold a return address pass `pc - 1`), `None` if unknown.
    fn resolve(&self, pc: u64) -> Option<Location>;
}

/// A symbolizer from explicit address ranges, for tests and for callers that already have a
/// function table.
#[derive(Debug, Clone, Default)]
pub struct TableSymbolizer {
    /// start pc → (end pc exclusive, location).
    ranges: BTreeMap<u64, (u64, Location)>,
}

impl TableSymbolizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// `[start, end)` resolves to `location`; a later range starting at the same pc replaces it.
    pub fn add_range(&mut self, start: u64, end: u64, location: Location) -> &mut Self {
        self.ranges.insert(start, (end, location));
        self
    }

    /// Exactly `pc` resolves to `location`.
    pub fn add_pc(&mut self, pc: u64, location: Location) -> &mut Self {
        self.add_range(pc, pc.saturating_add(1), location)
    }
}

impl Symbolizer for TableSymbolizer {
    fn resolve(&self, pc: u64) -> Option<Location> {
        let (_, (end, location)) = self.ranges.range(..=pc).next_back()?;
        (pc < *end).then(|| location.clone())
    }
}

/// Wait-reason strings of one Go version: raw `waitReason` value → string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitReasons(pub HashMap<u8, String>);

impl WaitReasons {
    /// From the runtime's `waitReasonStrings` array: index = value.
    pub fn from_strings<S: Into<String>>(strings: impl IntoIterator<Item = S>) -> Self {
        WaitReasons(
            strings
                .into_iter()
                .enumerate()
                .filter_map(|(i, s)| Some((u8::try_from(i).ok()?, s.into())))
                .collect(),
        )
    }

    /// The string for `value`, `None` if this version does not define it.
    pub fn get(&self, value: u8) -> Option<&str> {
        self.0.get(&value).map(String::as_str)
    }

    /// The string for `value`, or `waitReason(N)` when unknown, so reports never lose the number.
    pub fn describe(&self, value: u8) -> String {
        match self.get(value) {
            Some(s) => s.to_string(),
            None => format!("waitReason({value})"),
        }
    }
}

/// Everything besides the events that the analysis needs.
#[derive(Clone)]
pub struct Meta {
    /// The target's Go version, e.g. `go1.22.10` (empty if unknown).
    pub go_version: String,
    pub wait_reasons: WaitReasons,
    /// `stwReason` value → the runtime's string for this Go version (empty before Go 1.21).
    pub stw_reasons: WaitReasons,
    /// What the events capture, per kind of fact (all unknown when the level is): sections
    /// say from it what they could not see.
    pub capabilities: Capabilities,
    /// The tracer level the events were captured at (`None`: unknown, or a source that is not
    /// the tracer), to name it when telling what it does not capture.
    pub level: Option<Level>,
    pub symbolizer: Arc<dyn Symbolizer>,
    /// User stacks captured by the tracer (full level), by the id events carry: frames
    /// innermost first.
    pub stacks: Arc<HashMap<u32, Vec<Location>>>,
    /// Start pcs that lie in a `go` statement wrapper (`main.main.gowrap1`) → the wrapper's
    /// name; the symbolizer names the function the wrapper calls for them.
    pub wrappers: Arc<HashMap<u64, String>>,
    /// Pcs inside inlined code (as the symbolizer is asked for them) → the functions that code
    /// is inlined into, innermost first, each at its call's line; the symbolizer names the
    /// innermost inlined function.
    pub inlined_into: Arc<HashMap<u64, Vec<Location>>>,
}

impl Meta {
    /// Metadata with no wait-reason strings and a symbolizer that knows nothing.
    pub fn new(go_version: impl Into<String>) -> Self {
        Meta {
            go_version: go_version.into(),
            wait_reasons: WaitReasons::default(),
            stw_reasons: WaitReasons::default(),
            capabilities: Capabilities::unknown(),
            level: None,
            symbolizer: Arc::new(TableSymbolizer::new()),
            stacks: Arc::new(HashMap::new()),
            wrappers: Arc::new(HashMap::new()),
            inlined_into: Arc::new(HashMap::new()),
        }
    }

    pub fn with_inlined_into(mut self, inlined_into: Arc<HashMap<u64, Vec<Location>>>) -> Self {
        self.inlined_into = inlined_into;
        self
    }

    pub fn with_wrappers(mut self, wrappers: Arc<HashMap<u64, String>>) -> Self {
        self.wrappers = wrappers;
        self
    }

    pub fn with_stacks(mut self, stacks: Arc<HashMap<u32, Vec<Location>>>) -> Self {
        self.stacks = stacks;
        self
    }

    pub fn with_stw_reasons(mut self, stw_reasons: WaitReasons) -> Self {
        self.stw_reasons = stw_reasons;
        self
    }

    /// Captured by the tracer at `level`: its capabilities ([`Level::capabilities`]).
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = Some(level);
        self.capabilities = level.capabilities();
        self
    }

    /// Captured with these capabilities (they win over a level set before).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    pub fn with_wait_reasons(mut self, wait_reasons: WaitReasons) -> Self {
        self.wait_reasons = wait_reasons;
        self
    }

    pub fn with_symbolizer(mut self, symbolizer: Arc<dyn Symbolizer>) -> Self {
        self.symbolizer = symbolizer;
        self
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meta")
            .field("go_version", &self.go_version)
            .field("wait_reasons", &self.wait_reasons.0.len())
            .field("stw_reasons", &self.stw_reasons.0.len())
            .field("level", &self.level)
            .field("capabilities", &self.capabilities)
            .field("stacks", &self.stacks.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(function: &str, line: u32) -> Location {
        Location {
            function: function.into(),
            file: "main.go".into(),
            line,
        }
    }

    #[test]
    fn table_symbolizer_resolves_ranges() {
        let mut s = TableSymbolizer::new();
        s.add_range(0x1000, 0x1010, loc("main.a", 3))
            .add_pc(0x2000, loc("main.b", 9));
        assert_eq!(s.resolve(0x1000), Some(loc("main.a", 3)));
        assert_eq!(s.resolve(0x100f), Some(loc("main.a", 3)));
        assert_eq!(s.resolve(0x1010), None);
        assert_eq!(s.resolve(0xfff), None);
        assert_eq!(s.resolve(0x2000), Some(loc("main.b", 9)));
        assert_eq!(s.resolve(0x2001), None);
    }

    #[test]
    fn wait_reasons_from_strings() {
        // Go 1.21's table starts "", "GC assist marking", "IO wait", "chan receive (nil chan)".
        let w = WaitReasons::from_strings(["", "GC assist marking", "IO wait"]);
        assert_eq!(w.get(2), Some("IO wait"));
        assert_eq!(w.describe(2), "IO wait");
        assert_eq!(w.describe(200), "waitReason(200)");
    }
}
