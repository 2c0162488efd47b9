//! Creation sites: where goroutines were created, as the key the model counts by and the
//! source location the report shows.
//!
//! `creation_pc` is `g.gopc`, the return address of the `go` statement's call to
//! `runtime.newproc`. Like the runtime's own "created by" traceback (runtime/traceback.go,
//! `printcreatedby1`), we symbolize `pc - 1`, which lies in the call instruction and therefore
//! on the `go` statement's line even when the next instruction belongs to another line.

use goroscope_events::{Location, Symbolizer};

/// What the model knows about where a goroutine came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SiteKey {
    /// Created in the trace at this `go` statement return address.
    Pc(u64),
    /// Created in the trace, but the probe could not read the creation pc (0).
    UnknownPc,
    /// The goroutine existed before the trace started: its creation was not observed.
    Preexisting,
}

/// Function name of the row for goroutines that existed before the trace.
pub const PREEXISTING_FUNCTION: &str = "(existed before the trace)";
/// Function name of the row for goroutines created without a readable creation pc.
pub const UNKNOWN_FUNCTION: &str = "(unknown)";

impl SiteKey {
    pub fn from_creation_pc(pc: u64) -> SiteKey {
        if pc == 0 {
            SiteKey::UnknownPc
        } else {
            SiteKey::Pc(pc)
        }
    }

    /// The source location to show. A pc the symbolizer does not know is shown as hex, with
    /// an empty file and line 0, so distinct unknown sites stay distinct.
    pub fn locate(self, symbolizer: &dyn Symbolizer) -> Location {
        match self {
            SiteKey::Pc(pc) => {
                symbolizer
                    .resolve(pc.saturating_sub(1))
                    .unwrap_or_else(|| Location {
                        function: format!("{pc:#x}"),
                        file: String::new(),
                        line: 0,
                    })
            }
            SiteKey::UnknownPc => placeholder(UNKNOWN_FUNCTION),
            SiteKey::Preexisting => placeholder(PREEXISTING_FUNCTION),
        }
    }
}

fn placeholder(function: &str) -> Location {
    Location {
        function: function.to_string(),
        file: String::new(),
        line: 0,
    }
}

/// Per-site counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteCount {
    pub created: u64,
    pub exited: u64,
    pub live_at_end: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use goroscope_events::TableSymbolizer;

    #[test]
    fn symbolizes_the_call_instruction() {
        let at = |line| Location {
            function: "main.main".into(),
            file: "/src/main.go".into(),
            line,
        };
        let mut s = TableSymbolizer::new();
        // The call ends at 0x1005 (line 10); 0x1005 starts the next line.
        s.add_range(0x1000, 0x1005, at(10))
            .add_range(0x1005, 0x1010, at(11));
        assert_eq!(SiteKey::from_creation_pc(0x1005).locate(&s), at(10));
        assert_eq!(
            SiteKey::from_creation_pc(0x9999).locate(&s).function,
            "0x9999"
        );
        assert_eq!(SiteKey::from_creation_pc(0), SiteKey::UnknownPc);
        assert_eq!(
            SiteKey::Preexisting.locate(&s).function,
            PREEXISTING_FUNCTION
        );
    }
}
