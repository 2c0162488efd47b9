//! pprof profiles of a recording (`goroscope export pprof --kind KIND`), each with the sample
//! types and units pprof users expect:
//! - `sched-latency`: runnable→running waits by the stack where the goroutine stopped (like
//!   `go tool trace -pprof=sched`: `contentions/count`, `delay/nanoseconds`), from the
//!   timeline's [`SchedWait`] records — the numbers of the report's latency by stack;
//! - `off-cpu`: threads' off-CPU time by the goroutine on the thread when it switched out
//!   (`switches/count`, `off_cpu/nanoseconds`), joined in [`offcpu`];
//! - `syscalls`: time in kernel system calls by goroutine creation site and syscall name
//!   (`calls/count`, `syscall/nanoseconds`), from the report's per-site rows;
//! - `goroutines`: goroutines live at the end by creation site and state or wait reason
//!   (`goroutines/count`), from the report.
//!
//! A goroutine's "site" is a two-frame stack: its start function, called from its creation
//! site (the `go` statement), so pprof's views group by either.

mod builder;
mod offcpu;

use std::collections::HashMap;

use goroscope_analysis::timeline::{Collector, SchedWait, Stack, StackKey, TimelineRecord};
use goroscope_analysis::Report;
use goroscope_events::Location;

pub use builder::{pseudo_frame, write_gz, ProfileBuilder};
use offcpu::OffCpu;

use crate::proto::pprof::Profile;

/// Which profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SchedLatency,
    OffCpu,
    Syscalls,
    Goroutines,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::SchedLatency,
        Kind::OffCpu,
        Kind::Syscalls,
        Kind::Goroutines,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::SchedLatency => "sched-latency",
            Kind::OffCpu => "off-cpu",
            Kind::Syscalls => "syscalls",
            Kind::Goroutines => "goroutines",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn names() -> [&'static str; 4] {
        Kind::ALL.map(Kind::name)
    }
}

/// Frame of the waits with no stack.
pub const NO_STACK: &str = "(no stack: after Gosched, a cooperative preemption or a syscall)";

/// What a profile needs from the timeline as it streams: only the kinds that need it keep
/// anything (the others are built from the report alone).
#[derive(Debug)]
pub struct PprofCollector {
    kind: Kind,
    /// Stack (None: no stack) → (waits, total ns).
    waits: HashMap<Option<StackKey>, (i64, i64)>,
    off_cpu: OffCpu,
    /// Frames of the stacks named, from the `Stack` records at the end.
    stacks: HashMap<StackKey, Vec<Location>>,
}

impl PprofCollector {
    pub fn new(kind: Kind) -> Self {
        PprofCollector {
            kind,
            waits: HashMap::new(),
            off_cpu: OffCpu::default(),
            stacks: HashMap::new(),
        }
    }

    fn frames(&self, key: StackKey) -> Vec<Location> {
        self.stacks.get(&key).cloned().unwrap_or_default()
    }

    /// The profile, from what was collected and the report of the same analysis.
    pub fn finish(self, report: &Report) -> Profile {
        let duration = report.duration_ns;
        let mut b;
        match self.kind {
            Kind::SchedLatency => {
                b = ProfileBuilder::new(
                    &[("contentions", "count"), ("delay", "nanoseconds")],
                    duration,
                );
                let mut rows: Vec<_> = self.waits.iter().collect();
                rows.sort_by_key(|(k, _)| **k);
                for (key, &(count, ns)) in rows {
                    let stack = match key {
                        Some(key) => self.frames(*key),
                        None => vec![pseudo_frame(NO_STACK)],
                    };
                    b.add(&stack, &[], &[count, ns]);
                }
            }
            Kind::OffCpu => {
                b = ProfileBuilder::new(
                    &[("switches", "count"), ("off_cpu", "nanoseconds")],
                    duration,
                );
                self.off_cpu.add_to(&mut b);
            }
            Kind::Syscalls => {
                b = ProfileBuilder::new(
                    &[("calls", "count"), ("syscall", "nanoseconds")],
                    duration,
                );
                for site in &report.scheduler.syscalls.kernel.by_site {
                    let location = Location {
                        function: site.function.clone(),
                        file: site.file.clone(),
                        line: site.line,
                    };
                    for name in &site.by_name {
                        let stack = [
                            pseudo_frame(format!("syscall {}", name.name)),
                            location.clone(),
                        ];
                        b.add(
                            &stack,
                            &[("syscall", &name.name)],
                            &[name.count as i64, name.total_ns as i64],
                        );
                    }
                }
            }
            Kind::Goroutines => {
                b = ProfileBuilder::new(&[("goroutines", "count")], duration);
                for g in &report.goroutines.live {
                    let state = match &g.wait_reason {
                        Some(reason) if !reason.is_empty() => format!("{} ({reason})", g.state),
                        _ => g.state.clone(),
                    };
                    let site = Location {
                        function: g.function.clone(),
                        file: g.file.clone(),
                        line: g.line,
                    };
                    b.add(
                        &[pseudo_frame(state.clone()), site],
                        &[("state", &state)],
                        &[1],
                    );
                }
            }
        }
        b.comment(&format!("goroscope {} profile", self.kind.name()));
        b.finish()
    }
}

impl Collector for PprofCollector {
    fn record(&mut self, record: TimelineRecord) {
        match (self.kind, record) {
            (
                Kind::SchedLatency,
                TimelineRecord::SchedWait(SchedWait {
                    start_ns,
                    end_ns,
                    stack,
                    ..
                }),
            ) => {
                let w = self.waits.entry(stack).or_default();
                w.0 += 1;
                w.1 = w.1.saturating_add(end_ns.saturating_sub(start_ns) as i64);
            }
            (Kind::OffCpu, record) => self.off_cpu.record(record),
            (Kind::SchedLatency, TimelineRecord::Stack(Stack { key, frames })) => {
                self.stacks.insert(key, frames);
            }
            _ => {}
        }
    }

    fn enabled(&self) -> bool {
        matches!(self.kind, Kind::SchedLatency | Kind::OffCpu)
    }
}
