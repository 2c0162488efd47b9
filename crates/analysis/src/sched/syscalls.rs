//! The syscalls section: kernel system calls joined to goroutines (syscalls_kernel.rs), calls
//! through the runtime's syscall path (syscalls_runtime.rs) and P hand-offs with the threads
//! started for them (syscalls_handoff.rs).

#[path = "syscalls_errno.rs"]
mod errno;
#[path = "syscalls_handoff.rs"]
pub mod handoff;
#[path = "syscalls_hist.rs"]
mod hist;
#[path = "syscalls_kernel.rs"]
pub mod kernel;
/// Shared with the locking, GOMAXPROCS and stop-the-world sections.
#[path = "syscalls_level.rs"]
pub mod level;
#[path = "syscalls_runtime.rs"]
pub mod runtime;
#[cfg(test)]
#[path = "syscalls_tests.rs"]
pub(crate) mod tests;

use goroscope_events::Event;
use serde::{Deserialize, Serialize};

use super::FinishInputs;
use crate::state::Model;
use hist::Histogram;

/// Goroutine rows kept per table in the JSON (the goroutine count says how many there were).
pub const TOP_GOROUTINES: usize = 50;

#[derive(Debug, Default)]
pub struct Syscalls {
    kernel: kernel::KernelSyscalls,
    runtime: runtime::RuntimeSyscalls,
    handoffs: handoff::Handoffs,
}

impl Syscalls {
    pub fn observe(&mut self, event: &Event, model: &Model) {
        self.kernel.observe(event, model);
        self.runtime.observe(event, model);
        self.handoffs.observe(event);
    }

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> SyscallReport {
        SyscallReport {
            kernel: self.kernel.finish(inputs),
            through_runtime: self.runtime.finish(inputs),
            handoffs: self.handoffs.finish(inputs),
        }
    }
}

/// `scheduler.syscalls`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyscallReport {
    pub kernel: kernel::KernelSyscallReport,
    pub through_runtime: runtime::RuntimeSyscallReport,
    pub handoffs: handoff::HandoffReport,
}

/// Count and latency of a group of calls (nanoseconds; percentiles within ~3%, see
/// syscalls_hist.rs; count, total and max exact).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LatencyStats {
    pub count: u64,
    pub total_ns: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
}

impl From<&Histogram> for LatencyStats {
    fn from(h: &Histogram) -> Self {
        LatencyStats {
            count: h.count(),
            total_ns: h.total(),
            p50_ns: h.quantile(0.50),
            p99_ns: h.quantile(0.99),
            max_ns: h.max(),
        }
    }
}

/// The x86-64 name of syscall `nr` ("sys_<nr>" when unknown).
pub fn syscall_name(nr: i64) -> String {
    procstat::syscall_names::syscall_name(nr).into_owned()
}
