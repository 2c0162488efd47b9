//! `goroscope record`: attaches the BPF tracer to a running Go process (`-p PID`) or launches
//! one with every probe in place before its first instruction (`-- CMD ARGS...`), writes what
//! it captures to a recording (crates/record, docs/recording-format.md), shows progress once a
//! second, and stops at the duration, on SIGINT/SIGTERM, or when the target exits — then
//! detaches and prints a summary on stderr (stdout stays the launched program's). The capture
//! itself is a `goroscope_session::Session`; this module turns the arguments into its options
//! and its outcome into messages.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use goroscope_session::{
    Consumer, Overwrite, Progress, Recorder, Session, SessionEnd, SessionOptions, StopFlag,
    Summary, TargetInfo, TargetSpec,
};

use crate::cli::RecordArgs;

/// SIGINT and SIGTERM as the session's stop flags.
pub(crate) fn install_stop_flags() -> Result<Vec<StopFlag>> {
    let sigint = Arc::new(AtomicBool::new(false));
    let sigterm = Arc::new(AtomicBool::new(false));
    use signal_hook::consts::{SIGINT, SIGTERM};
    // A second Ctrl-C while stopping ends goroscope at once (the kernel still detaches).
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&sigint))?;
    signal_hook::flag::register(SIGINT, Arc::clone(&sigint))?;
    signal_hook::flag::register(SIGTERM, Arc::clone(&sigterm))?;
    Ok(vec![
        StopFlag {
            flag: sigint,
            reason: "SIGINT".to_string(),
        },
        StopFlag {
            flag: sigterm,
            reason: "SIGTERM".to_string(),
        },
    ])
}

/// Records, then returns goroscope's exit status: in launch mode, the program's own (its exit
/// code, or 128 + the signal that killed it) as `strace` and `time` do, if it exited while
/// recorded; otherwise success.
pub fn run(args: &RecordArgs) -> Result<ExitCode> {
    goroscope_session::require_bpf_privileges()?;
    // Refuse a statistics file that cannot be written before tracing anything, not after.
    if let Some(dir) = args.stats_json.as_deref().and_then(Path::parent) {
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            bail!(
                "--stats-json {}: directory {} does not exist",
                args.stats_json.as_deref().unwrap_or(dir).display(),
                dir.display()
            );
        }
    }
    let stop = install_stop_flags()?;
    let target = match args.pid {
        Some(pid) => TargetSpec::Attach { pid },
        None => {
            let Some((program, program_args)) = args.command.split_first() else {
                bail!("give -p PID or -- CMD [ARGS...]");
            };
            TargetSpec::Launch {
                program: program.clone(),
                args: program_args.to_vec(),
                stdout: None,
            }
        }
    };
    let options = SessionOptions {
        level: args.level,
        duration: args.duration,
        stop,
        snapshot_interval: Some(args.snapshot_interval).filter(|d| !d.is_zero()),
        max_sample_rate: Some(args.max_sample_rate).filter(|&n| n > 0),
        ..SessionOptions::new(target)
    };
    let mut console = Console::new(args);
    let overwrite = if args.force {
        Overwrite::Force
    } else {
        Overwrite::KeepOld
    };
    let mut recorder = Recorder::new(&args.output).overwrite(overwrite);
    let summary = Session::new(options).run(&mut [&mut console, &mut recorder]);
    // Said whether the session then succeeded or not: the old file is under its new name.
    if let Some(old) = recorder.moved_aside() {
        eprintln!(
            "goroscope: the previous recording {} was renamed to {}",
            args.output.display(),
            old.display()
        );
    }
    let summary = summary?;
    let bytes = recorder.totals().map_or(0, |t| t.bytes);
    eprintln!(
        "{}\n  report: goroscope report {}",
        describe(&summary, bytes, args.level),
        args.output.display()
    );
    if let Some(path) = &args.stats_json {
        write_stats_json(path, args, &summary)?;
    }
    Ok(summary
        .target_status
        .map_or(ExitCode::SUCCESS, exit_code_of))
}

/// A shell's `$?` for a process that ended with `status`: its code, or 128 + its signal.
pub(crate) fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt as _;
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    };
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

