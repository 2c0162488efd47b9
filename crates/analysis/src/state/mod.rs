//! The model of the traced process, fed one event at a time in timestamp order: goroutines
//! (goroutines.rs), threads (threads.rs), and the anomalies both notice.

pub mod goroutines;
pub mod threads;

use goroscope_events::Event;

use crate::anomalies::Anomalies;
use goroutines::Goroutines;
use threads::Threads;

#[derive(Debug, Default)]
pub struct Model {
    pub goroutines: Goroutines,
    pub threads: Threads,
    pub anomalies: Anomalies,
}

impl Model {
    /// A model whose trace starts at `start_ns` (threads seen later existed since then).
    pub fn new(start_ns: u64) -> Self {
        let mut model = Model::default();
        model.threads.trace_start = start_ns;
        model
    }

    pub fn apply(&mut self, event: &Event) {
        self.goroutines.apply(event, &mut self.anomalies);
        self.threads.apply(event, &mut self.anomalies);
    }
}
