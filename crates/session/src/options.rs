//! What a [`crate::Session`] is asked to do: which process, at which tracer level, until when.

use std::ffi::OsString;
use std::fs::File;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use goroscope_bpf::tracer::Level;

/// The process to trace.
#[derive(Debug)]
pub enum TargetSpec {
    /// A running Go process.
    Attach { pid: u32 },
    /// Start `program` (a path, or a name looked up in `$PATH`) with `args`, held before its
    /// first instruction until every probe is in place. Its stdin and stderr are ours; its
    /// stdout too unless `stdout` is given.
    Launch {
        program: OsString,
        args: Vec<OsString>,
        stdout: Option<File>,
    },
}

impl TargetSpec {
    /// The launched command line, program first (empty when attaching).
    pub(crate) fn argv(&self) -> Vec<String> {
        match self {
            TargetSpec::Attach { .. } => Vec::new(),
            TargetSpec::Launch { program, args, .. } => std::iter::once(program)
                .chain(args)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }
    }
}

/// A flag set from outside (a signal handler, another thread) that ends the session; `reason`
/// names it in the end record ("SIGINT").
#[derive(Debug, Clone)]
pub struct StopFlag {
    pub flag: Arc<AtomicBool>,
    pub reason: String,
}

/// How to run a session.
#[derive(Debug)]
pub struct SessionOptions {
    pub target: TargetSpec,
    /// Which probes to attach.
    pub level: Level,
    /// Stop this long after the probes are attached (None: at a stop flag or the target's exit).
    pub duration: Option<Duration>,
    /// Checked every poll (~50 ms); the first one set, in this order, ends the session.
    pub stop: Vec<StopFlag>,
    /// How often every goroutine is read from the target's memory, besides once when it runs
    /// and once at the stop (None: only those two).
    pub snapshot_interval: Option<Duration>,
    /// At the default level, the most samples a second the runtime's sampler may deliver; above
    /// it the sample probe is detached for a while and the report scales by the time it was
    /// attached (None: no limit).
    pub max_sample_rate: Option<u64>,
}

/// The default [`SessionOptions::snapshot_interval`].
pub const DEFAULT_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);

impl SessionOptions {
    /// `target` at the default level, until it exits.
    pub fn new(target: TargetSpec) -> Self {
        SessionOptions {
            target,
            level: Level::Default,
            duration: None,
            stop: Vec::new(),
            snapshot_interval: Some(DEFAULT_SNAPSHOT_INTERVAL),
            max_sample_rate: Some(goroscope_bpf::tracer::DEFAULT_MAX_SAMPLE_RATE),
        }
    }
}
