//! [`Recorder`]: the consumer that writes a session to a recording file
//! (`goroscope_record::RecordingWriter`, docs/recording-format.md): header at the start, symbol
//! chunks before the events that need them, event chunks at least every [`FLUSH_EVERY`], stats,
//! goroutine snapshots, stacks, and the end chunk at the finish.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use goroscope_events::{Event, GoroutineSnapshot, KernelAggregates, RuntimeStats};
use goroscope_record::{
    Header, RecordingWriter, StackEntry, StatsRecord, SymbolEntry, WriterTotals,
};

use crate::consumer::{Consumer, SessionEnd};
use crate::output_file::{self, Overwrite};

/// Events are handed to the writer at least this often (bounds what a SIGKILL loses).
const FLUSH_EVERY: Duration = Duration::from_millis(200);
const FLUSH_EVENTS: usize = 16 * 1024;

/// Writes what it receives to a recording at `path`, created at the start after the checks of
/// [`Overwrite`] (an existing recording is moved to `FILE.old`).
pub struct Recorder {
    path: PathBuf,
    overwrite: Overwrite,
    /// Where an existing recording at `path` was moved.
    moved_aside: Option<PathBuf>,
    writer: Option<RecordingWriter>,
    /// Events not yet handed to the writer.
    pending: Vec<Event>,
    last_flush: Instant,
    totals: Option<WriterTotals>,
}

impl Recorder {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Recorder {
            path: path.into(),
            overwrite: Overwrite::default(),
            moved_aside: None,
            writer: None,
            pending: Vec::new(),
            last_flush: Instant::now(),
            totals: None,
        }
    }

    /// What to do with a file already at the path (default: keep an old recording as
    /// `FILE.old`, refuse anything else).
    pub fn overwrite(mut self, overwrite: Overwrite) -> Self {
        self.overwrite = overwrite;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the recording that was at the path before was moved (`FILE.old`), if one was.
    pub fn moved_aside(&self) -> Option<&Path> {
        self.moved_aside.as_deref()
    }

    /// What was written, once finished with an end record.
    pub fn totals(&self) -> Option<WriterTotals> {
        self.totals
    }

    fn writer(&mut self) -> Result<&mut RecordingWriter> {
        self.writer
            .as_mut()
            .context("the recorder received data before the session started")
    }

    fn flush(&mut self) -> Result<()> {
        let events = std::mem::take(&mut self.pending);
        self.last_flush = Instant::now();
        self.writer()?.events(events)?;
        Ok(())
    }
}

impl Consumer for Recorder {
    fn start(&mut self, header: &Header) -> Result<()> {
        // The traced executable, by the path inspected and (attached) as the process maps it.
        let protected = [
            PathBuf::from(&header.target.path),
            PathBuf::from(format!("/proc/{}/exe", header.target.pid)),
        ];
        self.moved_aside = output_file::prepare(&self.path, &protected, self.overwrite)?;
        let writer = RecordingWriter::create(&self.path, header)
            .with_context(|| format!("creating {}", self.path.display()))?;
        self.writer = Some(writer);
        self.last_flush = Instant::now();
        Ok(())
    }

    fn on_symbols(&mut self, symbols: &[SymbolEntry]) -> Result<()> {
        self.writer()?.symbols(symbols.to_vec())?;
        Ok(())
    }

    fn on_batch(&mut self, events: &[Event]) -> Result<()> {
        self.pending.extend_from_slice(events);
        if self.pending.len() >= FLUSH_EVENTS || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// After the events delivered so far, so the chunk sits in time order among them.
    fn on_runtime_stats(&mut self, stats: &RuntimeStats) -> Result<()> {
        self.flush()?;
        self.writer()?.runtime_stats(stats.clone())?;
        Ok(())
    }

    /// Also in time order among the events (chunk type 8).
    fn on_kernel_aggregates(&mut self, aggregates: &KernelAggregates) -> Result<()> {
        self.flush()?;
        self.writer()?.kernel_aggregates(aggregates.clone())?;
        Ok(())
    }

    /// The events delivered so far go first, so a stats chunk counts the events before it.
    fn on_stats(&mut self, stats: &StatsRecord) -> Result<()> {
        self.flush()?;
        self.writer()?.stats(stats.clone())?;
        Ok(())
    }

    /// The events delivered before it go first, so the file keeps the session's order.
    fn on_goroutines(&mut self, snapshot: &GoroutineSnapshot) -> Result<()> {
        self.flush()?;
        self.writer()?.goroutines(snapshot.clone())?;
        Ok(())
    }

    fn on_stacks(&mut self, stacks: &[StackEntry]) -> Result<()> {
        self.writer()?.stacks(stacks.to_vec())?;
        Ok(())
    }

    /// Writes the end chunk and closes the file; without an end record (a replay of an
    /// interrupted recording) the file is closed without one, like its source.
    fn finish(&mut self, end: &SessionEnd) -> Result<()> {
        self.flush()?;
        let writer = self.writer.take().context("the recorder was not started")?;
        match &end.end {
            Some(record) => {
                let totals = writer
                    .finish(record.clone())
                    .with_context(|| format!("writing {}", self.path.display()))?;
                self.totals = Some(totals);
            }
            None => drop(writer),
        }
        Ok(())
    }
}
