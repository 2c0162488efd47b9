//! The analyzer's side of a [`Collector`]: forwards records and remembers the stacks they name,
//! so that their frames can be emitted once when the analysis finishes (stack ids are resolved
//! with the recording's stack table, complete only at the end).

use std::collections::BTreeSet;

use goroscope_events::Meta;

use super::{frames, Collector, Stack, StackKey, TimelineRecord};

#[derive(Debug, Default)]
pub(crate) struct Sink<C> {
    pub collector: C,
    stacks: BTreeSet<StackKey>,
}

impl<C: Collector> Sink<C> {
    pub fn new(collector: C) -> Self {
        Sink {
            collector,
            stacks: BTreeSet::new(),
        }
    }

    /// Emits the frames of every stack named so far (in key order).
    pub fn emit_stacks(&mut self, meta: &Meta) {
        for key in std::mem::take(&mut self.stacks) {
            let frames = frames(meta, key);
            self.collector
                .record(TimelineRecord::Stack(Stack { key, frames }));
        }
    }
}

impl<C: Collector> Collector for Sink<C> {
    fn record(&mut self, record: TimelineRecord) {
        if !self.collector.enabled() {
            return;
        }
        if let Some(key) = record.stack() {
            self.stacks.insert(key);
        }
        self.collector.record(record);
    }

    fn enabled(&self) -> bool {
        self.collector.enabled()
    }
}
