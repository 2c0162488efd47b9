//! Runs one benchmark process and measures it from the outside: wall time, CPU time and peak
//! RSS from `wait4`'s rusage, and — for a tracer — its own peak RSS (VmHWM) and CPU time sampled
//! from /proc every 20 ms until it exits, which wait4's rusage cannot give because it folds in
//! the children the process waited for (the traced workload).
//!
//! Why sampling and not a ptrace exit stop: ptrace stops interrupt goroscope's epoll_wait with
//! EINTR, which `goroscope record` (today) treats as fatal. The exit is observed with
//! `waitid(WNOWAIT)` before the process is reaped, so a sample never reads a recycled pid.
//!
//! Each process runs in its own process group, so a timeout or the runner's Ctrl-C can end it
//! and everything it started (a tracer's launched workload) together.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};

/// What to run and how to watch it.
pub struct Spec {
    pub argv: Vec<OsString>,
    pub env: Vec<(String, OsString)>,
    pub cwd: Option<PathBuf>,
    /// Sample the process's own VmHWM and CPU time from /proc while it runs.
    pub probe_exit: bool,
    pub timeout: Duration,
    /// A stderr line prefix whose first appearance is timed (goroscope's "recording pid" line,
    /// printed once the tracer is attached and the launched program released).
    pub ready_marker: Option<&'static str>,
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// The process's own figures, from the last /proc samples before it exited.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExitProbe {
    /// VmHWM: the peak resident set of this process alone (sampled: growth in its last 20 ms
    /// is missed).
    pub peak_rss_kb: Option<u64>,
    /// utime + stime of /proc/PID/stat (this process's threads only; clock-tick resolution;
    /// sampled: its last 20 ms are missed).
    pub self_cpu_ns: Option<u64>,
}

/// What was measured.
pub struct Finished {
    pub exit: Exit,
    pub wall: Duration,
    pub spawned_unix_ns: u128,
    /// User + system CPU of the process and of the children it waited for (wait4's rusage).
    pub cpu_ns: u64,
    /// ru_maxrss: the larger of the process's peak RSS and its waited-for children's.
    pub maxrss_kb: u64,
    pub exit_probe: Option<ExitProbe>,
    pub ready_after: Option<Duration>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Finished {
    /// The last lines of stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(6)..].join("\n")
    }
}

/// Runs the process to its end. `interrupted` (the runner's Ctrl-C) sends it SIGTERM.
pub fn run(spec: &Spec, interrupted: &'static AtomicBool) -> Result<Finished> {
    let (program, args) = spec.argv.split_first().context("empty command")?;
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let spawned_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", program.to_string_lossy()))?;
    let pid = i32::try_from(child.id()).context("pid out of range")?;

    let stdout = child.stdout.take().context("no stdout pipe")?;
    let stdout = std::thread::spawn(move || read_all(stdout));
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let marker = spec.ready_marker;
    let stderr = std::thread::spawn(move || read_lines_timing(stderr, marker, start));

    let (done, done_rx) = mpsc::channel::<()>();
    let timeout = spec.timeout;
    let sample = spec.probe_exit;
    let watchdog =
        std::thread::spawn(move || watch(pid, start, timeout, sample, &done_rx, interrupted));

    let exited = wait_exited(pid);
    let wall = start.elapsed();
    drop(done);
    let (timed_out, exit_probe) = watchdog.join().unwrap_or((false, None));
    exited?;
    let (status, usage) = reap(pid)?;
    let exit = if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    if exit != Exit::Code(0) {
        // Whatever it started may still hold our pipes open (a tracer's launched workload).
        kill_group(pid, libc::SIGKILL);
    }
    let stdout = stdout.join().unwrap_or_default();
    let (stderr, ready_after) = stderr.join().unwrap_or_default();
    Ok(Finished {
        exit,
        wall,
        spawned_unix_ns,
        cpu_ns: timeval_ns(usage.ru_utime) + timeval_ns(usage.ru_stime),
        maxrss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit_probe,
        ready_after,
        stdout,
        stderr,
        timed_out,
    })
}

/// Waits until the process has exited, without reaping it (its pid stays ours).
fn wait_exited(pid: i32) -> Result<()> {
    loop {
        // SAFETY: siginfo_t is plain old data; all-zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes into the local we own.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).with_context(|| format!("waiting for pid {pid}"));
        }
    }
}

/// Reaps the exited process: its wait status and rusage.
fn reap(pid: i32) -> Result<(i32, libc::rusage)> {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data; all-zero is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 writes into the two locals we own.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if r >= 0 || e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).with_context(|| format!("reaping pid {pid}"));
        }
    }
}

fn read_exit_probe(pid: i32) -> ExitProbe {
    let peak_rss_kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        });
    let self_cpu_ns = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            // SAFETY: sysconf has no preconditions.
            let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
            (hz > 0).then(|| (utime + stime) * 1_000_000_000 / hz)
        });
    ExitProbe {
        peak_rss_kb,
        self_cpu_ns,
    }
}

/// Ends the process group on timeout (SIGKILL) or on the runner's Ctrl-C (SIGTERM, once), and
/// with `sample`, reads the process's VmHWM and CPU time every 20 ms until told it has exited.
/// Returns whether it timed out, and the last samples.
fn watch(
    pid: i32,
    start: Instant,
    timeout: Duration,
    sample: bool,
    done: &mpsc::Receiver<()>,
    interrupted: &AtomicBool,
) -> (bool, Option<ExitProbe>) {
    let tick = Duration::from_millis(if sample { 20 } else { 100 });
    let mut terminated = false;
    let mut last: Option<ExitProbe> = None;
    loop {
        if sample {
            // A zombie has no VmHWM: keep the figures read while it was alive.
            let now = read_exit_probe(pid);
            let prev = last.unwrap_or_default();
            last = Some(ExitProbe {
                peak_rss_kb: now.peak_rss_kb.max(prev.peak_rss_kb),
                self_cpu_ns: now.self_cpu_ns.max(prev.self_cpu_ns),
            });
        }
        match done.recv_timeout(tick) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return (false, last),
        }
        if interrupted.load(Ordering::Relaxed) && !terminated {
            kill_group(pid, libc::SIGTERM);
            terminated = true;
        }
        if start.elapsed() > timeout {
            kill_group(pid, libc::SIGKILL);
            return (true, last);
        }
    }
}

fn kill_group(pgid: i32, signal: i32) {
    // SAFETY: kill has no memory arguments; a group that is gone gives ESRCH, which is fine.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

fn read_all(mut from: impl Read) -> String {
    let mut bytes = Vec::new();
    let _ = from.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

fn read_lines_timing(
    from: impl Read,
    marker: Option<&str>,
    start: Instant,
) -> (String, Option<Duration>) {
    let mut reader = BufReader::new(from);
    let mut text = String::new();
    let mut seen = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let s = String::from_utf8_lossy(&line);
        if seen.is_none() && marker.is_some_and(|m| s.starts_with(m)) {
            seen = Some(start.elapsed());
        }
        text.push_str(&s);
    }
    (text, seen)
}

fn timeval_ns(t: libc::timeval) -> u64 {
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000
        + u64::try_from(t.tv_usec).unwrap_or(0) * 1_000
}
