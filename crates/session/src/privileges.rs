//! The privilege check before anything is loaded: a clear message instead of libbpf's EPERM.

use anyhow::{bail, Result};

/// Root, or CAP_BPF and CAP_PERFMON, is needed to load and attach the tracer.
pub fn require_bpf_privileges() -> Result<()> {
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
