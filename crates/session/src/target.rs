//! Choosing the traced process: a running one by pid, or a program launched behind the gate
//! (`launch.rs`). Either way it is inspected first, so a binary goroscope cannot trace is
//! refused before anything is started; then, once it runs, where it is loaded and whether it
//! is still alive.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use goinspect::elf::ElfImage;
use goinspect::{InspectOptions, Inspection};

use crate::launch::{self, HeldChild};
use crate::TargetSpec;

/// A target inspected and, when launched, waiting at its gate.
pub(crate) struct Prepared {
    pub inspection: Inspection,
    /// The executable to attach the probes to.
    pub binary: PathBuf,
    pub pid: u32,
    pub held: Option<HeldChild>,
}

/// Inspects the target and, for a launch, starts it held at the gate.
pub(crate) fn prepare(spec: TargetSpec) -> Result<Prepared> {
    let opts = InspectOptions::default();
    match spec {
        TargetSpec::Attach { pid } => {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                bail!("no process with pid {pid}");
            }
            // /proc/TID exists for every thread too, but the probes filter on a process.
            if let Some(tgid) = thread_group(pid).filter(|tgid| *tgid != pid) {
                bail!(
                    "{pid} is a thread of process {tgid}, not a process: goroscope records \
                     whole processes; give -p {tgid}"
                );
            }
            let inspection = goinspect::inspect_pid(pid, &opts)
                .with_context(|| format!("inspecting process {pid}"))?;
            let binary = PathBuf::from(&inspection.path);
            let binary = if binary.is_file() {
                binary
            } else {
                PathBuf::from(format!("/proc/{pid}/exe"))
            };
            Ok(Prepared {
                inspection,
                binary,
                pid,
                held: None,
            })
        }
        TargetSpec::Launch {
            program,
            args,
            stdout,
        } => {
            let binary = launch::resolve_command(&program)?;
            let inspection = goinspect::inspect_file(&binary, &opts)
                .with_context(|| format!("inspecting {}", binary.display()))?;
            let child = launch::spawn_held(&binary, &args, stdout)?;
            Ok(Prepared {
                inspection,
                binary,
                pid: child.pid(),
                held: Some(child),
            })
        }
    }
}

/// The process being traced, once it runs.
pub(crate) enum Traced {
    Launched(HeldChild),
    Attached(u32),
}

impl Traced {
    pub fn pid(&self) -> u32 {
        match self {
            Traced::Launched(c) => c.pid(),
            Traced::Attached(pid) => *pid,
        }
    }

    /// The target's exit, once it has exited.
    pub fn exited(&mut self) -> Option<Exit> {
        match self {
            Traced::Launched(c) => match c.child.try_wait() {
                Ok(Some(status)) => Some(Exit::Status(status)),
                Ok(None) => None,
                Err(e) => Some(Exit::Unknown(e.to_string())),
            },
            Traced::Attached(pid) => (!process_alive(*pid)).then_some(Exit::NotOurChild),
        }
    }

    /// The load bias to subtract from runtime pcs, None when it cannot be read. Launched:
    /// waits until the shell has exec'd the program (its /proc/PID/exe is the binary) and reads
    /// its mappings.
    pub fn load_bias(&mut self, elf: &ElfImage, binary: &Path, known: Option<u64>) -> Option<u64> {
        if known.is_some() {
            return known;
        }
        if !elf.is_pie() {
            return Some(0);
        }
        let pid = self.pid();
        let want = std::fs::metadata(binary).ok();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.exited().is_none() {
            let exe = std::fs::metadata(format!("/proc/{pid}/exe")).ok();
            use std::os::unix::fs::MetadataExt as _;
            let same = match (&exe, &want) {
                (Some(a), Some(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            if same {
                if let Ok(bias) = goinspect::process::load_bias(pid, elf) {
                    return Some(bias);
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }
}

/// How the traced process ended.
pub(crate) enum Exit {
    /// A launched target's status (its code, or the signal that killed it).
    Status(std::process::ExitStatus),
    /// An attached process is gone; only its parent learns how.
    NotOurChild,
    /// Waiting for the launched target failed.
    Unknown(String),
}

impl Exit {
    pub fn status(&self) -> Option<std::process::ExitStatus> {
        match self {
            Exit::Status(status) => Some(*status),
            _ => None,
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Status(status) => write!(f, "{status}"),
            Exit::NotOurChild => f.write_str("exited"),
            Exit::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// The process (thread group) thread `tid` belongs to, from /proc/TID/status.
fn thread_group(tid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
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
