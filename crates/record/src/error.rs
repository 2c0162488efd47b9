//! Why a recording could not be written or read.

/// A recording error; the messages are what the user sees.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file has no bytes at all.
    #[error("empty file: not a goroscope recording")]
    Empty,
    /// The file does not start with goroscope's magic.
    #[error("not a goroscope recording (bad magic)")]
    NotRecording,
    /// A format version this build cannot read.
    #[error("unsupported format version {0} (this goroscope reads versions {OLDEST}–{FORMAT_VERSION})", OLDEST = crate::format::OLDEST_READABLE_VERSION, FORMAT_VERSION = crate::FORMAT_VERSION)]
    UnsupportedVersion(u32),
    /// The file ends before its header is complete: nothing can be read.
    #[error("truncated recording: the file ends inside its header")]
    TruncatedHeader,
    /// Damage detected another way (bad lengths, undecodable payload).
    #[error("malformed recording: {0}")]
    Malformed(String),
    /// The writer thread is gone (it failed earlier; that error is reported by `finish`).
    #[error("the recording writer stopped")]
    WriterGone,
}
