//! The analyzer's side of a [`Collector`]: forwards records and remembers the stacks they name,
//! so that their frames can be emitted once when the analysis finishes (stack ids are resolved
//! with the recording's stack table, complete only at the end), and the creation sites of the
//! goroutines created (located the same way, at the end).

use std::collections::BTreeSet;

use goroscope_events::Meta;

use super::{
    creation_site, frames, Collector, CreationSite, Instant, InstantKind, Stack, StackKey,
    TimelineRecord,
};

#[derive(Debug, Default)]
pub(crate) struct Sink<C> {
    pub collector: C,
    /// Latency attribution reads every record, whatever the collector (crate::attribution).
    pub attribution: crate::attribution::Attribution,
    stacks: BTreeSet<StackKey>,
    /// Creation pcs named by `GoCreate` instants, located at the end like the stacks.
    sites: BTreeSet<u64>,
}

impl<C: Collector> Sink<C> {
    pub fn new(collector: C) -> Self {
        Sink {
            collector,
            attribution: Default::default(),
            stacks: BTreeSet::new(),
            sites: BTreeSet::new(),
        }
    }

    /// Keeps what `attribution` gathered (when the collector is swapped).
    pub fn with_attribution(mut self, attribution: crate::attribution::Attribution) -> Self {
        self.attribution = attribution;
        self
    }

    /// Emits the frames of every stack named so far (in key order).
    pub fn emit_stacks(&mut self, meta: &Meta) {
        for key in std::mem::take(&mut self.stacks) {
            let frames = frames(meta, key);
            self.collector
                .record(TimelineRecord::Stack(Stack { key, frames }));
        }
        for creation_pc in std::mem::take(&mut self.sites) {
            let location = creation_site(creation_pc, meta.symbolizer.as_ref());
            self.collector
                .record(TimelineRecord::CreationSite(CreationSite {
                    creation_pc,
                    location,
                }));
        }
    }
}

impl<C: Collector> Collector for Sink<C> {
    fn record(&mut self, record: TimelineRecord) {
        self.attribution.record(&record);
        if !self.collector.enabled() {
            return;
        }
        if let Some(key) = record.stack() {
            self.stacks.insert(key);
        }
        if let TimelineRecord::Instant(Instant {
            kind: InstantKind::GoCreate { creation_pc, .. },
            ..
        }) = record
        {
            self.sites.insert(creation_pc);
        }
        self.collector.record(record);
    }

    /// Always: the attribution needs the records even when the collector drops them.
    fn enabled(&self) -> bool {
        true
    }
}
