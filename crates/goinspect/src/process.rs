//! A running process's executable: `/proc/PID/exe` and the load bias of its mappings.
//!
//! The load bias is what the loader added to every p_vaddr: runtime address = vaddr + bias. It is
//! read from `/proc/PID/maps` (proc(5)): the mapping of the executable's file (matched by the
//! device and inode of `/proc/PID/exe`, else by path) that covers the first PT_LOAD's file
//! offset. ET_EXEC is loaded at its link addresses, so its bias is 0 whatever the maps say.

use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::elf::ElfImage;
use crate::error::{Error, Result};

/// The executable of a live process: path to open (`/proc/PID/exe` works even when the file was
/// deleted or lives in another mount namespace) and the name it was started from.
pub struct ProcessExe {
    pub pid: u32,
    /// `/proc/PID/exe`.
    pub open_path: std::path::PathBuf,
    /// readlink of it, for display.
    pub display_path: String,
}

fn proc_error(pid: u32, detail: impl Into<String>) -> Error {
    Error::Process {
        pid,
        detail: detail.into(),
    }
}

/// Maps an I/O error on a /proc file to the messages users can act on.
fn io_error(pid: u32, what: &str, e: &std::io::Error) -> Error {
    match e.kind() {
        ErrorKind::NotFound => proc_error(pid, "no such process (it may have exited)"),
        ErrorKind::PermissionDenied => proc_error(
            pid,
            format!(
                "permission denied reading /proc/{pid}/{what}: {}",
                why_denied(pid)
            ),
        ),
        _ => proc_error(pid, format!("cannot read /proc/{pid}/{what}: {e}")),
    }
}

/// Why the kernel refuses to show another process's executable (its ptrace access check):
/// without CAP_SYS_PTRACE, a process must be ours; with it, the target must not hold
/// capabilities we lack — so root inside a container is refused the host's pid 1.
fn why_denied(pid: u32) -> String {
    let caps = |who: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/proc/{who}/status"))
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    let ours = caps("self").unwrap_or(0);
    if ours & (1 << CAP_SYS_PTRACE) == 0 {
        return "run as root or with CAP_SYS_PTRACE".to_string();
    }
    match caps(&pid.to_string()).map(|theirs| theirs & !ours) {
        Some(missing) if missing != 0 => {
            let names: Vec<String> = (0..64)
                .filter(|bit| missing & (1u64 << bit) != 0)
                .map(capability_name)
                .collect();
            format!(
                "the process holds capabilities goroscope lacks ({}), so the kernel refuses \
                 even root; run goroscope with them (e.g. on the host, not in a container)",
                names.join(", ")
            )
        }
        _ => "refused by the kernel although goroscope has CAP_SYS_PTRACE (a security module, \
              or the process is in a user namespace goroscope is not in)"
            .to_string(),
    }
}

const CAP_SYS_PTRACE: u32 = 19;

/// capability(7) names by number.
fn capability_name(bit: u32) -> String {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    match NAMES.get(bit as usize) {
        Some(name) => format!("CAP_{name}"),
        None => format!("capability {bit}"),
    }
}

/// Errors: no such process → `Error::Process` "no such process (it may have exited)";
/// permission denied → `Error::Process` "permission denied ...: " and the reason (no
/// CAP_SYS_PTRACE, or the process holds capabilities goroscope lacks).
pub fn process_exe(pid: u32) -> Result<ProcessExe> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    if pid == 0 || !dir.exists() {
        return Err(proc_error(pid, "no such process (it may have exited)"));
    }
    let open_path = dir.join("exe");
    let target = std::fs::read_link(&open_path).map_err(|e| io_error(pid, "exe", &e))?;
    // A kernel thread has no executable: readlink fails with ENOENT although the pid exists.
    std::fs::metadata(&open_path).map_err(|e| io_error(pid, "exe", &e))?;
    Ok(ProcessExe {
        pid,
        open_path,
        display_path: target.display().to_string(),
    })
}

/// One line of /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub readable: bool,
    pub writable: bool,
    pub executable: bool,
    pub offset: u64,
    /// (major, minor) of the device.
    pub dev: (u64, u64),
    pub inode: u64,
    pub path: String,
}

/// Parses /proc/PID/maps text; lines that do not parse are skipped.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_maps_line).collect()
}

fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut f = line.splitn(6, ' ');
    let (range, perms, offset, dev, inode) =
        (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let path = f.next().unwrap_or("").trim_start().to_string();
    let (start, end) = range.split_once('-')?;
    let (major, minor) = dev.split_once(':')?;
    let perms = perms.as_bytes();
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        readable: perms.first() == Some(&b'r'),
        writable: perms.get(1) == Some(&b'w'),
        executable: perms.get(2) == Some(&b'x'),
        offset: u64::from_str_radix(offset, 16).ok()?,
        dev: (
            u64::from_str_radix(major, 16).ok()?,
            u64::from_str_radix(minor, 16).ok()?,
        ),
        inode: inode.parse().ok()?,
        path,
    })
}

