//! Switches the kernel's per-BPF-program statistics (sysctl kernel.bpf_stats_enabled) for a
//! part of the run, and restores the old value. With them on, goroscope's --stats-json has run
//! counts and run times; but they cost every program run two clock reads (~40 ns here), which
//! neither the untraced run nor runtime/trace pays: the measured rounds run with them off, and
//! a separate profile pass with them on feeds only the BPF table.

const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Restores the previous value when dropped.
pub struct BpfStats {
    previous: Option<String>,
}

impl BpfStats {
    /// Sets the statistics on or off; on failure warns and carries on (with them on, a failure
    /// leaves the run counts zero; off, it leaves the measured rounds paying for them).
    pub fn set(on: bool) -> BpfStats {
        let want = if on { "1" } else { "0" };
        let previous = std::fs::read_to_string(SYSCTL)
            .ok()
            .map(|s| s.trim().to_string());
        match &previous {
            Some(p) if p == want => return BpfStats { previous: None },
            Some(_) => {}
            None => {
                if on {
                    eprintln!("goroscope-bench: warning: {SYSCTL} is missing: no BPF run counts");
                }
                return BpfStats { previous: None };
            }
        }
        if let Err(e) = std::fs::write(SYSCTL, want) {
            eprintln!("goroscope-bench: warning: cannot set {SYSCTL} to {want}: {e}");
            return BpfStats { previous: None };
        }
        BpfStats { previous }
    }

    pub fn is_enabled() -> bool {
        std::fs::read_to_string(SYSCTL).is_ok_and(|s| s.trim() == "1")
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            if let Err(e) = std::fs::write(SYSCTL, &previous) {
                eprintln!("goroscope-bench: warning: cannot restore {SYSCTL} to {previous}: {e}");
            }
        }
    }
}
