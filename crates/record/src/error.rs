//! Why a recording could not be written or read.

/// A recording error; the messages are what the user sees.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file does not start with goroscope's magic.
    #[error("not a goroscope recording (bad magic)")]
    NotRecording,
    /// A format version this build cannot read.
    #[error("unsupported format version {0} (this goroscope reads versions {OLDEST}–{FORMAT_VERSION})", OLDEST = crate::format::OLDEST_READABLE_VERSION, FORMAT_VERSION = crate::FORMAT_VERSION)]
    UnsupportedVersion(u32),
    /// The file ends before its header is complete: nothing can be read.
    #[error("truncated recording: the file ends inside its header")]
    TruncatedHeader,
    /// A chunk's checksum does not match its bytes (chunks count from 0 after the header).
    #[error("chunk {0} checksum mismatch: the recording is corrupt")]
    ChecksumMismatch(u64),
    /// Damage detected another way (bad lengths, undecodable payload).
    #[error("malformed recording: {0}")]
    Malformed(String),
    /// The writer thread is gone (it failed earlier; that error is reported by `finish`).
    #[error("the recording writer stopped")]
    WriterGone,
}
