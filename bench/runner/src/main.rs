//! goroscope-bench: measures what goroscope costs a Go program, next to Go's own execution
//! tracer. Runs each workload untraced, under runtime/trace and under `goroscope record` at each
//! level, interleaved round by round (A B C A B C ...), and prints a table per workload; see
//! bench/README.md. `bench/run.sh` builds everything and runs this.

mod big_attach;
mod bpf_stats;
mod launch;
mod parse;
mod results;
mod sample;
mod summary;
mod table;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::Parser;

use results::{Environment, Report, WorkloadRuns};
use sample::Setup;
use workload::{Paths, Variant};

/// Set by SIGINT/SIGTERM: the current run is ended and the harness prints what it has.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Parser)]
#[command(
    name = "goroscope-bench",
    about = "Overhead of goroscope record vs Go's runtime/trace on Go workloads"
)]
struct Cli {
    /// The goroscope binary (a release build).
    #[arg(long)]
    goroscope: PathBuf,
    /// Directory holding the built workloads (pingpong, http, cpugc, spawn).
    #[arg(long)]
    workload_dir: PathBuf,
    /// The Go toolchain the workloads were built with (`go version` is reported; gobuild runs it).
    #[arg(long)]
    go: Option<PathBuf>,
    /// Interleaved rounds: every variant of every workload runs once per round [default: 5,
    /// --quick: 1].
    #[arg(long)]
    rounds: Option<u32>,
    /// goroscope record levels to measure (ignored when record has no --level).
    #[arg(long, value_delimiter = ',', default_value = "monitor,default,full")]
    levels: Vec<String>,
    /// Workloads to run (default: pingpong,http,cpugc,spawn, plus gobuild with --with-gobuild).
    #[arg(long, value_delimiter = ',')]
    workloads: Option<Vec<String>>,
    /// Also run gobuild (`go build -a std` with a fresh GOCACHE; minutes per run on 2 cores).
    #[arg(long)]
    with_gobuild: bool,
    /// Measured time per run of each workload program (e.g. 2s, 500ms).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// One round of 300 ms runs (the smoke test's mode); --rounds/--duration still override.
    #[arg(long)]
    quick: bool,
    /// Also measure attach time on this large Go binary (runs `BINARY --version`).
    #[arg(long)]
    big_binary: Option<PathBuf>,
    /// No profile pass with kernel.bpf_stats_enabled=1 after the measured rounds (the BPF
    /// table then stays empty). The measured rounds always run with the statistics off.
    #[arg(long)]
    no_bpf_stats: bool,
    /// Write every figure (each run and the summaries) to this JSON file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(ms) = t.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = t.strip_suffix('s') {
        (s, 1.0)
    } else {
        (t, 1.0)
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| Duration::from_secs_f64(v * scale))
        .ok_or_else(|| format!("{text:?} is not a duration like 2s or 500ms"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("goroscope-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

fn run(cli: &Cli) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("goroscope record loads BPF programs: run the harness as root");
    }
    let workloads = selected_workloads(cli)?;
    let rounds = cli.rounds.unwrap_or(if cli.quick { 1 } else { 5 }).max(1);
    let duration = cli.duration.unwrap_or(if cli.quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(2)
    });
    let caps = workload::detect_capabilities(&cli.goroscope)?;
    if !caps.level {
        eprintln!(
            "goroscope-bench: note: record has no --level yet: one \"goroscope record\" column"
        );
    }
    if !caps.stats_json {
        eprintln!("goroscope-bench: note: record has no --stats-json yet: attach time and BPF figures show \"-\"");
    }
    let variants = workload::variants(&cli.levels, &caps);
    let scratch = std::env::temp_dir().join(format!("goroscope-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    // Absolute paths: gobuild runs in a scratch directory.
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let setup = Setup {
        paths: Paths {
            goroscope: absolute(&cli.goroscope),
            workload_dir: absolute(&cli.workload_dir),
            go: cli.go.as_ref().map(absolute),
        },
        caps,
        duration,
        scratch,
    };
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    let mut environment = environment(cli, &setup, rounds);
    let outcome = measure_all(cli, &setup, &workloads, &variants, rounds);
    let _ = std::fs::remove_dir_all(&setup.scratch);
    let (mut runs, big_attach) = outcome?;
    // What happened, not what was asked: enabling the statistics can fail.
    environment.bpf_stats_profile_pass = runs
        .iter()
        .any(|w| w.variants.iter().any(|v| !v.profile.is_empty()));
    for w in &mut runs {
        w.summarize();
    }
    let report = Report {
        environment,
        workloads: runs,
        big_attach,
    };
    print!("{}", table::report(&report));
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report).context("serialising the report")?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted: the tables above are partial");
    }
    Ok(())
}

type Measured = (Vec<WorkloadRuns>, Option<results::BigAttach>);

/// The first line of an error with its causes, for a progress line.
fn first_error_line(e: &anyhow::Error) -> String {
    format!("{e:#}").lines().next().unwrap_or("").to_string()
}

