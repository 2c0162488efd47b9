//! Errors an [`crate::EventSource`] can report.

/// Why an event source could not produce more events.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading the underlying stream (file, ring buffer) failed.
    #[error("reading events: {0}")]
    Io(#[from] std::io::Error),
    /// The stream is damaged: a record could not be decoded.
    #[error("malformed event stream: {0}")]
    Malformed(String),
    /// Any other failure of a source (e.g. the BPF side), with its cause.
    #[error("event source failed: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}
