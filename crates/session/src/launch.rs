//! Launch mode of a session: starts the command held at a gate, so the tracer can
//! attach to its pid before the program's first instruction runs, then opens the gate.
//!
//! The child is `/bin/sh -c 'read -r _ <&3 || exit 125; exec "$@" 3<&-' sh CMD ARGS...` with
//! fd 3 the read end of a pipe: the shell blocks in `read` until we write one byte (a newline),
//! then execs the program — the pid stays the same across the exec, so probes attached to the
//! pid are in place. If goroscope dies before releasing it, the pipe closes, `read` fails and
//! the shell exits without running the program untraced.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{bail, Context as _, Result};

/// The shell script of the gate.
const GATE: &str = "read -r _ <&3 || exit 125; exec \"$@\" 3<&-";

/// A started child waiting at the gate.
pub struct HeldChild {
    pub child: Child,
    gate: Option<File>,
}

impl HeldChild {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Opens the gate: the shell execs the program.
    pub fn release(&mut self) -> Result<()> {
        let mut gate = self.gate.take().context("the child was already released")?;
        gate.write_all(b"\n")
            .context("releasing the launched program")?;
        Ok(())
    }

    /// Ends a child that will not be released (e.g. the tracer failed to attach).
    pub fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds the executable `command` names, like the shell would: a name with a `/` is a path,
/// anything else is looked up in `$PATH`.
pub fn resolve_command(command: &OsString) -> Result<PathBuf> {
    let path = Path::new(command);
    if command.to_string_lossy().contains('/') {
        if path.is_dir() {
            bail!(
                "{}: is a directory; give the path of a Go executable",
                path.display()
            );
        }
        if !path.is_file() {
            bail!("{}: no such executable", path.display());
        }
        if !is_executable(path) {
            bail!(
                "{}: not executable (no execute permission; chmod +x it?)",
                path.display()
            );
        }
        return Ok(path.to_path_buf());
    }
    let search = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&search) {
        let candidate = dir.join(path);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    bail!("{}: command not found in $PATH", path.display())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts `program ARGS...` held at the gate (stdin and stderr inherited; stdout too, unless
/// `stdout` is given).
pub fn spawn_held(program: &Path, args: &[OsString], stdout: Option<File>) -> Result<HeldChild> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("creating the launch pipe");
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    let read_fd = read_end.as_raw_fd();
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(GATE)
        .arg("sh")
        .arg(program)
        .args(args);
    if let Some(stdout) = stdout {
        command.stdout(stdout);
    }
    // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if read_fd == 3 {
                // dup2 onto itself keeps O_CLOEXEC: clear it instead.
                if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(read_fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    drop(read_end);
    Ok(HeldChild {
        child,
        gate: Some(write_end),
    })
}
