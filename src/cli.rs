//! The command line, as clap derive types. Raw flags become validated values here and nowhere else.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand};
use goroscope_events::Level;

#[derive(Debug, Parser)]
#[command(
    name = "goroscope",
    version,
    about = "See inside the Go scheduler of any running Go program, with eBPF",
    long_about = "goroscope attaches to a running Go program with no code change, through eBPF \
                  uprobes on the Go runtime and kernel tracepoints, and shows how its goroutines, \
                  threads and the kernel schedule together."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug; or set GOROSCOPE_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what goroscope reads from a Go executable: Go version, build settings, where each
    /// runtime function it probes lives, and the runtime's struct offsets and constants.
    Inspect(InspectArgs),
    /// Check that this machine can run goroscope's BPF programs: loads and attaches a small probe.
    Selftest,
    /// Record what a Go program's goroutines, threads and the kernel scheduler do, into a file:
    /// attach to a running process (-p PID) or start one (-- CMD ARGS...) with every probe in
    /// place before its first instruction.
    Record(RecordArgs),
    /// Analyse a recording: goroutines by creation site, scheduling latency, threads, losses.
    Report(ReportArgs),
    /// Export a recording for the tools people already open: a pprof profile or a Perfetto
    /// trace.
    Export(ExportArgs),
    /// Diagnose a Go program's scheduling: watch it live (-p PID or -- CMD ARGS, 10 s by
    /// default) or read a recording, and print what is wrong — goroutine leaks, lock convoys,
    /// GOMAXPROCS above the CPU quota, GC pauses, CPU hogs, thread churn, blocking syscalls —
    /// with the evidence and a fix, most severe first.
    Doctor(DoctorArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["pid", "command", "file"])))]
pub struct DoctorArgs {
    /// Watch this running Go process.
    #[arg(short, long, conflicts_with = "file")]
    pub pid: Option<u32>,
    /// A recording to diagnose instead of a live program.
    #[arg(value_name = "REC", conflicts_with = "command")]
    pub file: Option<PathBuf>,
    /// How long to watch a live program (default 10s; it stops earlier if the program exits).
    #[arg(short, long, value_parser = parse_record_duration)]
    pub duration: Option<std::time::Duration>,
    /// Tracer level for a live program (see `record --level`); rules whose facts the level
    /// does not capture say so and are skipped.
    #[arg(long, value_parser = level_parser(), default_value_t = Level::Default)]
    pub level: Level,
    /// How often to read every goroutine from memory while watching (leaks are told by
    /// growth between these snapshots).
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "1s")]
    pub snapshot_interval: std::time::Duration,
    /// At the default level, the most scheduling samples a second (`0`: no limit): above it
    /// the sample probe is detached for a while, as perf throttles a sampling event, and the
    /// report scales its estimates by the share of time it was attached.
    #[arg(long, value_name = "N", default_value_t = goroscope_bpf::tracer::DEFAULT_MAX_SAMPLE_RATE)]
    pub max_sample_rate: u64,
    /// Print JSON (docs/doctor.md) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit with status 1 when a finding is at least this severe (`never`: only a launched
    /// program's own failure, or goroscope's, makes the status non-zero).
    #[arg(long, value_name = "SEVERITY", default_value = "warning",
          value_parser = PossibleValuesParser::new(["info", "warning", "critical", "never"]))]
    pub fail_on: String,
    /// The program to start and diagnose, with its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub format: ExportFormat,
}

#[derive(Debug, Subcommand)]
pub enum ExportFormat {
    /// A gzipped pprof profile (`go tool pprof FILE`).
    Pprof(PprofArgs),
    /// A Perfetto trace (open it at the Perfetto UI or with its trace processor): Ps, threads
    /// and goroutines over time, flows, preemption, counters.
    Perfetto(PerfettoArgs),
}

/// Where an export goes (shared by every export).
#[derive(Debug, Args)]
pub struct ExportOutput {
    /// The file to write (written under a temporary name beside it, renamed when complete).
    /// An earlier export of the same kind there is replaced; any other existing file is
    /// refused (see --force); the recording itself never is.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite the -o file whatever it is (except the recording).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PprofArgs {
    /// The recording to export.
    #[arg(default_value = "goroscope.rec")]
    pub file: PathBuf,
    /// Which profile: `sched-latency` (runnable waits by the stack where the goroutine stopped,
    /// like `go tool trace -pprof=sched`; stacks need --level full), `off-cpu` (threads'
    /// off-CPU time by goroutine), `syscalls` (time in system calls by creation site and
    /// syscall), `goroutines` (goroutines live at the end by site and wait reason).
    #[arg(long, value_parser = PossibleValuesParser::new(goroscope_export::pprof::Kind::names()))]
    pub kind: String,
    #[command(flatten)]
    pub output: ExportOutput,
}

#[derive(Debug, Args)]
pub struct PerfettoArgs {
    /// The recording to export.
    #[arg(default_value = "goroscope.rec")]
    pub file: PathBuf,
    #[command(flatten)]
    pub output: ExportOutput,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["pid", "command"])))]
