//! Writing a recording: [`ChunkWriter`] frames and compresses chunks onto any `Write`;
//! [`RecordingWriter`] runs one on its own thread behind a bounded channel, so the tracer's
//! poll loop never waits for compression or the disk (it waits only when the channel is full,
//! which bounds memory: a few messages of at most 16 Ki events each).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use goroscope_events::{Event, GoroutineSnapshot, KernelAggregates, RuntimeStats};

use crate::format::{chunk_crc, ChunkType, FORMAT_VERSION, MAGIC, MAX_CHUNK_BYTES};
use crate::{
    encode_events, EndRecord, Error, Header, StackEntry, StatsRecord, SymbolEntry, EVENT_SIZE,
};

/// zstd level. The recorder shares the machine with the program it watches, and compressing
/// events was ~40% of its CPU at level 3 (perf, spawn storm at the default level): level 1 (the
/// "fast" strategy) costs about half and still shrinks events several times.
const ZSTD_LEVEL: i32 = 1;

/// Most events in one chunk (keeps chunks well under [`MAX_CHUNK_BYTES`]).
const MAX_EVENTS_PER_CHUNK: usize = 64 * 1024;

/// Most goroutines in one goroutines chunk: a goroutine's JSON is at most ~1 KB (fields plus
/// [`goroscope_events::MAX_STACK_DEPTH`] return addresses), so a part stays near 20 MiB, well
/// under [`MAX_CHUNK_BYTES`].
pub const GOROUTINES_PER_CHUNK: usize = 20_000;

/// Synchronous chunk writer. Every chunk is flushed to the file when written, so a killed
/// writer leaves every chunk written so far readable.
pub struct ChunkWriter<W: Write> {
    out: W,
    chunks: u64,
    events: u64,
    /// One compression context for every chunk (creating one per chunk showed in profiles).
    compressor: zstd::bulk::Compressor<'static>,
}

impl<W: Write> ChunkWriter<W> {
    /// Writes magic, format version and header.
    pub fn new(mut out: W, header: &Header) -> Result<Self, Error> {
        let json = serde_json::to_vec(header).map_err(|e| Error::Malformed(e.to_string()))?;
        let len = u32::try_from(json.len())
            .ok()
            .filter(|l| *l <= MAX_CHUNK_BYTES)
            .ok_or_else(|| Error::Malformed("header too large".into()))?;
        out.write_all(&MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_le_bytes())?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(&crc32fast::hash(&json).to_le_bytes())?;
        out.write_all(&json)?;
        out.flush()?;
        Ok(ChunkWriter {
            out,
            chunks: 0,
            events: 0,
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
        })
    }

