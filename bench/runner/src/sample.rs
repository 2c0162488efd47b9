//! One measured run of one workload under one variant: builds the command, runs it (launch.rs),
//! reads what the workload and goroscope report (parse.rs), and keeps the figures as a Sample.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde::Serialize;

use crate::launch::{self, Exit, Finished, Spec};
use crate::parse::{self, ProgramStats};
use crate::workload::{self, Kind, Paths, RecordCapabilities, Variant, Workload};

/// goroscope record prints this once the tracer is attached and the program released.
pub const READY_MARKER: &str = "goroscope: recording pid";

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub round: u32,
    /// The workload's figure: ns per operation (gobuild: the wall time of the build).
    pub ns_per_op: f64,
    pub ops: u64,
    /// The launched process (the tracer, when there is one), spawn to exit.
    pub wall_ms: f64,
    /// wait4's user+sys of the launched process, including the children it waited for.
    pub process_cpu_ms: f64,
    /// The workload's own user+sys CPU, as it reported it.
    pub workload_cpu_ms: Option<f64>,
    /// From spawning the process to the workload's main(): how long a tracer held it.
    pub start_delay_ms: Option<f64>,
    pub tracer: Option<TracerSample>,
}

/// What goroscope cost and saw in one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TracerSample {
    /// The level goroscope says it recorded at (--stats-json).
    pub level: Option<String>,
    /// goroscope's own CPU: wait4 rusage minus the workload's self-reported CPU.
    pub cpu_ms: Option<f64>,
    /// goroscope's own CPU from /proc/PID/stat, sampled every 20 ms until it exits (10 ms
    /// ticks): the cross-check, and the figure when the workload cannot report its CPU
    /// (gobuild, prometheus).
    pub cpu_ms_procstat: Option<f64>,
    /// goroscope's VmHWM, sampled every 20 ms until it exits (its own peak RSS, not the
    /// workload's).
    pub peak_rss_kb: Option<u64>,
    /// wait4's ru_maxrss: the larger of goroscope's and the workload's peak RSS.
    pub maxrss_kb_with_child: u64,
    /// Spawn to goroscope's "recording pid" line (inspected, attached, program released).
    pub ready_ms: Option<f64>,
    pub attach_ms: Option<f64>,
    pub events: Option<u64>,
    pub events_per_sec: Option<f64>,
    pub drops: Option<u64>,
    pub recording_bytes: Option<u64>,
    /// Whether the figures came from --stats-json (else from record's summary line).
    pub stats_json: bool,
    pub programs: Vec<ProgramStats>,
}

impl TracerSample {
    /// The best measure of goroscope's own CPU time available.
    pub fn cpu_best_ms(&self) -> Option<f64> {
        self.cpu_ms.or(self.cpu_ms_procstat)
    }
}

/// Everything that stays the same across runs.
pub struct Setup {
    pub paths: Paths,
    pub caps: RecordCapabilities,
    pub duration: Duration,
    pub scratch: PathBuf,
}

/// Runs `workload` under `variant` once.
pub fn measure(
    setup: &Setup,
    workload: &Workload,
    variant: &Variant,
    round: u32,
    interrupted: &'static AtomicBool,
) -> Result<Sample> {
    let trace_file = setup.scratch.join("trace.out");
    let recording = setup.scratch.join("run.rec");
    let stats_file = setup.scratch.join("stats.json");
    for f in [&trace_file, &recording, &stats_file] {
        let _ = std::fs::remove_file(f);
    }
    let command =
        workload::workload_command(&setup.paths, workload, variant, setup.duration, &trace_file)?;
    let argv = match variant {
        Variant::Goroscope { level } => workload::goroscope_command(
            &setup.paths,
            &setup.caps,
            level.as_deref(),
            &recording,
            &stats_file,
            None,
            command,
        ),
        _ => command,
    };
    let (env, cwd) = match workload.kind {
        Kind::Program => (Vec::new(), None),
        Kind::GoBuild => gobuild_env(&setup.scratch)?,
    };
    let timeout = match workload.kind {
        Kind::Program => setup.duration * 20 + Duration::from_secs(120),
        Kind::GoBuild => Duration::from_secs(3600),
    };
    let spec = Spec {
        argv,
        env,
        cwd,
        probe_exit: variant.is_goroscope(),
        timeout,
        ready_marker: variant.is_goroscope().then_some(READY_MARKER),
    };
    let finished = launch::run(&spec, interrupted);
    if workload.kind == Kind::GoBuild {
        let _ = std::fs::remove_dir_all(setup.scratch.join("gobuild"));
    }
    let finished = finished?;
    let _ = std::fs::remove_file(&trace_file);
    check_exit(&finished)?;

    let (ns_per_op, ops, result) = match workload.kind {
        Kind::Program => {
            let r = parse::workload_result(&finished.stdout)?;
            (r.ns_per_op, r.ops, Some(r))
        }
        Kind::GoBuild => (finished.wall.as_nanos() as f64, 1, None),
    };
    let workload_cpu_ns = result.as_ref().and_then(|r| r.cpu_ns);
    let start_delay_ms = result
        .as_ref()
        .and_then(|r| r.start_unix_ns)
        .map(|s| (s as f64 - finished.spawned_unix_ns as f64) / 1e6);
    let tracer = variant.is_goroscope().then(|| {
        tracer_sample(
            &finished,
            workload_cpu_ns,
            &recording,
            setup.caps.stats_json.then_some(stats_file.as_path()),
        )
    });
    let _ = std::fs::remove_file(&recording);
    Ok(Sample {
        round,
        ns_per_op,
        ops,
        wall_ms: ms(finished.wall),
        process_cpu_ms: finished.cpu_ns as f64 / 1e6,
        workload_cpu_ms: workload_cpu_ns.map(|n| n as f64 / 1e6),
        start_delay_ms,
        tracer,
    })
}

