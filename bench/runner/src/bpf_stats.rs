//! Turns on the kernel's per-BPF-program statistics (sysctl kernel.bpf_stats_enabled) for the
//! run, so goroscope's --stats-json has run counts and run times, and restores the old value.
//! The statistics cost a little per program run (two clock reads), the same for every level.

use std::path::Path;

const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Restores the previous value when dropped.
pub struct BpfStats {
    previous: Option<String>,
}

impl BpfStats {
    /// Enables the statistics; on failure warns and carries on (the counts stay zero).
    pub fn enable() -> BpfStats {
        let previous = std::fs::read_to_string(SYSCTL)
            .ok()
            .map(|s| s.trim().to_string());
        match &previous {
            Some(p) if p == "1" => return BpfStats { previous: None },
            Some(_) => {}
            None => {
                eprintln!("goroscope-bench: warning: {SYSCTL} is missing: no BPF run counts");
                return BpfStats { previous: None };
            }
        }
        if let Err(e) = std::fs::write(SYSCTL, "1") {
            eprintln!("goroscope-bench: warning: cannot enable BPF stats ({SYSCTL}): {e}");
            return BpfStats { previous: None };
        }
        BpfStats { previous }
    }

    pub fn is_enabled() -> bool {
        Path::new(SYSCTL).exists() && std::fs::read_to_string(SYSCTL).is_ok_and(|s| s.trim() == "1")
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
