//! `goroscope record`: attaches the BPF tracer to a running Go process (`-p PID`) or launches
//! one with every probe in place before its first instruction (`-- CMD ARGS...`), writes what
//! it captures to a recording (crates/record, docs/recording-format.md), shows progress once a
//! second, and stops at the duration, on SIGINT/SIGTERM, or when the target exits — then
//! detaches and prints a summary on stderr (stdout stays the launched program's).

mod launch;
mod sampler;
mod symbols;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use goinspect::elf::ElfImage;
use goinspect::pclntab::Pclntab;
use goinspect::{InspectOptions, Inspection};
use goroscope_bpf::tracer::{Tracer, TracerOptions};
use goroscope_bpf::ObjectStorage;
use goroscope_events::{Event, EventKind};
use goroscope_record::{ClockBase, EndRecord, Header, RecordingWriter, StatsRecord, Target};

use crate::cli::RecordArgs;
use launch::HeldChild;
use symbols::CreationSymbols;

/// How long one poll of the ring buffer waits (the tracer drains everything queued after it).
const POLL: Duration = Duration::from_millis(50);
/// Events are handed to the writer at least this often (bounds what a SIGKILL loses).
const FLUSH_EVERY: Duration = Duration::from_millis(200);
const FLUSH_EVENTS: usize = 16 * 1024;

/// What is being recorded.
enum Traced {
    Launched(HeldChild),
    Attached(u32),
}

impl Traced {
    fn pid(&self) -> u32 {
        match self {
            Traced::Launched(c) => c.pid(),
            Traced::Attached(pid) => *pid,
        }
    }

    /// The target's exit, once it has exited ("exited" when it is not our child).
    fn exited(&mut self) -> Option<String> {
        match self {
            Traced::Launched(c) => match c.child.try_wait() {
                Ok(Some(status)) => Some(status.to_string()),
                Ok(None) => None,
                Err(e) => Some(format!("unknown ({e})")),
            },
            Traced::Attached(pid) => (!process_alive(*pid)).then(|| "exited".to_string()),
        }
    }
}

/// Whether `pid` is a live (not zombie) process.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Why the recording stopped.
struct Stop {
    sigint: Arc<AtomicBool>,
    sigterm: Arc<AtomicBool>,
}

impl Stop {
    fn install() -> Result<Stop> {
        let sigint = Arc::new(AtomicBool::new(false));
        let sigterm = Arc::new(AtomicBool::new(false));
        use signal_hook::consts::{SIGINT, SIGTERM};
        // A second Ctrl-C while stopping ends goroscope at once (the kernel still detaches).
        signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&sigint))?;
        signal_hook::flag::register(SIGINT, Arc::clone(&sigint))?;
        signal_hook::flag::register(SIGTERM, Arc::clone(&sigterm))?;
        Ok(Stop { sigint, sigterm })
    }

    fn signalled(&self) -> Option<&'static str> {
        if self.sigint.load(Ordering::Relaxed) {
            Some("SIGINT")
        } else if self.sigterm.load(Ordering::Relaxed) {
            Some("SIGTERM")
        } else {
            None
        }
    }
}

