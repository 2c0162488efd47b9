//! Goroutine snapshots during a session: every goroutine read from the target's memory
//! (`procstat::GoroutineReader`) on a thread of ours — once when the target runs, then every
//! interval — and once more, on the session's own thread, at the stop. No probe is involved, so
//! every level (monitor included) has them.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use goinspect::Inspection;
use goroscope_events::GoroutineSnapshot;
use procstat::{AllgsAddresses, GOffsets, GoroutineReader, ProcessMemory};

use crate::clock::monotonic_ns;

/// Whether snapshots can be read from the executable `inspection` describes (its `allgs`
/// globals were found and its layout has every g field read).
pub fn available(inspection: &Inspection) -> bool {
    AllgsAddresses::at_load_bias(inspection, 0).is_ok()
        && GOffsets::from_layout(&inspection.layout).is_ok()
}

/// A running snapshotter; dropping it stops the thread.
pub struct Snapshotter {
    reader: GoroutineReader<ProcessMemory>,
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    snapshots: Receiver<GoroutineSnapshot>,
}

impl Snapshotter {
    /// Starts snapshotting process `pid`, whose executable `inspection` describes, loaded at
    /// `load_bias`: at once, then every `interval` (None: only the first, and the final one the
    /// session asks for). Err (with why) if the binary's globals or layout are unknown.
    pub fn start(
        inspection: &Inspection,
        pid: u32,
        load_bias: u64,
        interval: Option<Duration>,
    ) -> anyhow::Result<Snapshotter> {
        let reader = GoroutineReader::new(
            ProcessMemory::new(pid)?,
            AllgsAddresses::at_load_bias(inspection, load_bias)?,
            GOffsets::from_layout(&inspection.layout)?,
            inspection.layout.constants.wait_reasons.len() as u64,
        )?;
        let (stop, stopped) = mpsc::channel::<()>();
        let (tx, snapshots) = mpsc::channel();
        let thread_reader = reader.clone();
        let thread = std::thread::Builder::new()
            .name("goroscope-goroutines".into())
            .spawn(move || loop {
                // A failed read (the runtime not initialised yet, the process gone) is simply
                // no snapshot.
                match thread_reader.snapshot(&monotonic_ns) {
                    Ok(s) => {
                        if tx.send(s).is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::debug!("a goroutine snapshot failed: {e}"),
                }
                let Some(interval) = interval else { return };
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
            })?;
        Ok(Snapshotter {
            reader,
            stop: Some(stop),
            thread: Some(thread),
            snapshots,
        })
    }

    /// The snapshots taken since the last call, oldest first.
    pub fn drain(&self) -> Vec<GoroutineSnapshot> {
        self.snapshots.try_iter().collect()
    }

    /// Stops the thread and takes the last snapshot now (None if it cannot be read: the target
    /// is gone), after the ones the thread took.
    pub fn finish(mut self) -> Vec<GoroutineSnapshot> {
        self.stop_thread();
        let mut out = self.drain();
        match self.reader.snapshot(&monotonic_ns) {
            Ok(s) => out.push(s),
            Err(e) => tracing::info!("the final goroutine snapshot failed: {e}"),
        }
        out
    }

    fn stop_thread(&mut self) {
        self.stop = None; // disconnects: the thread's wait ends at once
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Snapshotter {
    fn drop(&mut self) {
        self.stop_thread();
    }
}
