//! Which tracer level captures which events, so that a section with no data at the recorded
//! level says so (`"captured": false, "why": ...`) instead of printing zeros. Shared by the
//! syscalls, locking, GOMAXPROCS and stop-the-world sections.
//!
//! The levels are the tracer's (crates/bpf/src/tracer/plan.rs): each includes the ones before.

use serde::{Deserialize, Serialize};

/// A tracer level, in capture order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// GOMAXPROCS, stop-the-world, GC starts, P hand-offs, LockOSThread, M start/exit, threads.
    Monitor,
    /// Also every goroutine's scheduling, syscalls (runtime and kernel), idle Ms.
    Default,
    /// Also every goroutine status change.
    Full,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Monitor => "monitor",
            Level::Default => "default",
            Level::Full => "full",
        }
    }

    /// `None` for an empty or unknown level name (old recordings, synthetic streams).
    pub fn parse(name: &str) -> Option<Level> {
        [Level::Monitor, Level::Default, Level::Full]
            .into_iter()
            .find(|l| l.name() == name)
    }
}

/// Whether a part of a section has data; `why` says what is missing when it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub captured: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Default for Coverage {
    fn default() -> Self {
        Coverage {
            captured: true,
            why: None,
        }
    }
}

impl Coverage {
    /// A part that needs `needs` to be captured, describing its events as `what`. Events seen
    /// prove it was captured whatever the level says; an unknown level is taken as capturing.
    pub fn of(level: &str, needs: Level, seen: bool, what: &str) -> Coverage {
        match Level::parse(level) {
            Some(level) if level < needs && !seen => Coverage {
                captured: false,
                why: Some(format!(
                    "the {} tracer level does not capture {what} (record with --level {} or higher)",
                    level.name(),
                    needs.name()
                )),
            },
            _ => Coverage::default(),
        }
    }

    /// Not captured for another reason than the level.
    pub fn missing(why: impl Into<String>) -> Coverage {
        Coverage {
            captured: false,
            why: Some(why.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_levels_do_not_capture() {
        let c = Coverage::of("monitor", Level::Default, false, "system calls");
        assert!(!c.captured);
        assert!(c.why.as_deref().unwrap_or("").contains("--level default"));
        assert!(Coverage::of("default", Level::Default, false, "x").captured);
        assert!(Coverage::of("full", Level::Default, false, "x").captured);
        assert!(Coverage::of("", Level::Full, false, "x").captured);
        // Events seen win over the level.
        assert!(Coverage::of("monitor", Level::Default, true, "x").captured);
    }
}