    pub fn write_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for part in events.chunks(MAX_EVENTS_PER_CHUNK) {
            let mut raw = Vec::with_capacity(part.len() * EVENT_SIZE);
            encode_events(part, &mut raw);
            self.write_chunk(ChunkType::Events, &raw)?;
            self.events += part.len() as u64;
        }
        Ok(())
    }

    pub fn write_symbols(&mut self, symbols: &[SymbolEntry]) -> Result<(), Error> {
        self.write_json(ChunkType::Symbols, &symbols)
    }

    pub fn write_stacks(&mut self, stacks: &[StackEntry]) -> Result<(), Error> {
        self.write_json(ChunkType::Stacks, &stacks)
    }

    pub fn write_stats(&mut self, stats: &StatsRecord) -> Result<(), Error> {
        self.write_json(ChunkType::Stats, stats)
    }

    /// A goroutine snapshot: its JSON (tens of MB for 100,000 goroutines) is streamed into the
    /// compressor rather than built whole first.
    pub fn write_goroutines(&mut self, snapshot: &GoroutineSnapshot) -> Result<(), Error> {
        // A snapshot of many goroutines would pass the chunk size limit: it goes in parts of
        // consecutive chunks, which the reader joins.
        for part in snapshot.parts(GOROUTINES_PER_CHUNK) {
            let mut encoder = Counting {
                inner: zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL)?,
                count: 0,
            };
            serde_json::to_writer(&mut encoder, &part)
                .map_err(|e| Error::Malformed(e.to_string()))?;
            let raw_len = encoder.count;
            let compressed = encoder.inner.finish()?;
            self.write_compressed(ChunkType::Goroutines, raw_len, &compressed)?;
        }
        Ok(())
    }

    /// One reading of the runtime's own statistics (a few KB of JSON).
    pub fn write_runtime_stats(&mut self, stats: &RuntimeStats) -> Result<(), Error> {
        self.write_json(ChunkType::RuntimeStats, stats)
    }

    /// One reading of the kernel aggregates (cumulative since the recording started).
    pub fn write_kernel_aggregates(&mut self, k: &KernelAggregates) -> Result<(), Error> {
        self.write_json(ChunkType::KernelAggregates, k)
    }

    pub fn write_end(&mut self, end: &EndRecord) -> Result<(), Error> {
        self.write_json(ChunkType::End, end)
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_json<T: serde::Serialize>(&mut self, kind: ChunkType, v: &T) -> Result<(), Error> {
        let json = serde_json::to_vec(v).map_err(|e| Error::Malformed(e.to_string()))?;
        self.write_chunk(kind, &json)
    }

    fn write_chunk(&mut self, kind: ChunkType, raw: &[u8]) -> Result<(), Error> {
        let compressed = self.compressor.compress(raw)?;
        self.write_compressed(kind, raw.len(), &compressed)
    }

    /// Frames `compressed` (the zstd compression of `raw_len` bytes) as a chunk.
    fn write_compressed(
        &mut self,
        kind: ChunkType,
        raw_len: usize,
        compressed: &[u8],
    ) -> Result<(), Error> {
        let fits = |n: usize| u32::try_from(n).ok().filter(|n| *n <= MAX_CHUNK_BYTES);
        let (Some(raw_len), Some(zlen)) = (fits(raw_len), fits(compressed.len())) else {
            return Err(Error::Malformed("chunk too large".into()));
        };
        let mut head = [0u8; 12];
        head[0] = kind as u8;
        head[4..8].copy_from_slice(&raw_len.to_le_bytes());
        head[8..12].copy_from_slice(&zlen.to_le_bytes());
        let crc = chunk_crc(&head, compressed);
        // One write per chunk, then flush: a chunk reaches the file whole or (if the process
        // dies mid-write) as a detectable truncated tail.
        let mut buf = Vec::with_capacity(16 + compressed.len());
        buf.extend_from_slice(&head);
        buf.extend_from_slice(&crc.to_le_bytes());
        buf.extend_from_slice(compressed);
        self.out.write_all(&buf)?;
        self.out.flush()?;
        self.chunks += 1;
        Ok(())
    }
}

/// What the writer thread did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterTotals {
    pub events: u64,
    pub chunks: u64,
    pub bytes: u64,
}

enum Message {
    Events(Vec<Event>),
    Symbols(Vec<SymbolEntry>),
    Stacks(Vec<StackEntry>),
    Stats(StatsRecord),
    RuntimeStats(Box<RuntimeStats>),
    KernelAggregates(Box<KernelAggregates>),
    End(EndRecord),
    Goroutines(Box<GoroutineSnapshot>),
}

/// A recording being written by a background thread.
pub struct RecordingWriter {
    tx: Option<SyncSender<Message>>,
    thread: Option<JoinHandle<Result<WriterTotals, Error>>>,
}

impl RecordingWriter {
    /// Messages queued before senders block. With events messages of at most
    /// [`Self::EVENTS_PER_MESSAGE`], what waits for the writer thread is bounded (~8 MiB of
    /// events); a writer that falls behind holds the tracer's reader back, and the ring buffer,
    /// not goroscope's memory, overflows (counted as drops).
    const QUEUE: usize = 8;
    /// Most events in one message: a bigger batch is split.
    const EVENTS_PER_MESSAGE: usize = 16 * 1024;

