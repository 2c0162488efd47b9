//! procstat's error type: what failed, on which file or process.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("process {pid}: {detail}")]
    Process { pid: u32, detail: String },
    /// The inspection lacks what the sampler needs (an address or a struct offset).
    #[error("cannot sample the Go scheduler: {0}")]
    Layout(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Reads a file; `NotFound` (a controller file this kernel or cgroup lacks) is `Ok(None)`.
pub(crate) fn read_optional(path: &std::path::Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}
