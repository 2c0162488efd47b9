//! Whether a part of a section has data: a section whose events were not captured must say so
//! (`"captured": false, "why": ...` in the JSON) instead of printing zeros. Decided from the
//! recording's capability for the fact the part is built from (`Meta::capabilities`, one table
//! in `goroscope_events::Level::capabilities`); events seen prove capture whatever it says.
//!
//! The two constructors differ in how they read an unknown capability (a recording without a
//! level) and in their wording; both wordings are part of the report's JSON, so they are kept.

use goroscope_events::{Capability, Fact, Level, Meta};
use serde::{Deserialize, Serialize};

/// `"captured": true`, or `"captured": false, "why": "..."` in the JSON. The default (nothing
/// claimed) is not captured, without a reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// Missing in a part that prints its marker only when not captured (see [`Coverage::is_captured`]).
    #[serde(default = "captured_by_default")]
    pub captured: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

fn captured_by_default() -> bool {
    true
}

impl Coverage {
    /// For `skip_serializing_if`: parts that were always captured before levels existed
    /// (goroutines, scheduling latency, thread CPU time) print the marker only when they were
    /// not, so their JSON is unchanged at the levels that capture them.
    pub fn is_captured(&self) -> bool {
        self.captured
    }

    pub fn yes() -> Coverage {
        Coverage {
            captured: true,
            why: None,
        }
    }

    /// Not captured, for `why`.
    pub fn no(why: impl Into<String>) -> Coverage {
        Coverage {
            captured: false,
            why: Some(why.into()),
        }
    }

    /// A part built from `fact`, its events described as `what`; `seen` says whether any are in
    /// the trace. Only an absent capability makes it not captured: an unknown one is taken as
    /// capturing (the runtime decisions every level sees, the syscalls).
    pub fn of(meta: &Meta, fact: Fact, seen: bool, what: &str) -> Coverage {
        if seen || meta.capabilities.get(fact) != Capability::Absent {
            return Coverage::yes();
        }
        let by = match meta.level {
            Some(level) => format!("the {level} tracer level"),
            None => "this recording".to_string(),
        };
        Coverage::no(match Level::lowest_capturing(fact) {
            Some(needs) => {
                format!("{by} does not capture {what} (record with --level {needs} or higher)")
            }
            None => format!("{by} does not capture {what}"),
        })
    }

    /// Like [`Coverage::of`], but where an absence of events is a measured zero only when the
    /// capability says the fact was captured: unknown, the probes may not have been attached.
    pub fn proven(meta: &Meta, fact: Fact, seen: bool, what: &str) -> Coverage {
        let capability = meta.capabilities.get(fact);
        if seen || capability.captures() {
            return Coverage::yes();
        }
        if capability != Capability::Absent {
            return Coverage::no(format!(
                "no {what} in the trace (tracer level unknown: the probes may not have been attached)"
            ));
        }
        let by = match meta.level {
            Some(level) => format!("the {level} level"),
            None => "this recording".to_string(),
        };
        Coverage::no(match Level::lowest_capturing(fact) {
            Some(needs) => format!("{by} does not capture {what}; record with --level {needs}"),
            None => format!("{by} does not capture {what}"),
        })
    }

    /// Why it was not captured ("no data" if unsaid).
    pub fn why_text(&self) -> &str {
        self.why.as_deref().unwrap_or("no data")
    }
}

#[cfg(test)]
mod tests {
    use goroscope_events::Capabilities;

    use super::*;

    fn at(level: Level) -> Meta {
        Meta::new("go1.22.10").with_level(level)
    }

    #[test]
    fn lower_levels_do_not_capture() {
        let c = Coverage::of(
            &at(Level::Monitor),
            Fact::KernelSyscalls,
            false,
            "system calls",
        );
        assert!(!c.captured);
        assert_eq!(
            c.why.as_deref(),
            Some("the monitor tracer level does not capture system calls (record with --level full or higher)")
        );
        assert!(!Coverage::of(&at(Level::Default), Fact::KernelSyscalls, false, "x").captured);
        assert!(Coverage::of(&at(Level::Full), Fact::KernelSyscalls, false, "x").captured);
        assert!(Coverage::of(&Meta::new(""), Fact::StatusChanges, false, "x").captured);
        // Events seen win over the level.
        assert!(Coverage::of(&at(Level::Monitor), Fact::KernelSyscalls, true, "x").captured);
        // What every level captures is always captured.
        assert!(Coverage::of(&at(Level::Monitor), Fact::StopTheWorld, false, "x").captured);
    }

    #[test]
    fn levels_decide_what_an_absence_means() {
        let fact = Fact::GoroutineScheduling;
        assert!(Coverage::proven(&at(Level::Full), fact, false, "x").captured);
        assert!(!Coverage::proven(&at(Level::Default), fact, false, "x").captured);
        assert!(Coverage::proven(&at(Level::Monitor), fact, true, "x").captured);
        let monitor = Coverage::proven(&at(Level::Monitor), fact, false, "GoStart events");
        assert!(!monitor.captured);
        assert_eq!(
            monitor.why.as_deref(),
            Some("the monitor level does not capture GoStart events; record with --level full")
        );
        let unknown = Coverage::proven(&Meta::new(""), fact, false, "GoStart events");
        assert!(!unknown.captured);
        assert!(unknown.why_text().contains("tracer level unknown"));
        let json = serde_json::to_value(Coverage::yes()).unwrap();
        assert_eq!(json, serde_json::json!({"captured": true}));
    }

    #[test]
    fn capabilities_without_a_level_still_decide() {
        let mut caps = Capabilities::unknown();
        caps.set(Fact::KernelSyscalls, Capability::Absent);
        caps.set(Fact::IdleMs, Capability::Sampled { one_in: 8 });
        let meta = Meta::new("go1.22.10").with_capabilities(caps);
        let c = Coverage::of(&meta, Fact::KernelSyscalls, false, "system calls");
        assert_eq!(
            c.why.as_deref(),
            Some(
                "this recording does not capture system calls (record with --level full or higher)"
            )
        );
        assert!(Coverage::proven(&meta, Fact::IdleMs, false, "idle Ms").captured);
    }
}
