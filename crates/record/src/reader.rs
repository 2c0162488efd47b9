//! Reading a recording: [`Reader`] checks magic, version and header, then yields chunks one by
//! one, verifying each checksum. A file that ends inside a chunk (an interrupted recording) is
//! read up to its last complete chunk and noted as truncated; a damaged chunk (checksum or
//! header wrong) is skipped — the reader resynchronises on the next valid chunk header — and
//! counted; bytes after the end chunk are ignored. Those are warnings in the summary, not
//! errors; a foreign file or a damaged file header is an error. As an [`EventSource`] it yields
//! the events and collects symbols, stats and the end record on the way.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use goroscope_events::{
    Event, EventKind, EventSource, GoroutineSnapshot, KernelAggregates, LossReason, Meta,
    RuntimeStats, SourceError,
};

use crate::format::{
    chunk_crc, ChunkType, CHUNK_HEADER_BYTES, FORMAT_VERSION, KERNEL_AGGREGATES_VERSION, MAGIC,
    MAX_CHUNK_BYTES, MEMORY_CHUNKS_VERSION, OLDEST_READABLE_VERSION, SAMPLED_LEVELS_VERSION,
};
use crate::{
    decode_events, EndRecord, Error, Header, MetaTables, StackEntry, StatsRecord, SymbolEntry,
    EVENT_SIZE,
};

/// One decoded chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Events(Vec<Event>),
    Symbols(Vec<SymbolEntry>),
    Stacks(Vec<StackEntry>),
    Stats(StatsRecord),
    End(EndRecord),
    Goroutines(Box<GoroutineSnapshot>),
    /// One reading of the runtime's own statistics.
    RuntimeStats(Box<RuntimeStats>),
    /// One reading of the kernel aggregates (cumulative: the last one covers the recording).
    KernelAggregates(Box<KernelAggregates>),
}

/// What reading found besides the events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub complete_chunks: u64,
    pub events: u64,
    /// The file ended inside a chunk.
    pub truncated: bool,
    /// Events the chunk cut off by the end of the file held, from its header (0 if the cut
    /// chunk held no events or its header is incomplete).
    pub truncated_events: u64,
    /// Damaged chunks skipped (their checksum or header did not match their bytes).
    pub corrupt_chunks: u64,
    /// Bytes skipped with them.
    pub corrupt_bytes: u64,
    /// Events those chunks held: from their headers, corrected by the event counts of the
    /// stats and end chunks after them.
    pub corrupt_events: u64,
    /// Bytes after the end chunk, ignored.
    pub trailing_bytes: u64,
    /// The last stats chunk.
    pub stats: Option<StatsRecord>,
    /// The end chunk (None: the recording was interrupted).
    pub end: Option<EndRecord>,
    pub max_ts_ns: u64,
    /// Goroutine snapshots read.
    pub goroutine_snapshots: u64,
}

/// "1 chunk", "2 chunks".
fn plural(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

impl ReadSummary {
    /// Human warnings about an incomplete or damaged recording.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.corrupt_chunks > 0 {
            w.push(format!(
                "skipped {} ({} bytes, {}): the file is damaged there; everything else is \
                 analysed",
                plural(self.corrupt_chunks, "corrupt chunk"),
                self.corrupt_bytes,
                match self.corrupt_events {
                    0 => "events lost unknown".to_string(),
                    n => format!("{} lost", plural(n, "event")),
                },
            ));
        }
        if self.truncated {
            w.push(format!(
                "truncated after {}: the recording was cut off; everything up to there is \
                 analysed",
                plural(self.complete_chunks, "complete chunk"),
            ));
        }
        if self.end.is_none() {
            w.push(
                "the recording has no end chunk: goroscope record did not finish (killed?), \
                 so the end of the trace is missing"
                    .to_string(),
            );
        }
        if self.trailing_bytes > 0 {
            w.push(format!(
                "ignored {} after the end chunk (not part of the recording)",
                plural(self.trailing_bytes, "byte"),
            ));
        }
        w
    }

    /// The events lost to the file's damage (cut off, corrupt chunks) as `Lost` events stamped
    /// at the last event's time, as the analysis counts drops.
    pub fn damage_loss_events(&self) -> Vec<Event> {
        [
            (LossReason::TruncatedRecording, self.truncated_events),
            (LossReason::CorruptChunk, self.corrupt_events),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(reason, count)| Event {
            ts_ns: self.max_ts_ns,
            cpu: 0,
            tid: 0,
            kind: EventKind::Lost { reason, count },
        })
        .collect()
    }
}

