//! goroscope's exports: a recording as files that other tools open — pprof profiles
//! ([`pprof`]), a Perfetto trace ([`perfetto`]) and a self-contained HTML report ([`html`]). Each is fed by the analysis (its report, and its timeline through a
//! `goroscope_analysis::timeline::Collector`), and written through [`output_file`]: a temporary
//! file beside the output, renamed when complete.

pub mod html;
pub mod output_file;
pub mod perfetto;
pub mod pprof;
mod replay;

pub use output_file::{Kind as FileKind, OutputFile};
pub use replay::{replay_with, LiveNames, Replayed};

/// The generated protocol buffer types (build.rs).
pub mod proto {
    /// pprof's `perftools.profiles`.
    pub mod pprof {
        include!(concat!(env!("OUT_DIR"), "/perftools.profiles.rs"));
    }
    /// Perfetto's `perfetto.protos` (the messages goroscope writes).
    pub mod perfetto {
        include!(concat!(env!("OUT_DIR"), "/perfetto.protos.rs"));
    }
}