pub struct RecordArgs {
    /// Attach to this running Go process.
    #[arg(short, long)]
    pub pid: Option<u32>,
    /// Where to write the recording. An existing recording there is renamed to FILE.old; any
    /// other existing file is refused (see --force); the traced executable never is.
    #[arg(short, long, default_value = "goroscope.rec")]
    pub output: PathBuf,
    /// Overwrite the -o file whatever it is (except the traced executable), instead of keeping
    /// an old recording as FILE.old or refusing another file.
    #[arg(long)]
    pub force: bool,
    /// Stop after this long (e.g. 10s, 500ms, 2m; a bare number is seconds). Default: until
    /// Ctrl-C, SIGTERM or the program exits.
    #[arg(short, long, value_parser = parse_record_duration)]
    pub duration: Option<std::time::Duration>,
    /// How much to capture: `monitor` (GOMAXPROCS, stop-the-world, GC, sysmon preemptions and
    /// P hand-offs, LockOSThread, threads, signals, and the runtime's own counters sampled from
    /// memory: cheap enough to leave on), `default` (also the scheduling episodes the runtime
    /// itself samples, 1 goroutine switch in 8: who waited to run, how long, where it had
    /// stopped; estimates with intervals) or `full` (every event: every goroutine's scheduling,
    /// steals, syscalls, context switches, status changes and park stacks).
    #[arg(long, value_parser = level_parser(), default_value_t = Level::Default)]
    pub level: Level,
    /// How often to read every goroutine (state, wait reason, creation site, stack) from the
    /// program's memory, at every level; also once at the start and once at the end. `0`: only
    /// those two.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "1s")]
    pub snapshot_interval: std::time::Duration,
    /// At the default level, the most scheduling samples a second (`0`: no limit): above it
    /// the sample probe is detached for a while, as perf throttles a sampling event, and the
    /// report scales its estimates by the share of time it was attached.
    #[arg(long, value_name = "N", default_value_t = goroscope_bpf::tracer::DEFAULT_MAX_SAMPLE_RATE)]
    pub max_sample_rate: u64,
    /// Also write the recording's own statistics (attach time, events, drops, per-BPF-program
    /// run counts and time) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,
    /// The program to start and record, with its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// `record --level`: one of the level names (clap lists them in the help and in the error for
/// any other value).
fn level_parser() -> impl clap::builder::TypedValueParser<Value = Level> {
    PossibleValuesParser::new(Level::names()).map(|name| {
        Level::from_name(&name).expect("PossibleValuesParser passes only the names it was given")
    })
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The recording to analyse.
    #[arg(default_value = "goroscope.rec")]
    pub file: PathBuf,
    /// Print JSON (schema: docs/report-schema.md) instead of text.
    #[arg(long, conflicts_with = "html")]
    pub json: bool,
    /// Write a self-contained HTML page (charts, sortable tables, a zoomable timeline of Ps and
    /// threads, the JSON report embedded; no network needed) to the -o file instead.
    #[arg(long, requires = "output")]
    pub html: bool,
    /// Where --html writes the page. An earlier goroscope HTML report there is replaced; any
    /// other existing file is refused (see --force).
    #[arg(short, long, value_name = "FILE.html", requires = "html")]
    pub output: Option<PathBuf>,
    /// With --html: overwrite the -o file whatever it is (never the recording itself).
    #[arg(long, requires = "html")]
    pub force: bool,
}

/// `record -d`: a duration more than zero (`-d 0` would record nothing).
pub fn parse_record_duration(text: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "{text:?} records nothing: give a duration above zero (e.g. 10s), or leave -d \
             out to record until Ctrl-C or the program exits"
        ));
    }
    Ok(d)
}

/// "10s", "500ms", "2m", "1h", "1.5s" or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 10s, 500ms or 2m"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    std::time::Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("{text:?} is not a valid duration"))
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["binary", "pid"])))]
pub struct InspectArgs {
    /// Path of a Go executable (stripped or not, PIE or not).
    pub binary: Option<PathBuf>,
    /// Inspect the executable of this running process instead (also shows its load bias).
    #[arg(short, long)]
    pub pid: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// For a stripped binary of a Go version goroscope has no layout table for, use the nearest
    /// known version's offsets. They may be wrong; prefer a build with DWARF.
    #[arg(long)]
    pub force_nearest_layout: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn level_of(args: &[&str]) -> Result<Level, clap::Error> {
        let argv = [&["goroscope", "record"], args, &["--", "/bin/true"]].concat();
        match Cli::try_parse_from(argv)?.command {
            Command::Record(r) => Ok(r.level),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn level_takes_the_level_names() {
        assert_eq!(level_of(&[]).unwrap(), Level::Default);
        for level in Level::ALL {
            assert_eq!(level_of(&["--level", level.name()]).unwrap(), level);
        }
        let err = level_of(&["--level", "bogus"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .contains("[possible values: monitor, default, full]"),
            "{err}"
        );
    }
}
