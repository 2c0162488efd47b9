//! Where timeline records go: the [`Collector`] trait (one method, so an exporter is a `match`
//! over [`TimelineRecord`] and can stream to a file), [`NoCollector`] (the default: the report
//! alone pays nothing for the timeline) and [`VecCollector`] (keeps everything, for tests).

use super::record::TimelineRecord;

/// Receives the timeline, record by record, in the order the analysis derives them: by the time
/// the record *ends* (a slice is emitted when it closes), not by its start.
pub trait Collector {
    fn record(&mut self, record: TimelineRecord);

    /// False if records are thrown away: emitters may then skip work done only for the timeline.
    fn enabled(&self) -> bool {
        true
    }
}

/// Discards every record.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCollector;

impl Collector for NoCollector {
    #[inline]
    fn record(&mut self, _record: TimelineRecord) {}

    fn enabled(&self) -> bool {
        false
    }
}

/// Keeps every record in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VecCollector {
    pub records: Vec<TimelineRecord>,
}

impl Collector for VecCollector {
    fn record(&mut self, record: TimelineRecord) {
        self.records.push(record);
    }
}

impl<C: Collector + ?Sized> Collector for Box<C> {
    fn record(&mut self, record: TimelineRecord) {
        (**self).record(record)
    }

    fn enabled(&self) -> bool {
        (**self).enabled()
    }
}

impl<C: Collector + ?Sized> Collector for &mut C {
    fn record(&mut self, record: TimelineRecord) {
        (**self).record(record)
    }

    fn enabled(&self) -> bool {
        (**self).enabled()
    }
}
