//! Reading a recording: [`Reader`] checks magic, version and header, then yields chunks one by
//! one, verifying each checksum. A file that ends inside a chunk (an interrupted recording) is
//! read up to its last complete chunk and noted as truncated — a warning, not an error; a
//! checksum mismatch or a foreign file is an error. As an [`EventSource`] it yields the events
//! and collects symbols, stats and the end record on the way.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use goroscope_events::{Event, EventSource, Meta, RuntimeStats, SourceError};

use crate::format::{
    chunk_crc, ChunkType, CHUNK_HEADER_BYTES, FORMAT_VERSION, MAGIC, MAX_CHUNK_BYTES,
    OLDEST_READABLE_VERSION, RUNTIME_STATS_VERSION,
};
use crate::{
    decode_events, EndRecord, Error, Header, MetaTables, StackEntry, StatsRecord, SymbolEntry,
};

/// One decoded chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Events(Vec<Event>),
    Symbols(Vec<SymbolEntry>),
    Stacks(Vec<StackEntry>),
    Stats(StatsRecord),
    /// One reading of the runtime's own statistics.
    RuntimeStats(Box<RuntimeStats>),
    End(EndRecord),
}

/// What reading found besides the events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub complete_chunks: u64,
    pub events: u64,
    /// The file ended inside a chunk.
    pub truncated: bool,
    /// The last stats chunk.
    pub stats: Option<StatsRecord>,
    /// The end chunk (None: the recording was interrupted).
    pub end: Option<EndRecord>,
    pub max_ts_ns: u64,
}

impl ReadSummary {
    /// Human warnings about an incomplete recording.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.truncated {
            w.push(format!(
                "truncated after {} complete chunks: the recording was cut off; everything up \
                 to there is analysed",
                self.complete_chunks
            ));
        }
        if self.end.is_none() {
            w.push(
                "the recording has no end chunk: goroscope record did not finish (killed?), \
                 so the end of the trace is missing"
                    .to_string(),
            );
        }
        w
    }
}

/// A recording being read.
pub struct Reader<R: Read> {
    input: R,
    header: Header,
    /// Symbols and stacks from their chunks.
    tables: MetaTables,
    summary: ReadSummary,
    /// No more chunks will be read (end of file, truncation).
    done: bool,
    losses_emitted: bool,
}

impl Reader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path)?;
        Reader::new(BufReader::with_capacity(1 << 20, file))
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, Error> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

