//! The tracer's counters: events submitted and lost per type and reason, read from the BPF
//! per-CPU `stats` array (slots in goroscope.h, `GS_STAT_*`) and summed over CPUs, plus the
//! records user space could not decode.

use anyhow::{anyhow, Context, Result};
use goroscope_abi::{self as abi, EventType};
use libbpf_rs::{MapCore, MapFlags};

/// Per-event-type counts, indexed by the ABI type tag (index 0 unused).
pub type PerType = [u64; abi::STAT_STRIDE as usize];

/// Everything the tracer has counted so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracerStats {
    /// Events put in the ring buffer.
    pub submitted: PerType,
    /// Events lost because the ring buffer was full (the reader fell behind).
    pub ring_full: PerType,
    /// Events lost because the Go runtime's memory could not be read (e.g. paged out, or a
    /// wrong offset), or a field of an event that was sent anyway could not be read.
    pub unreadable: PerType,
    /// Records user space received but could not decode.
    pub undecodable: u64,
    /// Kernel aggregates: thread updates and syscalls not stored because their map was full
    /// (syscalls also when their entry found no in-flight slot).
    pub kagg_threads_full: u64,
    pub kagg_syscalls_full: u64,
}

// `[u64; 64]` has no derived Default.
impl Default for TracerStats {
    fn default() -> Self {
        TracerStats {
            submitted: [0; abi::STAT_STRIDE as usize],
            ring_full: [0; abi::STAT_STRIDE as usize],
            unreadable: [0; abi::STAT_STRIDE as usize],
            undecodable: 0,
            kagg_threads_full: 0,
            kagg_syscalls_full: 0,
        }
    }
}

/// The losses, summed: what a summary shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    pub ring_full: u64,
    pub unreadable: u64,
    pub undecodable: u64,
    /// Kernel-aggregate updates not stored: a bounded map was full.
    pub aggregates_full: u64,
}

impl Drops {
    pub fn total(&self) -> u64 {
        self.ring_full + self.unreadable + self.undecodable + self.aggregates_full
    }
}

impl TracerStats {
    pub fn drops(&self) -> Drops {
        Drops {
            ring_full: self.ring_full.iter().sum(),
            unreadable: self.unreadable.iter().sum(),
            undecodable: self.undecodable,
            aggregates_full: self.kagg_threads_full + self.kagg_syscalls_full,
        }
    }

    pub fn total_submitted(&self) -> u64 {
        self.submitted.iter().sum()
    }

    /// `(type, submitted)` for every type with at least one event.
    pub fn submitted_by_type(&self) -> Vec<(EventType, u64)> {
        EventType::ALL
            .into_iter()
            .map(|t| (t, self.submitted[usize::from(t as u16)]))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Reads the `stats` map of a loaded tracer.
    pub(crate) fn read(map: &dyn MapCore, undecodable: u64) -> Result<Self> {
        let mut stats = TracerStats {
            undecodable,
            ..Default::default()
        };
        for i in 0..abi::STAT_STRIDE {
            let at = i as usize;
            stats.submitted[at] = sum_slot(map, abi::STAT_SUBMITTED + i)?;
            stats.ring_full[at] = sum_slot(map, abi::STAT_RESERVE_FAILED + i)?;
            stats.unreadable[at] = sum_slot(map, abi::STAT_READ_FAILED + i)?;
        }
        stats.kagg_threads_full = sum_slot(map, abi::STAT_KAGG_THREADS_FULL)?;
        // A call whose entry found no slot to time it is not counted either.
        stats.kagg_syscalls_full = sum_slot(map, abi::STAT_KAGG_SYSCALLS_FULL)?
            + sum_slot(map, abi::STAT_SYSCALL_UNTRACKED)?;
        Ok(stats)
    }
}

/// One slot of a per-CPU array of u64, summed over CPUs.
pub(crate) fn sum_slot(map: &dyn MapCore, slot: u32) -> Result<u64> {
    let per_cpu = map
        .lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY)
        .with_context(|| format!("reading tracer statistics slot {slot}"))?
        .ok_or_else(|| anyhow!("tracer statistics slot {slot} is missing"))?;
    per_cpu.iter().try_fold(0u64, |sum, value| {
        let bytes: [u8; 8] = value
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow!("tracer statistics slot {slot}: value is not 8 bytes"))?;
        Ok(sum.wrapping_add(u64::from_ne_bytes(bytes)))
    })
}
