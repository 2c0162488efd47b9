//! Typed errors for reading Go executables. Every message says what is wrong and, where it can,
//! what to do. `Unsupported*` means "valid, but goroscope cannot handle it"; `Malformed` means the
//! file contradicts its own format (truncated, corrupted, or not what it claims to be).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: is a directory; give the path of a Go executable")]
    IsDirectory(PathBuf),
    #[error("not an ELF file (wrong magic bytes); goroscope reads Linux executables built by Go")]
    NotElf,
    #[error("unsupported executable: {0}; goroscope supports 64-bit x86-64 Linux ELF executables")]
    UnsupportedArch(String),
    #[error("not a Go executable: {0}")]
    NotGo(String),
    #[error(
        "unsupported Go version {version}: the binary has no DWARF and goroscope has runtime layout \
         tables only for {known}; rebuild without -ldflags=-s/-w, or pass --force-nearest-layout to \
         use the nearest known version at your own risk"
    )]
    UnsupportedGoVersion { version: String, known: String },
    #[error(
        "unsupported Go version {0}: goroscope reads binaries built by Go 1.18 and later \
         (older runtimes have a different pclntab and scheduler); rebuild with a newer Go"
    )]
    GoTooOld(String),
    #[error("malformed {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("process {pid}: {detail}")]
    Process { pid: u32, detail: String },
}

impl Error {
    pub fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
