//! [`Consumer`]: what a session (or a replay) hands its captures to, and the small records that
//! go with them. A session calls its consumers in the order given, each hook in turn for every
//! consumer; an error from any of them ends the session (the tracer is still detached).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use goroscope_events::{Event, EventKind, GoroutineSnapshot, KernelAggregates, RuntimeStats};
use goroscope_record::{EndRecord, Header, StackEntry, StatsRecord, SymbolEntry};

/// Receives what a session captures. Only [`Consumer::on_batch`] is required; every other hook
/// defaults to nothing. A consumer that must run on a thread of its own is `Send` (the recorder
/// and the analysis are) and is passed as `&mut *boxed` from a `Box<dyn Consumer + Send>`.
pub trait Consumer {
    /// The tracer is attached and a launched target has not run its first instruction yet;
    /// `header` is what a recording of this session starts with. An error here (a file that
    /// cannot be created) ends the session before the target runs.
    fn start(&mut self, _header: &Header) -> Result<()> {
        Ok(())
    }

    /// The target runs: events flow from now on (live sessions only, not replays).
    fn running(&mut self, _target: &TargetInfo) {}

    /// Something the user should know that does not stop the session (a runtime function that
    /// could not be probed, an unknown load bias).
    fn on_warning(&mut self, _message: &str) {}

    /// Source positions of pcs the next batches refer to, each pc once per session; always
    /// before the first batch that needs them.
    fn on_symbols(&mut self, _symbols: &[SymbolEntry]) -> Result<()> {
        Ok(())
    }

    /// The next events, in the order read (not necessarily timestamp order across CPUs).
    /// Called about every 50 ms while live, possibly with none.
    fn on_batch(&mut self, events: &[Event]) -> Result<()>;

    /// Every goroutine of the target at one moment, read from its memory: when it starts
    /// running, every snapshot interval, and at the stop (after the last batch before it). The
    /// symbols of its pcs come first, through [`Consumer::on_symbols`].
    fn on_goroutines(&mut self, _snapshot: &GoroutineSnapshot) -> Result<()> {
        Ok(())
    }

    /// Once a second while live: where the session stands.
    fn on_progress(&mut self, _progress: &Progress) {}

    /// The tracer's cumulative counters, once a second and once after the last batch (that
    /// last one counts every event delivered).
    fn on_stats(&mut self, _stats: &StatsRecord) -> Result<()> {
        Ok(())
    }

    /// A reading of the runtime's own statistics from the target's memory: every 250 ms
    /// while live and once at the end (after the last batch), in time order.
    fn on_runtime_stats(&mut self, _stats: &RuntimeStats) -> Result<()> {
        Ok(())
    }

    /// A reading of the kernel-side aggregates (per-thread on/off-CPU, switches, run-queue
    /// delay; syscalls by thread and number), cumulative since the first reading: once when the
    /// tracer is attached, about once a second, and once at the stop (after the last batch).
    /// Only at levels that keep them.
    fn on_kernel_aggregates(&mut self, _aggregates: &KernelAggregates) -> Result<()> {
        Ok(())
    }

    /// The user stacks the events' stack ids refer to (full level), once, after the last batch.
    fn on_stacks(&mut self, _stacks: &[StackEntry]) -> Result<()> {
        Ok(())
    }

    /// The session is over and the tracer detached.
    fn finish(&mut self, _end: &SessionEnd) -> Result<()> {
        Ok(())
    }
}

/// The traced process, once it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    pub pid: u32,
    /// The executable the probes are attached to.
    pub binary: PathBuf,
    pub go_version: String,
    /// Started by the session (else attached to).
    pub launched: bool,
}

/// How a session ended, as a recording's end chunk says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionEnd {
    /// None only when replaying a recording that has no end chunk (its recorder was killed).
    pub end: Option<EndRecord>,
}

/// Where a live session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Since the probes were attached.
    pub elapsed: Duration,
    pub counts: Counts,
    /// Events lost so far, all reasons together.
    pub drops: u64,
}

/// Cheap counters for progress lines and summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub events: u64,
    pub goroutines_created: u64,
    pub goroutines_exited: u64,
    pub threads_created: u64,
    pub threads_exited: u64,
    /// The runtime sampler's tracked runnable→running transitions (`go_sample`).
    pub scheduling_samples: u64,
    /// Times the tracer's gate detached the sample probe (samples above the rate limit).
    pub sampler_pauses: u64,
}

impl Counts {
    pub fn add(&mut self, events: &[Event]) {
        self.events += events.len() as u64;
        for e in events {
            match e.kind {
                EventKind::GoCreate { .. } => self.goroutines_created += 1,
                EventKind::GoExit { .. } => self.goroutines_exited += 1,
                EventKind::ThreadFork { .. } => self.threads_created += 1,
                EventKind::ThreadExit => self.threads_exited += 1,
                EventKind::GoSample { .. } => self.scheduling_samples += 1,
                EventKind::SamplerGate { paused: true, .. } => self.sampler_pauses += 1,
                _ => {}
            }
        }
    }
}