/// The mappings of the process's executable file, in address order.
pub fn exe_mappings(pid: u32) -> Result<Vec<Mapping>> {
    let exe = process_exe(pid)?;
    let meta = std::fs::metadata(&exe.open_path).map_err(|e| io_error(pid, "exe", &e))?;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| io_error(pid, "maps", &e))?;
    let dev = (
        u64::from(libc_major(meta.dev())),
        u64::from(libc_minor(meta.dev())),
    );
    let all = parse_maps(&maps);
    let by_inode: Vec<Mapping> = all
        .iter()
        .filter(|m| m.inode == meta.ino() && m.dev == dev)
        .cloned()
        .collect();
    if !by_inode.is_empty() {
        return Ok(by_inode);
    }
    // Overlay filesystems can report a different device in maps than stat does: use the path.
    let path = exe.display_path.trim_end_matches(" (deleted)");
    Ok(all
        .into_iter()
        .filter(|m| m.path.trim_end_matches(" (deleted)") == path)
        .collect())
}

/// Device major/minor as glibc's gnu_dev_major/minor split a dev_t.
fn libc_major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)) as u32
}
fn libc_minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)) as u32
}

const PAGE: u64 = 4096;

/// Load bias of the executable in the process: the runtime address of the first PT_LOAD minus
/// its p_vaddr (page-aligned), from `/proc/PID/maps`. 0 for non-PIE executables.
pub fn load_bias(pid: u32, elf: &ElfImage) -> Result<u64> {
    if !elf.is_pie() {
        // Still check the process exists, so a vanished pid is reported, not a bias of 0.
        process_exe(pid)?;
        return Ok(0);
    }
    let first = elf
        .segments()
        .iter()
        .min_by_key(|s| s.vaddr)
        .ok_or_else(|| Error::malformed("ELF program headers", "no PT_LOAD segment"))?;
    let mappings = exe_mappings(pid)?;
    bias_from_mappings(&mappings, first.vaddr, first.file_offset).ok_or_else(|| {
        proc_error(
            pid,
            format!(
                "no mapping of its executable at file offset {:#x} in /proc/{pid}/maps \
                 (is it the same file?)",
                first.file_offset & !(PAGE - 1)
            ),
        )
    })
}

/// The bias given the executable's mappings and its first PT_LOAD (p_vaddr, p_offset): the
/// mapping that holds the segment's first page maps file offset `m.offset` at `m.start`, so
/// the page of p_vaddr is at `m.start + (page(p_offset) - m.offset)`.
pub fn bias_from_mappings(mappings: &[Mapping], vaddr: u64, file_offset: u64) -> Option<u64> {
    let page_off = file_offset & !(PAGE - 1);
    let m = mappings
        .iter()
        .find(|m| page_off >= m.offset && page_off - m.offset < m.end.saturating_sub(m.start))?;
    let runtime_page = m.start.checked_add(page_off - m.offset)?;
    Some(runtime_page.wrapping_sub(vaddr & !(PAGE - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_lines() {
        let text = "55d0c0a00000-55d0c0a9d000 r-xp 00000000 fd:01 1234   /usr/bin/x (deleted)\n\
                    7ffd1000-7ffd2000 rw-p 00000000 00:00 0 \n\
                    garbage\n";
        let m = parse_maps(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].start, 0x55d0c0a00000);
        assert!(m[0].executable && m[0].readable && !m[0].writable);
        assert_eq!((m[0].dev, m[0].inode), ((0xfd, 1), 1234));
        assert_eq!(m[0].path, "/usr/bin/x (deleted)");
        assert_eq!(m[1].path, "");
    }

    #[test]
    fn bias_for_pie_with_first_load_at_zero() {
        let maps = parse_maps(
            "555555554000-555555555000 r--p 00000000 08:01 7 /a\n\
             555555555000-555555600000 r-xp 00001000 08:01 7 /a\n",
        );
        assert_eq!(bias_from_mappings(&maps, 0, 0), Some(0x555555554000));
        // Go's PIE links at 0x400000 with the first PT_LOAD at file offset 0.
        assert_eq!(
            bias_from_mappings(&maps, 0x400000, 0),
            Some(0x555555554000 - 0x400000)
        );
        assert_eq!(bias_from_mappings(&maps, 0x400000, 0x100000), None);
    }

    #[test]
    fn missing_process_is_reported() {
        // pid_max is at most 2^22; this one cannot exist.
        let err = process_exe(u32::MAX - 1).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("no such process")),
            "{err:?}"
        );
    }
}
