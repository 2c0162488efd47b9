//! procstat: user-space facts about the process goroscope traces, gathered outside BPF.
//!
//! - [`cpu_limit`]: the CPU the process may use (cgroup quota, cpuset, affinity, online CPUs) and
//!   the cgroup's CPU accounting, whose difference over a recording shows quota throttling
//!   (the types, shared with the recording and the analysis, are `goroscope_events::facts`).
//! - [`sched_sampler`]: the Go scheduler's own counters (`sched.npidle`, `sched.nmspinning`, the
//!   global run queue length, `gomaxprocs`) read from the live process's memory, without stopping it.
//! - [`goroutines`]: every goroutine (status, wait reason, creation site, stack) read from
//!   `runtime.allgs` the same way.
//! - [`runtime_stats`]: the runtime's own statistics (scheduling-latency and stop-the-world
//!   histograms, mutex wait, goroutines created, threads, GC cycles), read the same way.
//! - [`memory`]: the batched memory reader all three use.

pub mod cgroup;
pub mod cpu_limit;
pub mod error;
pub mod goroutines;
pub mod memory;
pub mod runtime_stats;
pub mod sched_sampler;

pub use cpu_limit::{read_cpu_limit, read_cpu_stat};
pub use error::{Error, Result};
pub use goroscope_events::{CpuLimit, CpuStat};
pub use goroutines::{AllgsAddresses, GOffsets, GoroutineReader};
pub use memory::{Memory, ProcessMemory};
pub use runtime_stats::{RuntimeStatsAddresses, RuntimeStatsOffsets, RuntimeStatsReader};
pub use sched_sampler::{SchedAddresses, SchedOffsets, SchedSample, SchedSampler};