/// A run that did not end cleanly is a failure, with the end of its stderr as the reason.
pub fn check_exit(finished: &Finished) -> Result<()> {
    let last = finished
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    if finished.timed_out {
        bail!(
            "timed out after {:.0} s: {last}\n{}",
            finished.wall.as_secs_f64(),
            finished.stderr_tail()
        );
    }
    if finished.exit != Exit::Code(0) {
        bail!("{}: {last}\n{}", finished.exit, finished.stderr_tail());
    }
    Ok(())
}

/// goroscope's figures for one run: CPU and RSS measured here, the rest from --stats-json or,
/// without it, from record's summary line.
pub fn tracer_sample(
    finished: &Finished,
    workload_cpu_ns: Option<u64>,
    recording: &Path,
    stats_file: Option<&Path>,
) -> TracerSample {
    let mut t = TracerSample {
        cpu_ms: workload_cpu_ns.map(|w| finished.cpu_ns.saturating_sub(w) as f64 / 1e6),
        cpu_ms_procstat: finished
            .exit_probe
            .and_then(|p| p.self_cpu_ns)
            .map(|n| n as f64 / 1e6),
        peak_rss_kb: finished.exit_probe.and_then(|p| p.peak_rss_kb),
        maxrss_kb_with_child: finished.maxrss_kb,
        ready_ms: finished.ready_after.map(ms),
        recording_bytes: std::fs::metadata(recording).ok().map(|m| m.len()),
        ..TracerSample::default()
    };
    let stats = stats_file.and_then(|f| match std::fs::read_to_string(f) {
        Ok(text) => parse::record_stats(&text)
            .map_err(|e| eprintln!("goroscope-bench: warning: {e:#}"))
            .ok(),
        Err(_) => None,
    });
    let summary = parse::record_summary(&finished.stderr);
    if let Some(s) = stats {
        t.stats_json = true;
        t.level = s.level;
        t.attach_ms = s.attach_ms;
        t.events = s.events;
        t.drops = s.drops;
        t.events_per_sec = s
            .events_per_sec
            .or_else(|| Some(s.events? as f64 / s.duration_s.filter(|d| *d > 0.0)?));
        t.programs = s.programs;
    } else if let Some(s) = summary {
        t.events = Some(s.events);
        t.drops = Some(s.drops);
        t.events_per_sec = s
            .duration_s
            .filter(|d| *d > 0.0)
            .map(|d| s.events as f64 / d);
    }
    t
}

/// Environment variables set for a run.
type Env = Vec<(String, std::ffi::OsString)>;

/// A fresh, private GOCACHE and GOPATH for each build, so every run compiles everything.
fn gobuild_env(scratch: &Path) -> Result<(Env, Option<PathBuf>)> {
    let dir = scratch.join("gobuild");
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["cache", "gopath"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let env = vec![
        ("GOCACHE".to_string(), dir.join("cache").into_os_string()),
        ("GOPATH".to_string(), dir.join("gopath").into_os_string()),
        ("GOTOOLCHAIN".to_string(), "local".into()),
        ("GOPROXY".to_string(), "off".into()),
        ("GOFLAGS".to_string(), "".into()),
        ("GOENV".to_string(), "off".into()),
    ];
    Ok((env, Some(dir)))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