/// A recording being read.
pub struct Reader<R: Read> {
    input: R,
    /// Bytes read from `input` and not consumed yet: `buf[pos..]`. Holds one chunk at most
    /// (plus the look-ahead of a resynchronisation).
    buf: Vec<u8>,
    pos: usize,
    /// `input` has no more bytes.
    eof: bool,
    header: Header,
    /// Symbols and stacks from their chunks.
    tables: MetaTables,
    summary: ReadSummary,
    /// No more chunks will be read (end of file, truncation).
    done: bool,
    losses_emitted: bool,
    /// The first parts of a goroutine snapshot that spans several chunks, until its last part.
    snapshot_parts: Option<Box<GoroutineSnapshot>>,
    /// A chunk read while parts were pending that did not continue them, returned next.
    queued: Option<Chunk>,
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

/// The first bytes of every zstd frame (RFC 8878), which every chunk payload is.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A chunk header's fields.
#[derive(Debug, Clone, Copy)]
struct ChunkHead {
    kind: Option<ChunkType>,
    raw_len: u32,
    zlen: u32,
    crc: u32,
    /// Type known, reserved bytes zero, lengths in range: it could be a chunk.
    plausible: bool,
}

impl ChunkHead {
    /// Parses what there is of a header (missing bytes read as zero).
    fn parse(head: &[u8]) -> ChunkHead {
        let kind = head.first().and_then(|b| ChunkType::from_u8(*b));
        let raw_len = le_u32(head, 4);
        let zlen = le_u32(head, 8);
        ChunkHead {
            kind,
            raw_len,
            zlen,
            crc: le_u32(head, 12),
            plausible: kind.is_some()
                && head.get(1..4) == Some(&[0, 0, 0])
                && raw_len <= MAX_CHUNK_BYTES
                && zlen <= MAX_CHUNK_BYTES,
        }
    }

