//! Checks, before anything is loaded, that this machine can run goroscope's BPF programs, so a
//! missing privilege or kernel feature gets a message that says what to do instead of a bare
//! `EPERM` or a CO-RE failure from deep inside libbpf.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Where the kernel exposes its own BTF; CO-RE relocations are resolved against it.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

// Capability numbers from include/uapi/linux/capability.h.
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// What the checks found; shown by `goroscope selftest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemFacts {
    /// `uname -r`.
    pub kernel_release: String,
    pub kernel_btf: bool,
    pub effective_uid: u32,
    pub cap_sys_admin: bool,
    pub cap_bpf: bool,
    pub cap_perfmon: bool,
}

impl SystemFacts {
    /// Reads the facts of the running kernel and of this process.
    pub fn gather() -> Result<Self> {
        let kernel_release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .context("reading /proc/sys/kernel/osrelease (is /proc mounted?)")?
            .trim()
            .to_string();
        let status = std::fs::read_to_string("/proc/self/status")
            .context("reading /proc/self/status (is /proc mounted?)")?;
        let cap_eff = status_field(&status, "CapEff:")
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .context("no readable CapEff line in /proc/self/status")?;
        let effective_uid = status_field_nth(&status, "Uid:", 1)
            .and_then(|v| v.parse().ok())
            .context("no readable Uid line in /proc/self/status")?;
        let has = |cap: u32| cap_eff & (1u64 << cap) != 0;
        Ok(Self {
            kernel_release,
            kernel_btf: Path::new(KERNEL_BTF).exists(),
            effective_uid,
            cap_sys_admin: has(CAP_SYS_ADMIN),
            cap_bpf: has(CAP_BPF),
            cap_perfmon: has(CAP_PERFMON),
        })
    }

    /// Whether the process may load tracing programs and open uprobe/tracepoint perf events:
    /// CAP_BPF+CAP_PERFMON (kernel 5.8+), or CAP_SYS_ADMIN, which implies both.
    pub fn may_trace(&self) -> bool {
        self.cap_sys_admin || (self.cap_bpf && self.cap_perfmon)
    }

    /// Fails with what to do when a requirement is missing.
    pub fn require_tracing_support(&self) -> Result<()> {
        if !self.may_trace() {
            let who = if self.effective_uid == 0 {
                "this process runs as root but without those capabilities (a restricted \
                 container?)"
                    .to_string()
            } else {
                format!("this process runs as uid {}", self.effective_uid)
            };
            bail!(
                "goroscope needs root, or the capabilities CAP_BPF and CAP_PERFMON, to load BPF \
                 programs; {who}. Run it with sudo, or grant them once with \
                 `sudo setcap cap_bpf,cap_perfmon+ep /path/to/goroscope`"
            );
        }
        if !self.kernel_btf {
            bail!(
                "this kernel ({}) exposes no BTF type information ({KERNEL_BTF} is missing). \
                 goroscope's BPF programs are compiled once and adapted to the running kernel \
                 through BTF: use a kernel built with CONFIG_DEBUG_INFO_BTF=y (the default of \
                 most distributions since Linux 5.4)",
                self.kernel_release
            );
        }
        Ok(())
    }
}

/// The first value after `key` on its line of /proc/<pid>/status.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status_field_nth(status, key, 0)
}

/// The `n`th whitespace-separated value after `key` (Uid: lists real, effective, saved, fs).
fn status_field_nth<'a>(status: &'a str, key: &str, n: usize) -> Option<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .nth(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tgoroscope\nUid:\t1000\t0\t0\t0\nCapEff:\t000001c000200000\n";

    #[test]
    fn reads_effective_uid_and_caps() {
        assert_eq!(status_field_nth(STATUS, "Uid:", 1), Some("0"));
        let caps = u64::from_str_radix(status_field(STATUS, "CapEff:").unwrap(), 16).unwrap();
        assert_ne!(caps & (1 << CAP_SYS_ADMIN), 0);
        assert_ne!(caps & (1 << CAP_PERFMON), 0);
        assert_ne!(caps & (1 << CAP_BPF), 0);
    }

    fn facts(admin: bool, bpf: bool, perfmon: bool, btf: bool) -> SystemFacts {
        SystemFacts {
            kernel_release: "6.18.0".into(),
            kernel_btf: btf,
            effective_uid: 1000,
            cap_sys_admin: admin,
            cap_bpf: bpf,
            cap_perfmon: perfmon,
        }
    }

    #[test]
    fn explains_missing_privileges_and_btf() {
        let err = facts(false, true, false, true)
            .require_tracing_support()
            .unwrap_err();
        assert!(err.to_string().contains("CAP_BPF and CAP_PERFMON"), "{err}");
        let err = facts(true, false, false, false)
            .require_tracing_support()
            .unwrap_err();
        assert!(err.to_string().contains(KERNEL_BTF), "{err}");
        facts(false, true, true, true)
            .require_tracing_support()
            .unwrap();
        facts(true, false, false, true)
            .require_tracing_support()
            .unwrap();
    }
}
