//! procstat: user-space facts about the process goroscope traces, gathered outside BPF.
//!
//! - [`syscall_names`]: x86-64 syscall number → name, for the report.
//! - [`cpu_limit`]: the CPU the process may use (cgroup quota, cpuset, affinity, online CPUs) and
//!   the cgroup's CPU accounting, whose difference over a recording shows quota throttling.
//! - [`sched_sampler`]: the Go scheduler's own counters (`sched.npidle`, `sched.nmspinning`, the
//!   global run queue length, `gomaxprocs`) read from the live process's memory, without stopping it.

pub mod cgroup;
pub mod cpu_limit;
pub mod error;
pub mod sched_sampler;
pub mod syscall_names;

pub use cpu_limit::{CpuLimit, CpuStat};
pub use error::{Error, Result};
pub use sched_sampler::{SchedAddresses, SchedOffsets, SchedSample, SchedSampler};
pub use syscall_names::syscall_name;