/// One more run of each goroscope variant with the BPF statistics on, for the BPF table only
/// (the statistics slow every program run: these runs stay out of the ratios).
fn profile_pass(setup: &Setup, workloads: &[workload::Workload], runs: &mut [WorkloadRuns]) {
    let _stats_on = bpf_stats::BpfStats::set(true);
    if !bpf_stats::BpfStats::is_enabled() {
        return;
    }
    for (w, out) in workloads.iter().zip(runs.iter_mut()) {
        for v in out.variants.iter_mut().filter(|v| v.variant.is_goroscope()) {
            if INTERRUPTED.load(Ordering::Relaxed) {
                return;
            }
            match sample::measure(setup, w, &v.variant, 0, &INTERRUPTED) {
                Ok(s) => {
                    eprintln!(
                        "[profile] {:<9} {:<18} BPF statistics on (not in the ratios)",
                        w.name, v.label
                    );
                    v.profile.push(s);
                }
                Err(e) => eprintln!(
                    "[profile] {:<9} {:<18} failed: {}",
                    w.name,
                    v.label,
                    first_error_line(&e)
                ),
            }
        }
    }
}

/// Every round runs every workload under every variant. The variants' order rotates by one each
/// round, so none always runs first (right after the previous workload's heaviest variant and
/// its recording's writeback) or last: on this VM a fixed order showed up as a bias of its own.
fn measure_all(
    cli: &Cli,
    setup: &Setup,
    workloads: &[workload::Workload],
    variants: &[Variant],
    rounds: u32,
) -> Result<Measured> {
    let mut runs: Vec<WorkloadRuns> = workloads
        .iter()
        .map(|w| WorkloadRuns::new(w, variants))
        .collect();
    let stats_off = bpf_stats::BpfStats::set(false);
    'rounds: for round in 1..=rounds {
        for (w, out) in workloads.iter().zip(&mut runs) {
            let n = out.variants.len();
            let start = (round as usize - 1) % n.max(1);
            let (later, first) = out.variants.split_at_mut(start);
            for v in first.iter_mut().chain(later.iter_mut()) {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    break 'rounds;
                }
                if v.not_applicable {
                    continue;
                }
                let shown = match sample::measure(setup, w, &v.variant, round, &INTERRUPTED) {
                    Ok(s) => {
                        let text = match w.kind {
                            workload::Kind::GoBuild => format!("{:.1} s", s.ns_per_op / 1e9),
                            workload::Kind::Program => {
                                format!("{} ns/op", table::ns_per_op(s.ns_per_op))
                            }
                        };
                        v.samples.push(s);
                        text
                    }
                    Err(e) => {
                        let text = format!("failed: {}", first_error_line(&e));
                        v.failures.push(format!("{e:#}"));
                        text
                    }
                };
                eprintln!("[{round}/{rounds}] {:<9} {:<18} {shown}", w.name, v.label);
            }
        }
    }
    drop(stats_off);
    if !cli.no_bpf_stats {
        profile_pass(setup, workloads, &mut runs);
    }
    let big = match &cli.big_binary {
        Some(b) if !INTERRUPTED.load(Ordering::Relaxed) => {
            if b.is_file() {
                Some(big_attach::measure(
                    setup,
                    b,
                    variants,
                    rounds,
                    &INTERRUPTED,
                )?)
            } else {
                eprintln!(
                    "goroscope-bench: note: {} not found: no large-binary attach test",
                    b.display()
                );
                None
            }
        }
        _ => None,
    };
    Ok((runs, big))
}

fn selected_workloads(cli: &Cli) -> Result<Vec<workload::Workload>> {
    let names: Vec<String> = match &cli.workloads {
        Some(list) => list.clone(),
        None => {
            let mut all: Vec<String> = ["pingpong", "http", "cpugc", "spawn"]
                .map(String::from)
                .to_vec();
            if cli.with_gobuild {
                all.push("gobuild".into());
            }
            all
        }
    };
    let mut chosen = names
        .iter()
        .map(|n| workload::by_name(n.trim()))
        .collect::<Result<Vec<_>>>()?;
    if cli.with_gobuild && !chosen.iter().any(|w| w.name == "gobuild") {
        chosen.push(workload::by_name("gobuild")?);
    }
    if chosen.iter().any(|w| w.kind == workload::Kind::GoBuild) && cli.go.is_none() {
        bail!("gobuild needs --go PATH (the toolchain that builds the standard library)");
    }
    Ok(chosen)
}

fn environment(cli: &Cli, setup: &Setup, rounds: u32) -> Environment {
    let first_line = |program: &std::path::Path, arg: &str| {
        std::process::Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default()
    };
    Environment {
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        go: cli
            .go
            .as_ref()
            .map(|g| first_line(g, "version"))
            .unwrap_or_default(),
        goroscope: first_line(&cli.goroscope, "--version"),
        record_capabilities: setup.caps,
        bpf_stats_profile_pass: false, // set once the runs are in
        rounds,
        measured_seconds_per_run: setup.duration.as_secs_f64(),
        tracer_cpu_method: "wait4 rusage (user+sys) of goroscope, which includes its launched \
                            workload, minus the workload's own getrusage(RUSAGE_SELF) from its \
                            RESULT line; else utime+stime of /proc/PID/stat sampled every 20 ms \
                            until goroscope exits",
        tracer_rss_method: "VmHWM of /proc/PID/status sampled every 20 ms until goroscope exits: \
                            goroscope's own peak RSS, not its child's",
    }
}
