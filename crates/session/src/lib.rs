//! goroscope's capture session, as a library: what `goroscope record` does, for any front end
//! (the CLI, a live view, an agent, a doctor).
//!
//! A [`Session`] picks the target (launches a program held at a gate until every probe is in
//! place, or attaches to a pid), inspects it, attaches the BPF tracer, samples the runtime's
//! scheduler counters and every goroutine (snapshots) from its memory, symbolizes creation sites and stacks while the binary is
//! at hand, and stops at a duration, a stop flag (SIGINT/SIGTERM) or the target's exit —
//! detaching on every path. Everything it captures goes, batch by batch, to any number of
//! [`Consumer`]s: the [`Recorder`] writes the recording file, the [`Analysis`] builds the report,
//! a live view shows progress. [`replay`] feeds a recording to the same consumers, so a report
//! of a file and of the live stream are made by the same code.

mod analysis;
mod clock;
mod consumer;
mod header;
mod launch;
mod options;
mod output_file;
mod privileges;
mod recorder;
mod recording_info;
mod replay;
mod sampler;
mod session;
mod snapshots;
mod symbols;
mod target;

pub use analysis::Analysis;
pub use clock::monotonic_ns;
pub use consumer::{Consumer, Counts, Progress, SessionEnd, TargetInfo};
pub use options::{SessionOptions, StopFlag, TargetSpec, DEFAULT_SNAPSHOT_INTERVAL};
pub use output_file::Overwrite;
pub use privileges::require_bpf_privileges;
pub use recorder::Recorder;
pub use recording_info::{RecordingInfo, TargetInfoJson};
pub use replay::{replay, Replayed};
pub use session::{Session, Summary};

// The consumers given here can move to a thread of their own (`Box<dyn Consumer + Send>`):
// this stops compiling if one of them stops being `Send`.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Recorder>();
    send::<Analysis>();
};