pub fn run(args: &RecordArgs) -> Result<()> {
    let command_start = Instant::now();
    require_bpf_privileges()?;
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
    let stop = Stop::install()?;
    let opts = InspectOptions::default();

    // Inspect first: a binary goroscope cannot trace is refused before anything is started.
    let (inspection, binary, mut traced) = match args.pid {
        Some(pid) => {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                bail!("no process with pid {pid}");
            }
            let inspection = goinspect::inspect_pid(pid, &opts)
                .with_context(|| format!("inspecting process {pid}"))?;
            let binary = PathBuf::from(&inspection.path);
            let binary = if binary.is_file() {
                binary
            } else {
                PathBuf::from(format!("/proc/{pid}/exe"))
            };
            (inspection, binary, None)
        }
        None => {
            let Some((program, program_args)) = args.command.split_first() else {
                bail!("give -p PID or -- CMD [ARGS...]");
            };
            let binary = launch::resolve_command(program)?;
            let inspection = goinspect::inspect_file(&binary, &opts)
                .with_context(|| format!("inspecting {}", binary.display()))?;
            let child = launch::spawn_held(&binary, program_args)?;
            (inspection, binary, Some(child))
        }
    };
    let pid = traced
        .as_ref()
        .map_or_else(|| args.pid.unwrap_or(0), HeldChild::pid);

    let data = std::fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
    let elf = ElfImage::parse(&data).context("reading the target's ELF")?;
    let pclntab = Pclntab::parse(&elf).context("reading the target's pclntab")?;

    let mut storage = ObjectStorage::new();
    let options = TracerOptions {
        level: args.level,
        ..TracerOptions::default()
    };
    let tracer = Tracer::attach_with(
        &mut storage,
        &inspection,
        Some(pid),
        Some(pid),
        &binary,
        options,
    );
    let mut tracer = match tracer {
        Ok(t) => t,
        Err(e) => {
            if let Some(child) = traced {
                child.abort();
            }
            return Err(e.context(format!("attaching the tracer to pid {pid}")));
        }
    };
    // Tests (and curious users, with -v) check from these ids that nothing stays loaded.
    if let Ok(ids) = tracer.program_ids() {
        let list: Vec<String> = ids
            .iter()
            .map(|id| format!("gs program (id {id})"))
            .collect();
        tracing::info!("tracer loaded: {}", list.join(", "));
    }
    let attach_time = command_start.elapsed();
    tracing::info!(
        "probes attached {:.1} ms after start",
        attach_time.as_secs_f64() * 1e3
    );
    for warning in tracer.warnings() {
        eprintln!("goroscope: warning: {warning}");
    }
    let start = Instant::now();
    let clock = clocks();
    let header = make_header(&inspection, args, pid, &traced, clock);
    let mut writer = match RecordingWriter::create(&args.output, &header) {
        Ok(w) => w,
        Err(e) => {
            if let Some(child) = traced {
                child.abort();
            }
            return Err(e).with_context(|| format!("creating {}", args.output.display()));
        }
    };
    let mut traced = match traced.take() {
        Some(mut child) => {
            child.release()?;
            Traced::Launched(child)
        }
        None => Traced::Attached(pid),
    };
    let load_bias = find_load_bias(&mut traced, &elf, &binary, inspection.load_bias);
    let mut symbols = CreationSymbols::new(&pclntab, load_bias);
    let sampler = sampler::Sampler::start(&inspection, pid, load_bias);
    let cpu_stat_start = procstat::read_cpu_stat(pid).ok().flatten();

    eprintln!(
        "goroscope: recording pid {pid} ({}, {}) to {}{}",
        binary.display(),
        inspection.build.go_version,
        args.output.display(),
        match args.duration {
            Some(d) => format!(" for {}", human_duration(d)),
            None => String::new(),
        }
    );
    let mut progress = Progress::new();
    let mut pending: Vec<Event> = Vec::new();
    let mut last_flush = Instant::now();
    let mut counts = Counts::default();
    let mut target_exit = None;
    let reason: String = loop {
        let mut batch = Vec::new();
        if let Err(e) = tracer.poll(POLL, &mut batch) {
            // A signal interrupts the ring buffer's epoll_wait (ours to stop, or a SIGSTOP /
            // SIGCONT of a job-controlled shell): not an error, poll again.
            if !is_interrupted(&e) && stop.signalled().is_none() {
                return Err(e);
            }
        }
        if let Some(sampler) = &sampler {
            sampler.drain(&mut batch);
        }
        counts.add(&batch);
        writer.symbols(symbols.collect(&batch))?;
        pending.append(&mut batch);
        if pending.len() >= FLUSH_EVENTS || last_flush.elapsed() >= FLUSH_EVERY {
            writer.events(std::mem::take(&mut pending))?;
            last_flush = Instant::now();
        }
        if progress.due() {
            let stats = stats_record(&tracer, counts.events)?;
            progress.show(start.elapsed(), counts.events, drops_total(&stats));
            writer.stats(stats)?;
        }
        if let Some(signal) = stop.signalled() {
            break signal.to_string();
        }
        if args.duration.is_some_and(|d| start.elapsed() >= d) {
            break "duration".to_string();
        }
        if let Some(exit) = traced.exited() {
            target_exit = Some(exit);
            break "target exited".to_string();
        }
    };
    // Everything emitted before the stop is queued in the ring buffer by now: drain it.
    let cpu_stat_end = procstat::read_cpu_stat(pid).ok().flatten();
    let mut batch = Vec::new();
    if let Some(sampler) = sampler {
        sampler.drain(&mut batch);
        drop(sampler);
    }
    for _ in 0..100 {
        if tracer
            .poll(Duration::from_millis(10), &mut batch)
            .unwrap_or(0)
            == 0
        {
            break;
        }
    }
    counts.add(&batch);
    writer.symbols(symbols.collect(&batch))?;
    pending.append(&mut batch);
    writer.events(std::mem::take(&mut pending))?;
    let stats = stats_record(&tracer, counts.events)?;
    let drops = drops_total(&stats);
    writer.stats(stats)?;
    // The stacks the events refer to (full level), resolved while the binary is at hand.
    match tracer.stacks() {
        Ok(stacks) => writer.stacks(
            stacks
                .iter()
                .map(|(id, pcs)| symbols.stack(*id, pcs))
                .collect(),
        )?,
        Err(e) => eprintln!("goroscope: warning: reading the captured stacks: {e:#}"),
    }
    let duration = start.elapsed();
    let programs = tracer.program_stats().unwrap_or_else(|e| {
        tracing::warn!("reading BPF program statistics: {e:#}");
        Vec::new()
    });
    let detach_start = Instant::now();
    drop(tracer); // detach and unload before anything else can fail
    tracing::info!(
        "probes detached in {:.1} ms",
        detach_start.elapsed().as_secs_f64() * 1e3
    );
    progress.clear();
    let totals = writer
        .finish(EndRecord {
            ts_ns: monotonic_ns(),
            reason: reason.clone(),
            target_exit: target_exit.clone(),
            events: counts.events,
            cpu_stat: match (cpu_stat_start, cpu_stat_end) {
                (Some(a), Some(b)) => Some(b.since(&a)),
                _ => None,
            },
        })
        .with_context(|| format!("writing {}", args.output.display()))?;

    let mut summary = format!(
        "goroscope: recorded {} in {}: {} events, {} dropped, {} bytes\n  goroutines created {}, \
         exited {}; threads created {}, exited {}\n  stopped: {reason}",
        binary.display(),
        human_duration(duration),
        counts.events,
        drops,
        totals.bytes,
        counts.created,
        counts.exited,
        counts.threads_created,
        counts.threads_exited,
    );
    match (&target_exit, &traced) {
        (Some(exit), _) => summary.push_str(&format!(" (target {exit})")),
        (None, Traced::Launched(c)) => {
            summary.push_str(&format!(" (target pid {} left running)", c.pid()))
        }
        (None, Traced::Attached(_)) => {}
    }
    eprintln!(
        "{summary}\n  report: goroscope report {}",
        args.output.display()
    );
    if let Some(path) = &args.stats_json {
        let json = serde_json::json!({
            "level": args.level.name(),
            "attach_ms": attach_time.as_secs_f64() * 1e3,
            "duration_s": duration.as_secs_f64(),
            "events": counts.events,
            "events_per_sec": counts.events as f64 / duration.as_secs_f64().max(1e-9),
            "drops": drops,
            "programs": programs
                .iter()
                .map(|p| serde_json::json!({
                    "name": p.name,
                    "run_cnt": p.run_cnt,
                    "run_time_ns": p.run_time_ns,
                }))
                .collect::<Vec<_>>(),
        });
        write_file_atomically(path, format!("{json:#}\n").as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to a temporary file next to `path` and renames it: a reader never sees half
/// a file.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Whether `e` is an EINTR from a system call interrupted by a signal (libbpf's errors carry it
/// only in their message).
fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::Interrupted)
            || cause.to_string().contains("Interrupted system call")
    })
}

