//! The runtime's own scheduler counters (idle Ps, spinning Ms, global run queue length,
//! GOMAXPROCS), read from the target's memory (`procstat::SchedSampler`) every [`INTERVAL`] on a
//! thread of ours and turned into `SchedSample` events: no probe on a hot path, so even the
//! monitor level has them. On the same thread, every [`RUNTIME_STATS_INTERVAL`], the runtime's
//! own statistics (`procstat::RuntimeStatsReader`: its latency and pause histograms, mutex
//! wait, goroutine ids, threads, GC cycles), and once more when the session ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use goinspect::Inspection;
use goroscope_events::{Event, EventKind, RuntimeStats};
use procstat::{
    RuntimeStatsAddresses, RuntimeStatsOffsets, RuntimeStatsReader, SchedAddresses, SchedOffsets,
    SchedSampler,
};

/// How often the counters are read.
pub const INTERVAL: Duration = Duration::from_millis(10);
/// How often the runtime's statistics are read: a few KB each (histograms), so not every
/// [`INTERVAL`]; the report compares the first reading with the last, and calibrates the
/// default level's rate-limited samples with the runtime's count between them: a launched
/// program that exits leaves at most this much after its last reading.
pub const RUNTIME_STATS_INTERVAL: Duration = Duration::from_millis(250);

/// A running sampler; dropping it stops the thread.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    samples: Receiver<Event>,
    runtime_stats: Receiver<RuntimeStats>,
    /// For the last reading, taken on the caller's thread when the session ends.
    stats_reader: Option<RuntimeStatsReader>,
}

impl Sampler {
    /// Starts sampling process `pid`, whose executable `inspection` describes, loaded at
    /// `load_bias`. None (with the reason logged) if the binary's globals or layout are unknown.
    pub fn start(inspection: &Inspection, pid: u32, load_bias: u64) -> Option<Sampler> {
        let sampler = SchedAddresses::at_load_bias(inspection, load_bias).and_then(|addresses| {
            SchedSampler::new(
                pid,
                addresses,
                SchedOffsets::from_layout(&inspection.layout)?,
            )
        });
        let sampler = match sampler {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!("not sampling the scheduler's counters: {why}");
                return None;
            }
        };
        let stats_reader = runtime_stats_reader(inspection, pid, load_bias);
        let thread_stats_reader = stats_reader.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, samples) = mpsc::channel();
        let (stats_tx, runtime_stats) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("goroscope-sampler".into())
            .spawn(move || {
                let mut next_stats = std::time::Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    // The first successful reading starts the report's window; a failed one
                    // (the runtime not initialised yet) is retried at the next tick.
                    if let Some(reader) = &thread_stats_reader {
                        if std::time::Instant::now() >= next_stats {
                            if let Ok(stats) = reader.read(crate::monotonic_ns()) {
                                next_stats = std::time::Instant::now() + RUNTIME_STATS_INTERVAL;
                                if stats_tx.send(stats).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    // A failed read (the runtime not initialised yet, the process gone) is
                    // simply no sample.
                    if let Ok(s) = sampler.sample() {
                        let event = Event {
                            ts_ns: crate::monotonic_ns(),
                            cpu: 0,
                            tid: 0,
                            kind: EventKind::SchedSample {
                                npidle: s.npidle,
                                nmspinning: s.nmspinning,
                                global_runq: s.global_runq,
                                gomaxprocs: s.gomaxprocs,
                            },
                        };
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                    std::thread::sleep(INTERVAL);
                }
            })
            .ok()?;
        Some(Sampler {
            stop,
            thread: Some(thread),
            samples,
            runtime_stats,
            stats_reader,
        })
    }

    /// Stops the thread, moves the samples it took (the last ones included) into `out`, and
    /// returns the runtime statistics it read followed by one more reading now, the end of the
    /// report's window (none if the target has exited: its last periodic reading then stands).
    pub fn finish(mut self, out: &mut Vec<Event>) -> Vec<RuntimeStats> {
        self.stop_thread();
        self.drain(out);
        let mut stats = self.drain_runtime_stats();
        stats.extend(
            self.stats_reader
                .as_ref()
                .and_then(|r| r.read(crate::monotonic_ns()).ok()),
        );
        stats
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Moves the samples taken so far into `out`.
    pub fn drain(&self, out: &mut Vec<Event>) {
        out.extend(self.samples.try_iter());
    }

    /// The runtime statistics read so far, oldest first.
    pub fn drain_runtime_stats(&self) -> Vec<RuntimeStats> {
        self.runtime_stats.try_iter().collect()
    }
}

/// The reader of the runtime's statistics, or None (logged) when the binary's layout lacks what
/// it needs.
fn runtime_stats_reader(
    inspection: &Inspection,
    pid: u32,
    load_bias: u64,
) -> Option<RuntimeStatsReader> {
    let reader = RuntimeStatsAddresses::at_load_bias(inspection, load_bias).and_then(|a| {
        RuntimeStatsReader::new(
            pid,
            a,
            RuntimeStatsOffsets::from_layout(&inspection.layout)?,
        )
    });
    match reader {
        Ok(r) => Some(r),
        Err(why) => {
            tracing::warn!("not reading the runtime's statistics: {why}");
            None
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