    /// Creates `path` (truncating it), writes the header, and starts the writer thread.
    pub fn create(path: &Path, header: &Header) -> Result<Self, Error> {
        let file = File::create(path)?;
        let writer = ChunkWriter::new(BufWriter::new(file), header)?;
        let (tx, rx) = sync_channel::<Message>(Self::QUEUE);
        let thread = std::thread::Builder::new()
            .name("goroscope-writer".into())
            .spawn(move || {
                let mut w = writer;
                for message in rx {
                    match message {
                        Message::Events(events) => w.write_events(&events)?,
                        Message::Symbols(symbols) => w.write_symbols(&symbols)?,
                        Message::Stacks(stacks) => w.write_stacks(&stacks)?,
                        Message::Stats(stats) => w.write_stats(&stats)?,
                        Message::RuntimeStats(stats) => w.write_runtime_stats(&stats)?,
                        Message::KernelAggregates(k) => w.write_kernel_aggregates(&k)?,
                        Message::End(end) => w.write_end(&end)?,
                        Message::Goroutines(snapshot) => w.write_goroutines(&snapshot)?,
                    }
                }
                let (events, chunks) = (w.events(), w.chunks());
                let file = w
                    .into_inner()
                    .into_inner()
                    .map_err(|e| Error::Io(e.into_error()))?;
                file.sync_all()?;
                let bytes = file.metadata()?.len();
                Ok(WriterTotals {
                    events,
                    chunks,
                    bytes,
                })
            })?;
        Ok(RecordingWriter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn events(&mut self, events: Vec<Event>) -> Result<(), Error> {
        if events.len() <= Self::EVENTS_PER_MESSAGE {
            if events.is_empty() {
                return Ok(());
            }
            return self.send(Message::Events(events));
        }
        for part in events.chunks(Self::EVENTS_PER_MESSAGE) {
            self.send(Message::Events(part.to_vec()))?;
        }
        Ok(())
    }

    pub fn symbols(&mut self, symbols: Vec<SymbolEntry>) -> Result<(), Error> {
        if symbols.is_empty() {
            return Ok(());
        }
        self.send(Message::Symbols(symbols))
    }

    /// User stacks the events refer to (written once, at the end of a recording).
    pub fn stacks(&mut self, stacks: Vec<StackEntry>) -> Result<(), Error> {
        if stacks.is_empty() {
            return Ok(());
        }
        self.send(Message::Stacks(stacks))
    }

    /// One goroutine snapshot, in its own chunk.
    pub fn goroutines(&mut self, snapshot: GoroutineSnapshot) -> Result<(), Error> {
        self.send(Message::Goroutines(Box::new(snapshot)))
    }

    pub fn stats(&mut self, stats: StatsRecord) -> Result<(), Error> {
        self.send(Message::Stats(stats))
    }

    /// One reading of the runtime's statistics (about once a second and once at the end).
    pub fn runtime_stats(&mut self, stats: RuntimeStats) -> Result<(), Error> {
        self.send(Message::RuntimeStats(Box::new(stats)))
    }

    /// One reading of the kernel aggregates (once at the start, about once a second, and once
    /// at the end).
    pub fn kernel_aggregates(&mut self, k: KernelAggregates) -> Result<(), Error> {
        self.send(Message::KernelAggregates(Box::new(k)))
    }

    /// Writes the end chunk, closes the file and returns what was written (or the first write
    /// error of the thread).
    pub fn finish(mut self, end: EndRecord) -> Result<WriterTotals, Error> {
        // A failed send has joined the stopped thread and returns why it stopped.
        self.send(Message::End(end))?;
        self.join()
    }

    /// Queues a message; if the thread has stopped, returns the error that stopped it.
    fn send(&mut self, message: Message) -> Result<(), Error> {
        let sent = match &self.tx {
            Some(tx) => tx.send(message).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        match self.join() {
            Err(e) => Err(e),
            Ok(_) => Err(Error::WriterGone),
        }
    }

    fn join(&mut self) -> Result<WriterTotals, Error> {
        self.tx = None; // closes the channel: the thread drains it and returns
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(Error::Malformed("the writer thread panicked".into()))),
            None => Err(Error::WriterGone),
        }
    }
}

impl Drop for RecordingWriter {
    /// Without `finish`: what was queued is still written (no end chunk).
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.join();
        }
    }
}

/// A writer that counts the bytes written through it (a chunk header holds the raw length).
struct Counting<W: Write> {
    inner: W,
    count: usize,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
