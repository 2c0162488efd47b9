//! The model of the traced process, fed one event at a time in timestamp order: goroutines
//! (goroutines.rs), threads (threads.rs), the goroutines' run slices (runs.rs), and the
//! anomalies they notice. Each emits its part of the timeline as it applies events.

pub mod goroutines;
pub mod runs;
pub mod threads;
mod tombstones;

use goroscope_events::Event;

use crate::anomalies::Anomalies;
use crate::timeline::Collector;
use goroutines::Goroutines;
use runs::RunSlices;
use threads::Threads;

#[derive(Debug, Default)]
pub struct Model {
    pub goroutines: Goroutines,
    pub threads: Threads,
    pub runs: RunSlices,
    pub anomalies: Anomalies,
}

impl Model {
    /// A model whose trace starts at `start_ns` (threads and goroutines seen later existed
    /// since then).
    pub fn new(start_ns: u64) -> Self {
        let mut model = Model::default();
        model.threads.trace_start = start_ns;
        model.goroutines.trace_start = start_ns;
        model
    }

    /// Forget exited goroutines and threads `window_ns` after their exit (None: never),
    /// keeping their counts (see `Options::retain_exited_ns`).
    pub fn with_retention(mut self, window_ns: Option<u64>) -> Self {
        self.goroutines.retain_exited_ns = window_ns;
        self.threads.retain_exited_ns = window_ns;
        self
    }

    pub fn apply(&mut self, event: &Event, out: &mut dyn Collector) {
        self.goroutines.apply(event, &mut self.anomalies, out);
        self.threads.apply(event, &mut self.anomalies, out);
        self.runs.apply(event, out);
    }

    /// Emits the slices still open at `end_ns` (end of the trace or of a snapshot) without
    /// closing them.
    pub fn emit_open(&self, end_ns: u64, out: &mut dyn Collector) {
        if !out.enabled() {
            return;
        }
        self.goroutines.emit_open(end_ns, out);
        self.threads.emit_open(end_ns, out);
        for s in self.runs.open_at(end_ns) {
            out.record(s.record());
        }
    }
}