    /// The events an events chunk with this header holds (0 for any other chunk).
    fn events(&self) -> u64 {
        match self.kind {
            Some(ChunkType::Events) if self.raw_len as usize % EVENT_SIZE == 0 => {
                (self.raw_len as usize / EVENT_SIZE) as u64
            }
            _ => 0,
        }
    }
}

/// What is at the read position.
enum Found {
    /// A whole chunk whose checksum matches, `len` bytes with its header.
    Chunk { head: ChunkHead, len: usize },
    /// The file ends inside what starts like a chunk.
    Cut(ChunkHead),
    /// Bytes that are not a valid chunk.
    Damaged(ChunkHead),
    /// Nothing: the end of the file.
    End,
}

impl<R: Read> Reader<R> {
    /// Reads and checks magic, version and header.
    pub fn new(mut input: R) -> Result<Self, Error> {
        let mut start = [0u8; 20];
        let n = read_full(&mut input, &mut start)?;
        if n == 0 {
            return Err(Error::Empty);
        }
        if start[..n.min(MAGIC.len())] != MAGIC[..n.min(MAGIC.len())] {
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
        if version < SAMPLED_LEVELS_VERSION {
            header.map_legacy_levels();
        }
        if version < MEMORY_CHUNKS_VERSION {
            header.mark_memory_chunks_absent();
        }
        if version < KERNEL_AGGREGATES_VERSION {
            header.mark_kernel_aggregates_absent();
        }
        Ok(Reader {
            input,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            header,
            tables: MetaTables::default(),
            summary: ReadSummary::default(),
            done: false,
            losses_emitted: false,
            snapshot_parts: None,
            queued: None,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn summary(&self) -> &ReadSummary {
        &self.summary
    }

    /// Makes at least `n` unconsumed bytes available; false if the input ends before.
    fn fill(&mut self, n: usize) -> Result<bool, Error> {
        while self.buf.len() - self.pos < n && !self.eof {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let have = self.buf.len();
            let want = (n - have).max(64 << 10);
            self.buf.resize(have + want, 0);
            let got = read_full(&mut self.input, &mut self.buf[have..])?;
            self.buf.truncate(have + got);
            self.eof = got < want;
        }
        Ok(self.buf.len() - self.pos >= n)
    }

    fn available(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// What is at the read position (nothing is consumed).
    fn look(&mut self) -> Result<Found, Error> {
        if !self.fill(CHUNK_HEADER_BYTES)? {
            let rest = &self.buf[self.pos..];
            return Ok(if rest.is_empty() {
                Found::End
            } else {
                Found::Cut(ChunkHead::parse(rest))
            });
        }
        let head = ChunkHead::parse(&self.buf[self.pos..self.pos + CHUNK_HEADER_BYTES]);
        if !head.plausible {
            return Ok(Found::Damaged(head));
        }
        let len = CHUNK_HEADER_BYTES + head.zlen as usize;
        if !self.fill(len)? {
            return Ok(Found::Cut(head));
        }
        let chunk = &self.buf[self.pos..self.pos + len];
        if chunk_crc(&chunk[..12], &chunk[CHUNK_HEADER_BYTES..]) != head.crc {
            return Ok(Found::Damaged(head));
        }
        Ok(Found::Chunk { head, len })
    }

    /// After damage at the read position: skips to the next valid chunk (a plausible header
    /// followed by a zstd frame whose checksum matches). Returns the bytes skipped and whether
    /// such a chunk was found; if not, everything up to the end of the file was skipped.
    fn resynchronise(&mut self) -> Result<(u64, bool), Error> {
        let mut skipped = 0u64;
        loop {
            // Past the damaged byte at the read position.
            self.pos += 1;
            skipped += 1;
            if !self.fill(CHUNK_HEADER_BYTES + ZSTD_MAGIC.len())? {
                skipped += self.available() as u64;
                self.pos = self.buf.len();
                return Ok((skipped, false));
            }
            let candidate = ChunkHead::parse(&self.buf[self.pos..self.pos + CHUNK_HEADER_BYTES]);
            let payload = self.pos + CHUNK_HEADER_BYTES;
            if candidate.plausible
                && candidate.zlen as usize >= ZSTD_MAGIC.len()
                && self.buf[payload..payload + ZSTD_MAGIC.len()] == ZSTD_MAGIC
                && matches!(self.look()?, Found::Chunk { .. })
            {
                return Ok((skipped, true));
            }
        }
    }

    /// Counts a damaged region of `bytes` that started with `head`.
    fn count_damage(&mut self, head: ChunkHead, bytes: u64) {
        self.summary.corrupt_chunks += 1;
        self.summary.corrupt_bytes += bytes;
        if head.plausible {
            self.summary.corrupt_events += head.events();
        }
    }

    /// The events a stats or end chunk says were written before it: more than were read means
    /// the corrupt chunks held the difference.
    fn reconcile(&mut self, written: u64) {
        if self.summary.corrupt_chunks > 0 {
            let missing = written.saturating_sub(self.summary.events);
            self.summary.corrupt_events = self.summary.corrupt_events.max(missing);
        }
    }

    /// The next complete chunk, None at the end of the file or of its complete part. A damaged
    /// chunk is skipped (counted in the summary) and the one after it returned; bytes after
    /// the end chunk are counted and ignored.
    /// A goroutine snapshot stored in several chunks comes back joined, as one; if its parts
    /// stop early (a damaged or cut file), what was read comes back marked `partial`.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        if let Some(chunk) = self.queued.take() {
            return Ok(Some(chunk));
        }
        loop {
            let chunk = self.next_stored_chunk()?;
            let Some(mut pending) = self.snapshot_parts.take() else {
                match chunk {
                    Some(Chunk::Goroutines(part)) if part.continues => {
                        self.snapshot_parts = Some(part);
                        continue;
                    }
                    other => return Ok(self.counted(other)),
                }
            };
            match chunk {
                Some(Chunk::Goroutines(mut part)) if part.ts_ns == pending.ts_ns => {
                    pending.goroutines.append(&mut part.goroutines);
                    pending.partial |= part.partial;
                    if part.continues {
                        self.snapshot_parts = Some(pending);
                        continue;
                    }
                    pending.continues = false;
                    return Ok(self.counted(Some(Chunk::Goroutines(pending))));
                }
                other => {
                    // The parts stopped early: keep what was read, said to be incomplete.
                    pending.partial = true;
                    pending.continues = false;
                    match other {
                        Some(Chunk::Goroutines(next)) if next.continues => {
                            self.snapshot_parts = Some(next);
                        }
                        other => self.queued = self.counted(other),
                    }
                    return Ok(self.counted(Some(Chunk::Goroutines(pending))));
                }
            }
        }
    }

    /// Counts a whole goroutine snapshot as it is handed out.
    fn counted(&mut self, chunk: Option<Chunk>) -> Option<Chunk> {
        if let Some(Chunk::Goroutines(_)) = &chunk {
            self.summary.goroutine_snapshots += 1;
        }
        chunk
    }

    /// The next complete chunk as stored (snapshot parts not joined).
    fn next_stored_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.summary.end.is_some() {
                self.done = true;
                self.summary.trailing_bytes += self.available() as u64;
                self.pos = self.buf.len();
                let mut sink = [0u8; 64 << 10];
                loop {
                    let n = read_full(&mut self.input, &mut sink)?;
                    self.summary.trailing_bytes += n as u64;
                    if n < sink.len() {
                        break;
                    }
                }
                return Ok(None);
            }
            match self.look()? {
                Found::End => {
                    self.done = true;
                    return Ok(None);
                }
                Found::Chunk { head, len } => return self.decode(head, len).map(Some),
                Found::Cut(head) => {
                    // A valid chunk after it means its lengths were damaged; otherwise the
                    // file was cut there: an interrupted recording.
                    let (skipped, found) = self.resynchronise()?;
                    if found {
                        self.count_damage(head, skipped);
                    } else {
                        self.summary.truncated = true;
                        self.summary.truncated_events = head.events();
                        self.done = true;
                    }
                }
                Found::Damaged(head) => {
                    let (skipped, found) = self.resynchronise()?;
                    self.count_damage(head, skipped);
                    self.done = !found;
                }
            }
        }
    }

    /// Decodes the valid chunk of `len` bytes at the read position and consumes it.
    fn decode(&mut self, head: ChunkHead, len: usize) -> Result<Chunk, Error> {
        let index = self.summary.complete_chunks + self.summary.corrupt_chunks;
        let malformed = |what: String| Error::Malformed(format!("chunk {index}: {what}"));
        let payload = &self.buf[self.pos + CHUNK_HEADER_BYTES..self.pos + len];
        let kind = head
            .kind
            .ok_or_else(|| malformed("unknown chunk type".into()))?;
        let raw = zstd::bulk::decompress(payload, head.raw_len as usize)
            .map_err(|e| malformed(format!("decompressing: {e}")))?;
        self.pos += len;
        if raw.len() != head.raw_len as usize {
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
                self.reconcile(stats.recorded);
                self.summary.stats = Some(stats.clone());
                Chunk::Stats(stats)
            }
            ChunkType::Goroutines => {
                let snapshot: GoroutineSnapshot = serde_json::from_slice(&raw).map_err(json_err)?;
                Chunk::Goroutines(Box::new(snapshot))
            }
            ChunkType::RuntimeStats => {
                let stats: RuntimeStats = serde_json::from_slice(&raw).map_err(json_err)?;
                Chunk::RuntimeStats(Box::new(stats))
            }
            ChunkType::KernelAggregates => {
                let k: KernelAggregates = serde_json::from_slice(&raw).map_err(json_err)?;
                Chunk::KernelAggregates(Box::new(k))
            }
            ChunkType::End => {
                let end: EndRecord = serde_json::from_slice(&raw).map_err(json_err)?;
                self.reconcile(end.events);
                self.summary.end = Some(end.clone());
                Chunk::End(end)
            }
        };
        self.summary.complete_chunks += 1;
        Ok(chunk)
    }

    /// Everything besides events the analysis needs: Go version, wait reasons, what the
    /// events capture, and the symbols read so far (all of them once the events are read).
    pub fn meta(&self) -> Meta {
        self.tables.meta(&self.header)
    }

    /// The losses of the last stats chunk and of the file's damage, as `Lost` events stamped
    /// at the last event's time.
    fn loss_events(&self) -> Vec<Event> {
        let mut lost = match &self.summary.stats {
            Some(stats) => stats.loss_events(self.summary.max_ts_ns),
            None => Vec::new(),
        };
        lost.extend(self.summary.damage_loss_events());
        lost
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
