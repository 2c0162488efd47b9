//! Scheduling latency by stack, like `go tool trace -pprof=sched`: each runnable→running wait
//! is charged to the stack where the goroutine last stopped running — where it parked
//! (`GoPark.stack_id`), where a signal preempted it (`AsyncPreempt.stack_id`), or, for its
//! first run, its start function (as Go's tracer does for a new goroutine).
//!
//! Stacks are captured at the `full` level only (a user-stack walk per park costs too much for
//! the default level). Waits after a cooperative preemption or `Gosched` (which run on the
//! scheduler's stack, where the goroutine's own stack is not the current one) or after a
//! syscall have no stack: they are counted as `unattributed`.

use std::collections::HashMap;

use goroscope_events::{Event, EventKind, Fact, Location};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::state::Model;
// What a wait is charged to: a captured stack, or a new goroutine's start function.
use crate::timeline::{self, Collector, SchedWait, StackKey, TimelineRecord};

/// Rows kept in the report.
const TOP_STACKS: usize = 50;

#[derive(Debug, Default, Clone, Copy)]
struct Waits {
    count: u64,
    total_ns: u64,
    max_ns: u64,
}

impl Waits {
    fn add(&mut self, ns: u64) {
        self.count += 1;
        self.total_ns = self.total_ns.saturating_add(ns);
        self.max_ns = self.max_ns.max(ns);
    }
}

#[derive(Debug, Default)]
struct Goroutine {
    /// Where it last stopped, if known.
    stack: Option<StackKey>,
    runnable_since: Option<u64>,
}

#[derive(Debug, Default)]
pub struct StackLatency {
    goroutines: HashMap<u64, Goroutine>,
    by_stack: HashMap<StackKey, Waits>,
    unattributed: Waits,
    saw_stack: bool,
}

impl StackLatency {
    pub fn observe(&mut self, event: &Event, _model: &Model, out: &mut dyn Collector) {
        let ts = event.ts_ns;
        match event.kind {
            EventKind::GoCreate { goid, start_pc, .. } => {
                self.goroutines.insert(
                    goid,
                    Goroutine {
                        stack: Some(StackKey::Start(start_pc)),
                        runnable_since: Some(ts),
                    },
                );
            }
            EventKind::GoPark { goid, stack_id, .. } => {
                self.saw_stack |= stack_id.is_some();
                let g = self.goroutines.entry(goid).or_default();
                g.stack = stack_id.map(StackKey::Captured);
                g.runnable_since = None;
            }
            EventKind::AsyncPreempt { goid, stack_id } => {
                self.saw_stack |= stack_id.is_some();
                self.goroutines.entry(goid).or_default().stack = stack_id.map(StackKey::Captured);
            }
            EventKind::GoYield { goid, preempted } => {
                let g = self.goroutines.entry(goid).or_default();
                // An async preemption ends in this yield: keep its stack; otherwise the
                // goroutine stopped on the scheduler's stack, where none was captured.
                if preempted != Some(true) {
                    g.stack = None;
                }
                g.runnable_since = Some(ts);
            }
            EventKind::GoReady { goid, .. } => {
                self.goroutines
                    .entry(goid)
                    .or_default()
                    .runnable_since
                    .get_or_insert(ts);
            }
            EventKind::SyscallEnter { goid, .. } | EventKind::GoPreemptPark { goid } => {
                let g = self.goroutines.entry(goid).or_default();
                g.stack = None;
                g.runnable_since = None;
            }
            EventKind::GoStart { goid, .. } => {
                let g = self.goroutines.entry(goid).or_default();
                if let Some(since) = g.runnable_since.take() {
                    let wait = ts.saturating_sub(since);
                    let stack = g.stack.take();
                    match stack {
                        Some(key) => self.by_stack.entry(key).or_default().add(wait),
                        None => self.unattributed.add(wait),
                    }
                    if out.enabled() {
                        out.record(TimelineRecord::SchedWait(SchedWait {
                            goid,
                            start_ns: since,
                            end_ns: ts,
                            stack,
                        }));
                    }
                }
            }
            EventKind::GoExit { goid, .. } => {
                self.goroutines.remove(&goid);
            }
            _ => {}
        }
    }

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> StackLatencyReport {
        let meta = inputs.meta;
        let coverage = if self.saw_stack || meta.capabilities.get(Fact::ParkStacks).captures() {
            Coverage::yes()
        } else {
            Coverage::no("stacks are captured at the full level only: record with --level full")
        };
        let frames = |key: &StackKey| timeline::frames(meta, *key);
        let mut rows: Vec<StackRow> = self
            .by_stack
            .iter()
            .map(|(key, w)| {
                let frames = frames(key);
                StackRow {
                    first_user_function: first_user_function(&frames),
                    frames: frames.iter().map(frame_text).collect(),
                    first_run: matches!(key, StackKey::Start(_)),
                    count: w.count,
                    total_ns: w.total_ns,
                    max_ns: w.max_ns,
                }
            })
            .collect();
        rows.sort_by(|a, b| (b.total_ns, &a.frames).cmp(&(a.total_ns, &b.frames)));
        let stacks = rows.len() as u64;
        rows.truncate(TOP_STACKS);
        StackLatencyReport {
            coverage,
            waits: self.by_stack.values().map(|w| w.count).sum(),
            total_ns: self.by_stack.values().map(|w| w.total_ns).sum(),
            stacks,
            unattributed_waits: self.unattributed.count,
            unattributed_ns: self.unattributed.total_ns,
            by_stack: rows,
        }
    }
}

