//! goroscope's analysis engine: consumes a stream of typed [`Event`]s — live, from a recording,
//! or synthetic — and builds the model of the traced Go program (goroutines, threads, Ms) and
//! the [`Report`] (data, serialisable as the JSON of docs/report-schema.md; the goroscope-output
//! crate prints it as text or JSON). No kernel needed.
//!
//! Pipeline: [`Reorderer`] (timestamp order within a window) → [`state::Model`] (state
//! machines, counters) → `summarize` (symbolization, wait-reason strings) → [`Report`].

mod anomalies;
mod counts;
mod error;
mod latency;
mod reorder;
mod report;
pub mod sched;
mod sites;
pub mod state;
mod summarize;

#[cfg(test)]
mod tests;
#[cfg(any(test, feature = "testutil"))]
pub mod testutil;

pub use error::Error;
pub use reorder::Reorderer;
pub use report::*;
pub use sites::{PREEXISTING_FUNCTION, STARTUP_FUNCTION, UNKNOWN_FUNCTION};

use goroscope_events::{Event, EventSource, Meta};

use counts::EventCounts;
use state::Model;

/// Default reorder window: generous against per-CPU buffers read in batches (events are held
/// this long in stream time, not wall time).
pub const DEFAULT_REORDER_WINDOW_NS: u64 = 100_000_000;

/// How to analyse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Events up to this much older than the newest one seen are put back in order.
    pub reorder_window_ns: u64,
    /// Start of the trace (CLOCK_MONOTONIC ns), e.g. from a recording's header; default: the
    /// first event.
    pub start_ns: Option<u64>,
    /// End of the trace; default: the last event.
    pub end_ns: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reorder_window_ns: DEFAULT_REORDER_WINDOW_NS,
            start_ns: None,
            end_ns: None,
        }
    }
}

/// Incremental analysis: push events in any order (within the window), then `finish`.
#[derive(Debug)]
pub struct Analyzer {
    options: Options,
    reorder: Reorderer,
    /// Created with the first processed event (which fixes the trace start).
    model: Option<Model>,
    scheduler: sched::Scheduler,
    counts: EventCounts,
    last_ts: u64,
    cpu_limit: Option<sched::procs::CpuLimit>,
}

impl Analyzer {
    pub fn new(options: Options) -> Self {
        Analyzer {
            options,
            reorder: Reorderer::new(options.reorder_window_ns),
            model: options.start_ns.map(Model::new),
            scheduler: sched::Scheduler::default(),
            counts: EventCounts::default(),
            last_ts: 0,
            cpu_limit: None,
        }
    }

    /// The traced process's CPU limit at the start, shown beside GOMAXPROCS.
    pub fn with_cpu_limit(mut self, cpu_limit: Option<sched::procs::CpuLimit>) -> Self {
        self.cpu_limit = cpu_limit;
        self
    }

    pub fn push(&mut self, event: Event) {
        self.reorder.push(event);
        while let Some(event) = self.reorder.pop_ready() {
            self.process(&event);
        }
    }

    fn process(&mut self, event: &Event) {
        let model = self.model.get_or_insert_with(|| Model::new(event.ts_ns));
        self.counts.count(event);
        self.last_ts = self.last_ts.max(event.ts_ns);
        model.apply(event);
        self.scheduler.observe(event, model);
    }

    /// Processes what is still held and builds the report.
    pub fn finish(mut self, meta: &Meta) -> Report {
        while let Some(event) = self.reorder.pop_any() {
            self.process(&event);
        }
        let mut model = self.model.take().unwrap_or_default();
        let start_ns = model.threads.trace_start;
        let end_ns = self.options.end_ns.unwrap_or(self.last_ts).max(start_ns);
        model.threads.finish(end_ns);
        summarize::report(
            &model,
            &summarize::Inputs {
                meta,
                counts: &self.counts,
                late_events: self.reorder.late_events(),
                start_ns,
                end_ns,
                scheduler: &self.scheduler,
                cpu_limit: self.cpu_limit.as_ref(),
            },
        )
    }
}

/// Reads `source` to the end and returns the report.
pub fn analyze(
    source: &mut dyn EventSource,
    meta: &Meta,
    options: Options,
) -> Result<Report, Error> {
    let mut analyzer = Analyzer::new(options);
    let mut batch = Vec::new();
    loop {
        batch.clear();
        let more = source.next_batch(&mut batch)?;
        for event in batch.drain(..) {
            analyzer.push(event);
        }
        if !more {
            return Ok(analyzer.finish(meta));
        }
    }
}
