//! The framing of a recording: magic, format version, and the chunk header (layout in
//! docs/recording-format.md). Everything little-endian.

/// First 8 bytes of every recording (PNG-style: a high byte and CR LF catch text-mode mangling).
pub const MAGIC: [u8; 8] = *b"\x89GSREC\r\n";

/// The format version this build writes. Bump it (and the change log in
/// docs/recording-format.md) on any incompatible change.
pub const FORMAT_VERSION: u32 = 5;

/// The oldest format version this build still reads (versions 3 to 5 only added chunk types,
/// event kinds and the levels' new meaning, mapped on read).
pub const OLDEST_READABLE_VERSION: u32 = 2;

/// The first format version with chunks read from the target's memory: goroutine snapshots and
/// runtime statistics. Older files hold neither, whatever their level says.
pub const MEMORY_CHUNKS_VERSION: u32 = 3;

/// The first format version whose levels mean what they mean today: `default` is the sampled
/// level (go_sample events), `full` every event. In older files `default`
/// was every event but status changes and park stacks ([`goroscope_events::Level::legacy_capabilities`]).
pub const SAMPLED_LEVELS_VERSION: u32 = 4;
/// The first format version with kernel-aggregate chunks. Older files hold none.
pub const KERNEL_AGGREGATES_VERSION: u32 = 4;

/// Upper bound on a chunk's compressed and uncompressed payload, and on the header: a corrupt
/// length must not make the reader allocate gigabytes.
pub const MAX_CHUNK_BYTES: u32 = 64 << 20;

/// Bytes of a chunk header: type u8, 3 reserved zero bytes, uncompressed length u32,
/// compressed length u32, CRC-32 u32.
pub const CHUNK_HEADER_BYTES: usize = 16;

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkType {
    /// Fixed-size binary events (`codec`).
    Events = 1,
    /// JSON array of [`crate::SymbolEntry`].
    Symbols = 2,
    /// JSON [`crate::StatsRecord`]: cumulative losses so far.
    Stats = 3,
    /// JSON [`crate::EndRecord`]: the recording ended normally.
    End = 4,
    /// JSON array of [`crate::StackEntry`]: the user stacks events refer to by id.
    Stacks = 5,
    /// JSON `goroscope_events::GoroutineSnapshot`: every goroutine at one moment (version 3+).
    Goroutines = 6,
    /// JSON [`goroscope_events::RuntimeStats`]: the runtime's own statistics at one moment
    /// (version 3+).
    RuntimeStats = 7,
    /// JSON [`goroscope_events::KernelAggregates`]: the kernel-side aggregates of the target's
    /// threads and syscalls since the recording started (version 4+).
    KernelAggregates = 8,
}

impl ChunkType {
    pub fn from_u8(raw: u8) -> Option<ChunkType> {
        Some(match raw {
            1 => ChunkType::Events,
            2 => ChunkType::Symbols,
            3 => ChunkType::Stats,
            4 => ChunkType::End,
            5 => ChunkType::Stacks,
            6 => ChunkType::Goroutines,
            7 => ChunkType::RuntimeStats,
            8 => ChunkType::KernelAggregates,
            _ => return None,
        })
    }
}

/// The CRC-32 of a chunk: over its first 12 header bytes (type, reserved, lengths) and its
/// compressed payload, so a damaged length is caught too.
pub fn chunk_crc(head: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(head);
    hasher.update(payload);
    hasher.finalize()
}
