//! goroscope's typed events: the one vocabulary between the producers (the BPF decoder, the
//! recording reader, synthetic test streams) and the consumers (recorder, analysis, live views).
//!
//! Raw ABI structs stop at the decoder; everything downstream sees [`Event`]. Values the Go
//! runtime defines per version (G status, wait reasons) stay raw numbers here and are decoded
//! with [`GStatus`] and [`Meta`] so that a recording can be reinterpreted later.

mod error;
mod event;
mod gstatus;
mod loss;
mod meta;
mod source;

pub use error::SourceError;
pub use event::{Event, EventKind};
pub use gstatus::{GState, GStatus};
pub use loss::LossReason;
pub use meta::{Location, Meta, Symbolizer, TableSymbolizer, WaitReasons};
pub use source::{EventSource, VecSource};
