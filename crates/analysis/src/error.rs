//! Errors of the analysis.

use goroscope_events::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event source failed; the analysis cannot know what it missed.
    #[error(transparent)]
    Source(#[from] SourceError),
}