/// The innermost frame outside package runtime: what the goroutine's own code was doing.
fn first_user_function(frames: &[Location]) -> String {
    frames
        .iter()
        .find(|f| !f.function.starts_with("runtime."))
        .or(frames.first())
        .map(|f| f.function.clone())
        .unwrap_or_default()
}

fn frame_text(f: &Location) -> String {
    if f.file.is_empty() {
        f.function.clone()
    } else {
        format!("{} ({}:{})", f.function, f.file, f.line)
    }
}

/// `scheduler.latency_by_stack`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StackLatencyReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Runnable→running waits charged to a stack, and their sum.
    pub waits: u64,
    pub total_ns: u64,
    /// Distinct stacks (rows beyond the first 50 are left out of `by_stack`).
    pub stacks: u64,
    /// Waits with no stack (after a cooperative preemption, Gosched or a syscall).
    pub unattributed_waits: u64,
    pub unattributed_ns: u64,
    /// Most total wait first.
    pub by_stack: Vec<StackRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRow {
    /// Innermost first, "function (file:line)".
    pub frames: Vec<String>,
    /// The innermost frame outside package runtime.
    pub first_user_function: String,
    /// The stack is a new goroutine's start function (its first run's wait).
    pub first_run: bool,
    pub count: u64,
    pub total_ns: u64,
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use goroscope_events::{EventKind, Level, Location, Meta, VecSource};

    use crate::testutil::{location, meta, StreamBuilder};
    use crate::{analyze, Options};

    fn frames(functions: &[&str]) -> Vec<Location> {
        functions
            .iter()
            .map(|f| Location {
                function: f.to_string(),
                file: String::new(),
                line: 0,
            })
            .collect()
    }

    #[test]
    fn waits_are_charged_to_where_the_goroutine_stopped() {
        // StreamBuilder::go_create's start pc; testutil's symbolizer covers [pc - 5, pc).
        let start_pc = 0x40_0000;
        let base: Meta =
            meta(&[(start_pc + 5, location("main.worker", 7))]).with_level(Level::Full);
        let stacks: HashMap<u32, Vec<Location>> = [
            (
                1,
                frames(&["runtime.gopark", "runtime.chanrecv1", "main.worker"]),
            ),
            (2, frames(&["runtime.asyncPreempt2", "main.worker"])),
        ]
        .into_iter()
        .collect();
        let m = base.with_stacks(Arc::new(stacks));
        let mut s = StreamBuilder::new();
        s.on(0, 100).go_create(10, 1, 0x4a_0000); // runnable at creation
        s.advance(5_000).go_start(10, 0, 0); // first run: 5 µs, charged to main.worker
        s.advance(100).emit(EventKind::GoPark {
            goid: 10,
            wait_reason: 14,
            stack_id: Some(1),
        });
        s.advance(1_000).go_ready(10, 0);
        s.advance(3_000).go_start(10, 0, 0); // 3 µs after the chanrecv park
        s.advance(100).emit(EventKind::AsyncPreempt {
            goid: 10,
            stack_id: Some(2),
        });
        s.emit(EventKind::GoYield {
            goid: 10,
            preempted: Some(true),
        });
        s.advance(7_000).go_start(10, 0, 0); // 7 µs after the async preemption
        s.advance(100).go_yield(10); // Gosched: no stack
        s.advance(2_000).go_start(10, 0, 0);
        let r = analyze(
            &mut VecSource::with_batch(s.build(), 3),
            &m,
            Options::default(),
        )
        .unwrap()
        .scheduler
        .latency_by_stack;
        assert!(r.coverage.captured);
        let rows: Vec<(&str, bool, u64, u64)> = r
            .by_stack
            .iter()
            .map(|row| {
                (
                    row.first_user_function.as_str(),
                    row.first_run,
                    row.count,
                    row.total_ns,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("main.worker", false, 1, 7_000),
                ("main.worker", true, 1, 5_000),
                ("main.worker", false, 1, 3_000),
            ]
        );
        assert_eq!((r.unattributed_waits, r.unattributed_ns), (1, 2_000));
    }

    #[test]
    fn below_the_full_level_it_says_so() {
        let m = Meta::new("go1.27.3").with_level(Level::Default);
        let mut s = StreamBuilder::new();
        s.on(0, 100)
            .go_create(10, 1, 0x4a_0000)
            .advance(10)
            .go_start(10, 0, 0);
        let r = analyze(
            &mut VecSource::with_batch(s.build(), 3),
            &m,
            Options::default(),
        )
        .unwrap()
        .scheduler
        .latency_by_stack;
        assert!(!r.coverage.captured);
    }
}
