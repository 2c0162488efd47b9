//! `goroscope doctor`: records a program live (`-p PID` or `-- CMD ARGS`, for `-d`, 10 s by
//! default, through the same capture session as `record`) or replays a recording, runs the
//! doctor's rules over the report (`goroscope_analysis::doctor`) and prints the findings
//! (crates/output: text, or JSON as docs/doctor.md describes).
//!
//! Exit status: 1 when a finding is at or above `--fail-on` (default `warning`); otherwise, for
//! a launched program that exited with a failure while watched, the program's own status (its
//! code, or 128 + the signal); otherwise 0. goroscope's own errors are 1 too, usage errors 2.

use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use goroscope_analysis::doctor::{self, Diagnosis, Severity};
use goroscope_analysis::Report;
use goroscope_record::Header;
use goroscope_session::{
    Analysis, Consumer, RecordingInfo, Session, SessionEnd, SessionOptions, TargetInfo, TargetSpec,
};
use serde::Serialize;

use crate::cli::DoctorArgs;

/// The default live duration.
pub const DEFAULT_DURATION: std::time::Duration = std::time::Duration::from_secs(10);

pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let fail_on = match args.fail_on.as_str() {
        "never" => None,
        name => Some(Severity::from_name(name).context("--fail-on")?),
    };
    let (report, level, source, target_status) = match &args.file {
        Some(path) if args.pid.is_none() && args.command.is_empty() => {
            let (report, level, info) = replay(path)?;
            (report, level, Source::Recording(info), None)
        }
        _ => {
            let (report, live) = live(args)?;
            let status = live.target_status;
            (
                report,
                Some(args.level.name().to_string()),
                Source::Live(live.json),
                status,
            )
        }
    };
    let diagnosis = doctor::diagnose(&report);
    let out = if args.json {
        match &source {
            Source::Recording(info) => goroscope_output::render_doctor_json(&diagnosis, info),
            Source::Live(live) => goroscope_output::render_doctor_json(&diagnosis, live),
        }
        .context("serializing the diagnosis")?
    } else {
        goroscope_output::render_doctor_text(&diagnosis, level.as_deref())
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    Ok(exit_status(&diagnosis, fail_on, target_status))
}

/// See the module doc.
fn exit_status(
    d: &Diagnosis,
    fail_on: Option<Severity>,
    target: Option<std::process::ExitStatus>,
) -> ExitCode {
    if fail_on.is_some_and(|at| d.worst().is_some_and(|w| w >= at)) {
        return ExitCode::FAILURE;
    }
    match target {
        Some(status) if !status.success() => super::record::exit_code_of(status),
        _ => ExitCode::SUCCESS,
    }
}

enum Source {
    Recording(RecordingInfo),
    Live(LiveJson),
}

/// A recording, replayed: its report, tracer level and what it says about itself.
fn replay(path: &std::path::Path) -> Result<(Report, Option<String>, RecordingInfo)> {
    let mut analysis = Analysis::new();
    let replayed = goroscope_session::replay(path, &mut [&mut analysis])?;
    for warning in replayed.summary.warnings() {
        eprintln!("goroscope: warning: {}: {warning}", path.display());
    }
    let report = analysis
        .into_report()
        .context("the analysis produced no report")?;
    let level = Some(replayed.header.level.clone()).filter(|l| !l.is_empty());
    let info = RecordingInfo::new(&replayed.header, &replayed.summary);
    Ok((report, level, info))
}

/// The `recording` object of a live diagnosis: what was watched, how it ended.
#[derive(Debug, Serialize)]
struct LiveJson {
    live: bool,
    pid: u32,
    path: String,
    mode: &'static str,
    level: String,
    /// "duration", "target exited", "SIGINT", ...
    end_reason: String,
    /// How the target exited, if it did while watched.
    target_exit: Option<String>,
    events: u64,
    drops: u64,
}

struct Live {
    json: LiveJson,
    target_status: Option<std::process::ExitStatus>,
}

fn live(args: &DoctorArgs) -> Result<(Report, Live)> {
    goroscope_session::require_bpf_privileges()?;
    let stop = super::record::install_stop_flags()?;
    let target = match args.pid {
        Some(pid) => TargetSpec::Attach { pid },
        None => {
            let Some((program, program_args)) = args.command.split_first() else {
                bail!("give -p PID, -- CMD [ARGS...] or a recording");
            };
            // The program's stdout goes to our stderr: stdout is the diagnosis alone.
            let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
            TargetSpec::Launch {
                program: program.clone(),
                args: program_args.to_vec(),
                stdout: Some(std::fs::File::from(stderr)),
            }
        }
    };
    let duration = args.duration.unwrap_or(DEFAULT_DURATION);
    let options = SessionOptions {
        level: args.level,
        duration: Some(duration),
        stop,
        snapshot_interval: Some(args.snapshot_interval).filter(|d| !d.is_zero()),
        max_sample_rate: Some(args.max_sample_rate).filter(|&n| n > 0),
        ..SessionOptions::new(target)
    };
    let mut console = Console { duration };
    let mut analysis = Analysis::new();
    let summary = Session::new(options).run(&mut [&mut console, &mut analysis])?;
    let report = analysis
        .into_report()
        .context("the analysis produced no report")?;
    let launched = summary.target.launched;
    let json = LiveJson {
        live: true,
        pid: summary.target.pid,
        path: summary.target.binary.display().to_string(),
        mode: if launched { "launch" } else { "attach" },
        level: args.level.name().to_string(),
        end_reason: summary.reason.clone(),
        target_exit: summary.target_exit.clone(),
        events: summary.counts.events,
        drops: summary.drops,
    };
    Ok((
        report,
        Live {
            json,
            target_status: summary.target_status.filter(|_| launched),
        },
    ))
}

/// stderr while watching: the "watching" line and warnings.
struct Console {
    duration: std::time::Duration,
}

impl Consumer for Console {
    fn start(&mut self, _header: &Header) -> Result<()> {
        Ok(())
    }

    fn running(&mut self, target: &TargetInfo) {
        eprintln!(
            "goroscope: doctor watching pid {} ({}, {}) for {}",
            target.pid,
            target.binary.display(),
            target.go_version,
            super::record::human_duration(self.duration)
        );
    }

    fn on_warning(&mut self, message: &str) {
        eprintln!("goroscope: warning: {message}");
    }

    fn on_batch(&mut self, _events: &[goroscope_events::Event]) -> Result<()> {
        Ok(())
    }

    fn finish(&mut self, _end: &SessionEnd) -> Result<()> {
        Ok(())
    }
}