/// Root, or CAP_BPF and CAP_PERFMON, is needed to load and attach the tracer.
fn require_bpf_privileges() -> Result<()> {
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Ok(());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    let need = (1u64 << CAP_BPF) | (1u64 << CAP_PERFMON);
    if caps & need != need {
        bail!(
            "goroscope record loads BPF programs: run it as root (e.g. with sudo), or give it \
             CAP_BPF and CAP_PERFMON"
        );
    }
    Ok(())
}

/// The load bias to subtract from runtime pcs. Launched: wait until the shell has exec'd the
/// program (its /proc/PID/exe is the binary) and read its mappings.
fn find_load_bias(traced: &mut Traced, elf: &ElfImage, binary: &Path, known: Option<u64>) -> u64 {
    if let Some(bias) = known {
        return bias;
    }
    if !elf.is_pie() {
        return 0;
    }
    let pid = traced.pid();
    let want = std::fs::metadata(binary).ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && traced.exited().is_none() {
        let exe = std::fs::metadata(format!("/proc/{pid}/exe")).ok();
        use std::os::unix::fs::MetadataExt as _;
        let same = match (&exe, &want) {
            (Some(a), Some(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        };
        if same {
            if let Ok(bias) = goinspect::process::load_bias(pid, elf) {
                return bias;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    eprintln!(
        "goroscope: warning: could not read the load bias of pid {pid}: creation sites will be \
         shown as addresses"
    );
    0
}

fn make_header(
    inspection: &Inspection,
    args: &RecordArgs,
    pid: u32,
    traced: &Option<HeldChild>,
    clock: ClockBase,
) -> Header {
    Header {
        goroscope_version: env!("CARGO_PKG_VERSION").to_string(),
        target: Target {
            path: inspection.path.clone(),
            pid,
            mode: if traced.is_some() { "launch" } else { "attach" }.to_string(),
            argv: args
                .command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            go_version: inspection.build.go_version.clone(),
            go_build_id: inspection.binary.go_build_id.clone(),
            gnu_build_id: inspection.binary.gnu_build_id.clone(),
            pie: inspection.binary.pie,
        },
        command_line: std::env::args().collect(),
        clock,
        wait_reasons: inspection
            .layout
            .constants
            .wait_reasons
            .iter()
            .filter_map(|w| Some((u8::try_from(w.value).ok()?, w.string.clone())))
            .collect(),
        stw_reasons: inspection
            .layout
            .constants
            .stw_reasons
            .iter()
            .filter_map(|w| Some((u8::try_from(w.value).ok()?, w.string.clone())))
            .collect(),
        level: args.level.name().to_string(),
        capabilities: Some(args.level.capabilities()),
        cpu_limit: procstat::read_cpu_limit(pid).ok(),
    }
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

pub(crate) fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

fn clocks() -> ClockBase {
    ClockBase {
        monotonic_ns: monotonic_ns(),
        realtime_ns: clock_ns(libc::CLOCK_REALTIME),
    }
}

fn stats_record(tracer: &Tracer<'_>, recorded: u64) -> Result<StatsRecord> {
    let stats = tracer.stats()?;
    let drops = stats.drops();
    Ok(StatsRecord {
        ts_ns: monotonic_ns(),
        submitted: stats.total_submitted(),
        recorded,
        drops: [
            ("ring_buffer_full", drops.ring_full),
            ("user_memory_unreadable", drops.unreadable),
            ("malformed_record", drops.undecodable),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    })
}

fn drops_total(stats: &StatsRecord) -> u64 {
    stats.drops.values().sum()
}

/// Cheap counters for the progress line and the summary.
#[derive(Default)]
struct Counts {
    events: u64,
    created: u64,
    exited: u64,
    threads_created: u64,
    threads_exited: u64,
}

impl Counts {
    fn add(&mut self, events: &[Event]) {
        self.events += events.len() as u64;
        for e in events {
            match e.kind {
                EventKind::GoCreate { .. } => self.created += 1,
                EventKind::GoExit { .. } => self.exited += 1,
                EventKind::ThreadFork { .. } => self.threads_created += 1,
                EventKind::ThreadExit => self.threads_exited += 1,
                _ => {}
            }
        }
    }
}

/// The once-a-second progress line: rewritten in place on a terminal, one line each otherwise.
struct Progress {
    last: Instant,
    tty: bool,
    shown: bool,
}

impl Progress {
    fn new() -> Self {
        Progress {
            last: Instant::now(),
            // SAFETY: isatty has no preconditions.
            tty: unsafe { libc::isatty(2) } == 1,
            shown: false,
        }
    }

    fn due(&mut self) -> bool {
        if self.last.elapsed() >= Duration::from_secs(1) {
            self.last = Instant::now();
            true
        } else {
            false
        }
    }

    fn show(&mut self, elapsed: Duration, events: u64, drops: u64) {
        let line = format!(
            "recording: {:>6.1} s  {events:>10} events  {drops} drops",
            elapsed.as_secs_f64()
        );
        if self.tty {
            eprint!("\r\x1b[K{line}");
        } else {
            eprintln!("{line}");
        }
        self.shown = true;
    }

    fn clear(&self) {
        if self.tty && self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.1} s")
    }
}
