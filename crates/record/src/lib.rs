//! goroscope's recording file (`goroscope record` writes it, `goroscope report` reads it).
//!
//! The format is specified in docs/recording-format.md: magic and format version, a JSON
//! header (target, clocks, wait-reason table), then self-delimiting chunks — each with its type,
//! lengths, a CRC-32 and a zstd-compressed payload — holding fixed-size binary events, symbols
//! for the creation pcs those events need, loss statistics, and a final "end" chunk. A file cut
//! anywhere stays readable up to its last complete chunk.

mod codec;
mod error;
mod format;
mod header;
mod meta;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use codec::{decode_events, encode_events, EVENT_SIZE};
pub use error::Error;
pub use format::{ChunkType, FORMAT_VERSION, MAGIC, MAX_CHUNK_BYTES, OLDEST_READABLE_VERSION};
pub use header::{ClockBase, EndRecord, Header, StackEntry, StatsRecord, SymbolEntry, Target};
pub use meta::MetaTables;
pub use reader::{Chunk, ReadSummary, Reader};
pub use writer::{ChunkWriter, RecordingWriter, WriterTotals};
