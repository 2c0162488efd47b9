//! Decoding of the Go runtime's goroutine status word (`g.atomicstatus`, `_G*` constants).
//!
//! Source: runtime/runtime2.go of every supported toolchain; the values are identical in Go 1.19
//! and 1.21–1.27 (table in ../shared/reference/go-runtime-internals.md), except that `_Gleaked`
//! (10) and `_Gdeadextra` (11) only exist from 1.26. `_Gscan` (0x1000) is ORed into a status
//! while the GC scans the goroutine's stack.

use std::fmt;

/// A raw status value as the runtime stores it, scan bit included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GStatus(pub u32);

/// The base states (the status without the scan bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GState {
    Idle,
    Runnable,
    Running,
    Syscall,
    Waiting,
    MoribundUnused,
    Dead,
    EnqueueUnused,
    Copystack,
    Preempted,
    /// Go 1.26+: found leaked by the goroutine leak detector.
    Leaked,
    /// Go 1.26+: an extra M's goroutine between cgo callbacks (was `_Gdead` before).
    DeadExtra,
}

impl GStatus {
    /// `_Gscan`: set while the GC owns the goroutine's stack.
    pub const SCAN_BIT: u32 = 0x1000;

    /// Whether the `_Gscan` bit is set.
    pub fn is_scan(self) -> bool {
        self.0 & Self::SCAN_BIT != 0
    }

    /// The base state, `None` for values no supported Go version defines.
    pub fn state(self) -> Option<GState> {
        GState::from_raw(self.0 & !Self::SCAN_BIT)
    }
}

impl fmt::Display for GStatus {
    /// The runtime's constant name (`_Gscanwaiting`), or the hex value if unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state() {
            Some(state) if self.is_scan() => write!(f, "_Gscan{}", state.suffix()),
            Some(state) => write!(f, "_G{}", state.suffix()),
            None => write!(f, "{:#x}", self.0),
        }
    }
}

impl GState {
    /// The state for a raw value without the scan bit.
    pub fn from_raw(raw: u32) -> Option<GState> {
        Some(match raw {
            0 => GState::Idle,
            1 => GState::Runnable,
            2 => GState::Running,
            3 => GState::Syscall,
            4 => GState::Waiting,
            5 => GState::MoribundUnused,
            6 => GState::Dead,
            7 => GState::EnqueueUnused,
            8 => GState::Copystack,
            9 => GState::Preempted,
            10 => GState::Leaked,
            11 => GState::DeadExtra,
            _ => return None,
        })
    }

    /// The runtime's raw value.
    pub fn raw(self) -> u32 {
        self as u32
    }

    /// The runtime's constant name, e.g. `_Grunnable`.
    pub fn go_name(self) -> String {
        format!("_G{}", self.suffix())
    }

    /// Constant name without the `_G` / `_Gscan` prefix, as the runtime spells it.
    fn suffix(self) -> &'static str {
        match self {
            GState::Idle => "idle",
            GState::Runnable => "runnable",
            GState::Running => "running",
            GState::Syscall => "syscall",
            GState::Waiting => "waiting",
            GState::MoribundUnused => "moribund_unused",
            GState::Dead => "dead",
            GState::EnqueueUnused => "enqueue_unused",
            GState::Copystack => "copystack",
            GState::Preempted => "preempted",
            GState::Leaked => "leaked",
            GState::DeadExtra => "deadextra",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_scan_bit_and_names() {
        // Values from the DWARF constants table (go-runtime-internals.md, "G status constants").
        assert_eq!(GStatus(0x1004).state(), Some(GState::Waiting));
        assert!(GStatus(0x1004).is_scan());
        assert_eq!(GStatus(0x1004).to_string(), "_Gscanwaiting");
        assert_eq!(GStatus(0x1009).to_string(), "_Gscanpreempted");
        assert_eq!(GStatus(1).to_string(), "_Grunnable");
        assert!(!GStatus(1).is_scan());
        assert_eq!(GStatus(6).state(), Some(GState::Dead));
        assert_eq!(GStatus(0x100b).state(), Some(GState::DeadExtra));
        assert_eq!(GStatus(12).state(), None);
        assert_eq!(GStatus(12).to_string(), "0xc");
        for raw in 0..12 {
            assert_eq!(GState::from_raw(raw).map(GState::raw), Some(raw));
        }
        assert_eq!(GState::Running.go_name(), "_Grunning");
    }
}
