//! The evidence a finding cites: measurements (with the report field they come from), sites,
//! stacks and threads. A tagged enum (`kind`) so that later kinds — the latency attribution of
//! a wait to its Go and kernel causes — can be added without changing these; JSON readers
//! ignore kinds they do not know.

use serde::{Deserialize, Serialize};

use crate::CountAt;

/// A source location: a goroutine creation site, or a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub function: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Site {
    pub fn new(function: &str, file: &str, line: u32) -> Site {
        Site {
            function: function.to_string(),
            file: file.to_string(),
            line,
        }
    }

    pub fn function(function: &str) -> Site {
        Site::new(function, "", 0)
    }
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Evidence {
    /// A number: what it is, its value and unit (`ns`, `count`, `percent`, `cpus`,
    /// `per_second`), and where in the report (or the runtime's metrics) it was read.
    Measure {
        what: String,
        value: f64,
        unit: String,
        source: String,
    },
    /// A place in the program and its role ("created at", "blocked at", "runs").
    Site {
        role: String,
        #[serde(flatten)]
        site: Site,
    },
    /// A count over time (ns since the trace start), e.g. a site's blocked goroutines at each
    /// goroutine snapshot.
    Series {
        what: String,
        points: Vec<CountAt>,
        source: String,
    },
    /// A goroutine's stack, innermost frame first ("function (file:line)").
    Stack { role: String, frames: Vec<String> },
    /// The share of the measured runnable→running wait charged to one cause by the latency
    /// attribution (`latency_attribution`: `stw`, `kernel`, `syscall`, `ps_busy`, `other`),
    /// `exact` or estimated; for `ps_busy`, the creation site whose goroutines occupied the Ps
    /// most meanwhile (`occupant`).
    LatencyAttribution {
        cause: String,
        ns: u64,
        total_ns: u64,
        percent: f64,
        exact: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        occupant: Option<Site>,
        source: String,
    },
    /// A kernel thread.
    Thread {
        tid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        m_id: Option<i64>,
        note: String,
    },
}

impl Evidence {
    pub fn measure(what: &str, value: f64, unit: &str, source: &str) -> Evidence {
        Evidence::Measure {
            what: what.to_string(),
            value,
            unit: unit.to_string(),
            source: source.to_string(),
        }
    }

    pub fn count(what: &str, value: u64, source: &str) -> Evidence {
        Evidence::measure(what, value as f64, "count", source)
    }

    pub fn ns(what: &str, value: u64, source: &str) -> Evidence {
        Evidence::measure(what, value as f64, "ns", source)
    }

    pub fn percent(what: &str, value: f64, source: &str) -> Evidence {
        Evidence::measure(what, (value * 10.0).round() / 10.0, "percent", source)
    }

    pub fn site(role: &str, site: Site) -> Evidence {
        Evidence::Site {
            role: role.to_string(),
            site,
        }
    }

    pub fn stack(role: &str, frames: &[String]) -> Evidence {
        Evidence::Stack {
            role: role.to_string(),
            frames: frames.to_vec(),
        }
    }
}
