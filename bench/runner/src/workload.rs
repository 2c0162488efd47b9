//! The workloads and the variants each one runs under: what command line each (workload,
//! variant) pair is, and what `goroscope record` on this machine accepts.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

/// How a workload is run and measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A program of bench/workloads: `-d DURATION [-trace FILE]`, prints a RESULT line.
    Program,
    /// `go build -a std` with a fresh GOCACHE: the runner times it (no RESULT line, no -trace).
    GoBuild,
}

#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub name: &'static str,
    /// What one operation is (the table's caption).
    pub unit: &'static str,
    pub kind: Kind,
}

/// Every workload, in table order; gobuild only with --with-gobuild.
pub const ALL: [Workload; 5] = [
    Workload {
        name: "pingpong",
        unit: "ns per round trip, 2 goroutines over unbuffered channels",
        kind: Kind::Program,
    },
    Workload {
        name: "http",
        unit: "ns per request, net/http client+server on loopback, 32 connections",
        kind: Kind::Program,
    },
    Workload {
        name: "cpugc",
        unit: "ns per work item, 2xGOMAXPROCS workers allocating garbage",
        kind: Kind::Program,
    },
    Workload {
        name: "spawn",
        unit: "ns per goroutine, created and exited in batches of 1000",
        kind: Kind::Program,
    },
    Workload {
        name: "gobuild",
        unit: "wall time of `go build -a std` with a fresh GOCACHE",
        kind: Kind::GoBuild,
    },
];

pub fn by_name(name: &str) -> Result<Workload> {
    match ALL.iter().find(|w| w.name == name) {
        Some(w) => Ok(*w),
        None => bail!(
            "unknown workload {name:?} (known: {})",
            ALL.iter().map(|w| w.name).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// One way of running a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variant {
    Untraced,
    /// Go's execution tracer (runtime/trace) over the measured part.
    GoTrace,
    /// `goroscope record [--level L] -- workload`; no level when record has no --level.
    Goroscope {
        level: Option<String>,
    },
}

impl Variant {
    pub fn label(&self) -> String {
        match self {
            Variant::Untraced => "untraced".into(),
            Variant::GoTrace => "runtime/trace".into(),
            Variant::Goroscope { level: Some(l) } => format!("goroscope {l}"),
            Variant::Goroscope { level: None } => "goroscope record".into(),
        }
    }

    pub fn is_goroscope(&self) -> bool {
        matches!(self, Variant::Goroscope { .. })
    }
}

/// The variants of one run: untraced, runtime/trace, then each goroscope level.
pub fn variants(levels: &[String], caps: &RecordCapabilities) -> Vec<Variant> {
    let mut all = vec![Variant::Untraced, Variant::GoTrace];
    if caps.level {
        all.extend(levels.iter().map(|l| Variant::Goroscope {
            level: Some(l.clone()),
        }));
    } else {
        all.push(Variant::Goroscope { level: None });
    }
    all
}

/// Which of the options the runner wants `goroscope record` understands (read from its --help,
/// so the harness works before and after they land).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RecordCapabilities {
    pub level: bool,
    pub stats_json: bool,
}

pub fn detect_capabilities(goroscope: &Path) -> Result<RecordCapabilities> {
    let out = Command::new(goroscope)
        .args(["record", "--help"])
        .output()
        .with_context(|| format!("running {} record --help", goroscope.display()))?;
    if !out.status.success() {
        bail!(
            "{} record --help failed: {}",
            goroscope.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let help = String::from_utf8_lossy(&out.stdout);
    Ok(RecordCapabilities {
        level: help.contains("--level"),
        stats_json: help.contains("--stats-json"),
    })
}

/// Where the runner finds what it runs.
pub struct Paths {
    pub goroscope: PathBuf,
    pub workload_dir: PathBuf,
    pub go: Option<PathBuf>,
}

/// The workload's own command line (without a tracer), for one variant.
pub fn workload_command(
    paths: &Paths,
    workload: &Workload,
    variant: &Variant,
    duration: Duration,
    trace_file: &Path,
) -> Result<Vec<OsString>> {
    match workload.kind {
        Kind::Program => {
            let binary = paths.workload_dir.join(workload.name);
            if !binary.is_file() {
                bail!(
                    "{} is not built (bench/run.sh builds the workloads)",
                    binary.display()
                );
            }
            let mut argv = vec![
                binary.into_os_string(),
                "-d".into(),
                format!("{}ms", duration.as_millis().max(1)).into(),
            ];
            if *variant == Variant::GoTrace {
                argv.push("-trace".into());
                argv.push(trace_file.into());
            }
            Ok(argv)
        }
        Kind::GoBuild => {
            let go = paths.go.as_ref().context("gobuild needs --go PATH")?;
            Ok(vec![go.into(), "build".into(), "-a".into(), "std".into()])
        }
    }
}

/// `goroscope record` wrapped around `command`.
pub fn goroscope_command(
    paths: &Paths,
    caps: &RecordCapabilities,
    level: Option<&str>,
    recording: &Path,
    stats_json: &Path,
    duration_cap: Option<Duration>,
    command: Vec<OsString>,
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![paths.goroscope.clone().into(), "record".into()];
    if let Some(level) = level {
        argv.push("--level".into());
        argv.push(level.into());
    }
    argv.push("-o".into());
    argv.push(recording.into());
    if caps.stats_json {
        argv.push("--stats-json".into());
        argv.push(stats_json.into());
    }
    if let Some(d) = duration_cap {
        argv.push("-d".into());
        argv.push(format!("{}ms", d.as_millis().max(1)).into());
    }
    argv.push("--".into());
    argv.extend(command);
    argv
}