impl<R: Read> Reader<R> {
    /// Reads and checks magic, version and header.
    pub fn new(mut input: R) -> Result<Self, Error> {
        let mut start = [0u8; 20];
        let n = read_full(&mut input, &mut start)?;
        if n < MAGIC.len() || start[..MAGIC.len()] != MAGIC {
            return Err(Error::NotRecording);
        }
        if n < 12 {
            return Err(Error::TruncatedHeader);
        }
        let version = le_u32(&start, 8);
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(Error::UnsupportedVersion(version));
        }
        if n < start.len() {
            return Err(Error::TruncatedHeader);
        }
        let len = le_u32(&start, 12);
        let crc = le_u32(&start, 16);
        if len > MAX_CHUNK_BYTES {
            return Err(Error::Malformed(format!("header length {len} too large")));
        }
        let mut json = vec![0u8; len as usize];
        if read_full(&mut input, &mut json)? < json.len() {
            return Err(Error::TruncatedHeader);
        }
        if crc32fast::hash(&json) != crc {
            return Err(Error::Malformed("header checksum mismatch".into()));
        }
        let mut header: Header =
            serde_json::from_slice(&json).map_err(|e| Error::Malformed(format!("header: {e}")))?;
        if version < RUNTIME_STATS_VERSION {
            header.mark_runtime_stats_absent();
        }
        Ok(Reader {
            input,
            header,
            tables: MetaTables::default(),
            summary: ReadSummary::default(),
            done: false,
            losses_emitted: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn summary(&self) -> &ReadSummary {
        &self.summary
    }

    /// The next complete chunk, None at the end of the file or of its complete part.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        if self.done {
            return Ok(None);
        }
        let index = self.summary.complete_chunks;
        let mut head = [0u8; CHUNK_HEADER_BYTES];
        let n = read_full(&mut self.input, &mut head)?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        if n < head.len() {
            return Ok(self.truncated());
        }
        let raw_len = le_u32(&head, 4);
        let zlen = le_u32(&head, 8);
        let crc = le_u32(&head, 12);
        if raw_len > MAX_CHUNK_BYTES || zlen > MAX_CHUNK_BYTES {
            return Err(Error::Malformed(format!(
                "chunk {index}: length {} out of range",
                raw_len.max(zlen)
            )));
        }
        let mut payload = vec![0u8; zlen as usize];
        if read_full(&mut self.input, &mut payload)? < payload.len() {
            return Ok(self.truncated());
        }
        if chunk_crc(&head[..12], &payload) != crc {
            return Err(Error::ChecksumMismatch(index));
        }
        let malformed = |what: String| Error::Malformed(format!("chunk {index}: {what}"));
        let kind = ChunkType::from_u8(head[0])
            .ok_or_else(|| malformed(format!("unknown chunk type {}", head[0])))?;
        if head[1..4] != [0, 0, 0] {
            return Err(malformed("reserved bytes are not zero".into()));
        }
        let raw = zstd::bulk::decompress(&payload, raw_len as usize)
            .map_err(|e| malformed(format!("decompressing: {e}")))?;
        if raw.len() != raw_len as usize {
            return Err(malformed(
                "decompressed length differs from the header".into(),
            ));
        }
        let json_err = |e: serde_json::Error| malformed(e.to_string());
        let chunk = match kind {
            ChunkType::Events => {
                let mut events = Vec::new();
                decode_events(&raw, &mut events).map_err(|e| malformed(e.to_string()))?;
                self.summary.events += events.len() as u64;
                for e in &events {
                    self.summary.max_ts_ns = self.summary.max_ts_ns.max(e.ts_ns);
                }
                Chunk::Events(events)
            }
            ChunkType::Symbols => {
                let symbols: Vec<SymbolEntry> = serde_json::from_slice(&raw).map_err(json_err)?;
                self.tables.add_symbols(&symbols);
                Chunk::Symbols(symbols)
            }
            ChunkType::Stacks => {
                let stacks: Vec<StackEntry> = serde_json::from_slice(&raw).map_err(json_err)?;
                self.tables.add_stacks(&stacks);
                Chunk::Stacks(stacks)
            }
            ChunkType::Stats => {
                let stats: StatsRecord = serde_json::from_slice(&raw).map_err(json_err)?;
                self.summary.stats = Some(stats.clone());
                Chunk::Stats(stats)
            }
            ChunkType::RuntimeStats => {
                let stats: RuntimeStats = serde_json::from_slice(&raw).map_err(json_err)?;
                Chunk::RuntimeStats(Box::new(stats))
            }
            ChunkType::End => {
                let end: EndRecord = serde_json::from_slice(&raw).map_err(json_err)?;
                self.summary.end = Some(end.clone());
                Chunk::End(end)
            }
        };
        self.summary.complete_chunks += 1;
        Ok(Some(chunk))
    }

    fn truncated(&mut self) -> Option<Chunk> {
        self.summary.truncated = true;
        self.done = true;
        None
    }

    /// Everything besides events the analysis needs: Go version, wait reasons, what the
    /// events capture, and the symbols read so far (all of them once the events are read).
    pub fn meta(&self) -> Meta {
        self.tables.meta(&self.header)
    }

    /// The losses of the last stats chunk, as `Lost` events stamped at the last event's time.
    fn loss_events(&self) -> Vec<Event> {
        match &self.summary.stats {
            Some(stats) => stats.loss_events(self.summary.max_ts_ns),
            None => Vec::new(),
        }
    }
}

impl<R: Read> EventSource for Reader<R> {
    fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<bool, SourceError> {
        loop {
            match self
                .next_chunk()
                .map_err(|e| SourceError::Malformed(e.to_string()))?
            {
                Some(Chunk::Events(mut events)) => {
                    out.append(&mut events);
                    return Ok(true);
                }
                Some(_) => {}
                None => {
                    if !self.losses_emitted {
                        self.losses_emitted = true;
                        out.extend(self.loss_events());
                    }
                    return Ok(false);
                }
            }
        }
    }
}
