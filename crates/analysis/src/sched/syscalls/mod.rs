//! The syscalls section: kernel system calls joined to goroutines (kernel.rs), calls
//! through the runtime's syscall path (runtime.rs) and P hand-offs with the threads
//! started for them (handoff.rs).

mod errno;
pub mod handoff;
mod hist;
pub mod kernel;
pub mod runtime;
#[cfg(test)]
pub(crate) mod tests;

use goroscope_events::Event;
use serde::{Deserialize, Serialize};

use super::FinishInputs;
use crate::state::Model;
use crate::timeline::Collector;
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
    pub fn observe(&mut self, event: &Event, model: &Model, out: &mut dyn Collector) {
        self.kernel.observe(event, model, out);
        self.runtime.observe(event, model);
        self.handoffs.observe(event, out);
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
/// hist.rs; count, total and max exact).
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
    goroscope_events::syscall_name(nr).into_owned()
}
