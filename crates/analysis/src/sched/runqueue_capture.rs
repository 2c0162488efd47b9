//! Whether a section measured anything: the tracer's levels capture different events (see
//! `Level` in crates/bpf/src/tracer/plan.rs), and a section whose events were not captured must
//! say so instead of printing zeros. Shared by the run-queue, preemption and idle sections.

use goroscope_events::Meta;
use serde::{Deserialize, Serialize};

/// `"captured": true`, or `"captured": false, "why": "..."` in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    pub captured: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Coverage {
    pub fn yes() -> Coverage {
        Coverage {
            captured: true,
            why: None,
        }
    }

    pub fn no(why: impl Into<String>) -> Coverage {
        Coverage {
            captured: false,
            why: Some(why.into()),
        }
    }

    /// For data from probes attached at the "default" level and above: `seen` says whether any
    /// of those events (`what`, for the message) is in the trace. At a known level other than
    /// "monitor" an absence is a measured zero; at an unknown level (old recordings) it is not.
    pub fn default_level(meta: &Meta, seen: bool, what: &str) -> Coverage {
        if seen {
            Coverage::yes()
        } else if meta.level == "monitor" {
            Coverage::no(format!(
                "the monitor level does not capture {what}; record with --level default"
            ))
        } else if meta.level.is_empty() {
            Coverage::no(format!(
                "no {what} in the trace (tracer level unknown: the probes may not have been attached)"
            ))
        } else {
            Coverage::yes()
        }
    }

    /// Why it was not captured ("no data" if unsaid).
    pub fn why_text(&self) -> &str {
        self.why.as_deref().unwrap_or("no data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_decide_what_an_absence_means() {
        let at = |level: &str| Meta::new("go1.22.10").with_level(level);
        assert!(Coverage::default_level(&at("default"), false, "x").captured);
        assert!(Coverage::default_level(&at("monitor"), true, "x").captured);
        let monitor = Coverage::default_level(&at("monitor"), false, "GoStart events");
        assert!(!monitor.captured);
        assert!(monitor.why.unwrap().contains("monitor level"));
        assert!(!Coverage::default_level(&at(""), false, "x").captured);
        let json = serde_json::to_value(Coverage::yes()).unwrap();
        assert_eq!(json, serde_json::json!({"captured": true}));
    }
}
