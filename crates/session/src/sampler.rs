//! The runtime's own scheduler counters (idle Ps, spinning Ms, global run queue length,
//! GOMAXPROCS), read from the target's memory (`procstat::SchedSampler`) every [`INTERVAL`] on a
//! thread of ours and turned into `SchedSample` events: no probe on a hot path, so even the
//! monitor level has them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use goinspect::Inspection;
use goroscope_events::{Event, EventKind};
use procstat::{SchedAddresses, SchedOffsets, SchedSampler};

/// How often the counters are read.
pub const INTERVAL: Duration = Duration::from_millis(10);

/// A running sampler; dropping it stops the thread.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    samples: Receiver<Event>,
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
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, samples) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("goroscope-sampler".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
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
        })
    }

    /// Stops the thread and returns the samples it took, the last ones included.
    pub fn into_samples(mut self) -> Receiver<Event> {
        self.stop_thread();
        let (_, empty) = mpsc::channel();
        std::mem::replace(&mut self.samples, empty)
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
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
