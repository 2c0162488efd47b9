//! [`EventSource`]: where consumers pull events from (ring buffer, recording, or a `Vec`), so
//! the analysis runs the same on a live stream, a recording and a synthetic test stream.

use crate::{Event, SourceError};

/// A producer of events, read in batches.
pub trait EventSource {
    /// Appends the next events to `out` (without clearing it) and returns whether more may
    /// follow: `Ok(false)` means the source is exhausted (it may still have appended events in
    /// that call). Events come in the producer's order, which is not necessarily timestamp
    /// order across CPUs.
    fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<bool, SourceError>;
}

/// An in-memory source, for tests and replays: hands out its events `batch` at a time.
#[derive(Debug, Clone)]
pub struct VecSource {
    events: Vec<Event>,
    pos: usize,
    batch: usize,
}

impl VecSource {
    /// A source that yields `events` in this order, 1024 per batch.
    pub fn new(events: Vec<Event>) -> Self {
        Self::with_batch(events, 1024)
    }

    /// Same, with a batch size (at least 1).
    pub fn with_batch(events: Vec<Event>, batch: usize) -> Self {
        VecSource {
            events,
            pos: 0,
            batch: batch.max(1),
        }
    }
}

impl EventSource for VecSource {
    fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<bool, SourceError> {
        let end = self.pos.saturating_add(self.batch).min(self.events.len());
        if let Some(chunk) = self.events.get(self.pos..end) {
            out.extend_from_slice(chunk);
        }
        self.pos = end;
        Ok(self.pos < self.events.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;

    #[test]
    fn yields_everything_in_batches() {
        let events: Vec<Event> = (0..5)
            .map(|i| Event {
                ts_ns: i,
                cpu: 0,
                tid: 1,
                kind: EventKind::GoExit {
                    goid: i + 1,
                    locked: false,
                },
            })
            .collect();
        let mut source = VecSource::with_batch(events.clone(), 2);
        let mut out = Vec::new();
        let mut calls = 0;
        while source.next_batch(&mut out).unwrap() {
            calls += 1;
        }
        assert_eq!(calls, 2);
        assert_eq!(out, events);
        // Exhausted: nothing more, still "no more".
        assert!(!source.next_batch(&mut out).unwrap());
        assert_eq!(out.len(), 5);
    }
}
