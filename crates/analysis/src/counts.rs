//! Counters over the processed stream: events by kind and losses by reason.

use std::collections::BTreeMap;

use goroscope_events::{Event, EventKind, LossReason};

#[derive(Debug)]
pub struct EventCounts {
    pub by_kind: [u64; EventKind::NAMES.len()],
    pub total: u64,
    /// Sum of `Lost.count` per reason.
    pub drops: BTreeMap<LossReason, u64>,
}

impl Default for EventCounts {
    fn default() -> Self {
        Self {
            by_kind: [0; EventKind::NAMES.len()],
            total: 0,
            drops: BTreeMap::new(),
        }
    }
}

impl EventCounts {
    pub fn count(&mut self, event: &Event) {
        self.total += 1;
        if let Some(slot) = self.by_kind.get_mut(event.kind.index()) {
            *slot += 1;
        }
        if let EventKind::Lost { reason, count } = event.kind {
            let slot = self.drops.entry(reason).or_default();
            *slot = slot.saturating_add(count);
        }
    }

    pub fn drops_total(&self) -> u64 {
        self.drops.values().fold(0u64, |a, b| a.saturating_add(*b))
    }
}