/// The summary printed at the end, on stderr.
fn describe(summary: &Summary, bytes: u64, level: goroscope_events::Level) -> String {
    let counts = &summary.counts;
    // Below the full level goroutines are not followed one by one: say what was sampled.
    let goroutines = if level >= goroscope_events::Level::Full {
        format!(
            "goroutines created {}, exited {}",
            counts.goroutines_created, counts.goroutines_exited
        )
    } else if counts.sampler_pauses > 0 {
        format!(
            "scheduling samples {} (the runtime's 1 in 8; the probe was detached {} time(s) \
             while samples came faster than --max-sample-rate: the report weighs them by it)",
            counts.scheduling_samples, counts.sampler_pauses
        )
    } else {
        format!(
            "scheduling samples {} (the runtime's 1 in 8)",
            counts.scheduling_samples
        )
    };
    let mut text = format!(
        "goroscope: recorded {} in {}: {} events, {} dropped, {} bytes\n  {goroutines}; threads \
         created {}, exited {}\n  stopped: {}",
        summary.target.binary.display(),
        human_duration(summary.duration),
        counts.events,
        summary.drops,
        bytes,
        counts.threads_created,
        counts.threads_exited,
        summary.reason,
    );
    match &summary.target_exit {
        // An attached process is not our child: "exited" is all that is known, and the
        // reason already says it.
        Some(exit) if summary.target.launched => text.push_str(&format!(" (target {exit})")),
        Some(_) => {}
        None if summary.target.launched => text.push_str(&format!(
            " (target pid {} left running)",
            summary.target.pid
        )),
        None => {}
    }
    text
}

/// `--stats-json`: the recording's own statistics.
fn write_stats_json(path: &Path, args: &RecordArgs, summary: &Summary) -> Result<()> {
    use anyhow::Context as _;
    let json = serde_json::json!({
        "level": args.level.name(),
        "attach_ms": summary.attach_time.as_secs_f64() * 1e3,
        "duration_s": summary.duration.as_secs_f64(),
        "events": summary.counts.events,
        "events_per_sec": summary.counts.events as f64 / summary.duration.as_secs_f64().max(1e-9),
        "drops": summary.drops,
        "programs": summary.programs
            .iter()
            .map(|p| serde_json::json!({
                "name": p.name,
                "run_cnt": p.run_cnt,
                "run_time_ns": p.run_time_ns,
            }))
            .collect::<Vec<_>>(),
    });
    write_file_atomically(path, format!("{json:#}\n").as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `bytes` to a temporary file next to `path` and renames it: a reader never sees half
/// a file.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// What the user sees on stderr while recording: warnings, the "recording pid" line once the
/// target runs, and the once-a-second progress line — rewritten in place on a terminal, one
/// line each otherwise — cleared before the summary.
struct Console<'a> {
    args: &'a RecordArgs,
    tty: bool,
    shown: bool,
}

impl<'a> Console<'a> {
    fn new(args: &'a RecordArgs) -> Self {
        Console {
            args,
            // SAFETY: isatty has no preconditions.
            tty: unsafe { libc::isatty(2) } == 1,
            shown: false,
        }
    }
}

impl Consumer for Console<'_> {
    fn running(&mut self, target: &TargetInfo) {
        eprintln!(
            "goroscope: recording pid {} ({}, {}) to {}{}",
            target.pid,
            target.binary.display(),
            target.go_version,
            self.args.output.display(),
            match self.args.duration {
                Some(d) => format!(" for {}", human_duration(d)),
                None => String::new(),
            }
        );
    }

    fn on_warning(&mut self, message: &str) {
        eprintln!("goroscope: warning: {message}");
    }

    fn on_batch(&mut self, _events: &[goroscope_events::Event]) -> Result<()> {
        Ok(())
    }

    fn on_progress(&mut self, progress: &Progress) {
        let line = format!(
            "recording: {:>6.1} s  {:>10} events  {} drops",
            progress.elapsed.as_secs_f64(),
            progress.counts.events,
            progress.drops
        );
        if self.tty {
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
        self.shown = true;
    }

    fn finish(&mut self, _end: &SessionEnd) -> Result<()> {
        if self.tty && self.shown {
            eprint!("\r\x1b[K");
        }
        Ok(())
    }
}

pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.1} s")
    }
}
