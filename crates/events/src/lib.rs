//! goroscope's typed events: the one vocabulary between the producers (the BPF decoder, the
//! recording reader, synthetic test streams) and the consumers (recorder, analysis, live views).
//!
//! Raw ABI structs stop at the decoder; everything downstream sees [`Event`]. Values the Go
//! runtime defines per version (G status, wait reasons) stay raw numbers here and are decoded
//! with [`GStatus`] and [`Meta`] so that a recording can be reinterpreted later.
//!
//! Beside the events: what a recording captured ([`Level`], [`Capabilities`]), the facts about
//! the process gathered outside the stream ([`facts`], and every goroutine at a moment:
//! [`GoroutineSnapshot`]), the runtime's own statistics read from its memory ([`runtime_stats`],
//! with the runtime's [`time_histogram`] layout), the kernel-side aggregates of its threads
//! ([`kernel_aggregates`]: on/off-CPU, switches, run-queue delay, syscalls), and x86-64 syscall names ([`syscall_names`]),
//! so that every crate reads them with the same types.

mod capture;
mod error;
mod event;
pub mod facts;
mod gstatus;
pub mod kernel_aggregates;
mod loss;
mod meta;
pub mod runtime_stats;
mod snapshot;
mod source;
pub mod syscall_names;
pub mod time_histogram;

pub use capture::{Capabilities, Capability, Fact, Level, UnknownLevel, G_TRACKING_PERIOD};
pub use error::SourceError;
pub use event::{Event, EventKind};
pub use facts::{CpuLimit, CpuStat, Throttling};
pub use gstatus::{GState, GStatus};
pub use kernel_aggregates::{
    AggregatesLost, InFlightSyscall, KernelAggregates, Log2Histogram, SyscallAggregate,
    ThreadAggregate, ThreadCounters,
};
pub use loss::LossReason;
pub use meta::{Location, Meta, Symbolizer, TableSymbolizer, WaitReasons};
pub use runtime_stats::RuntimeStats;
pub use snapshot::{GoroutineSnapshot, SnapshotGoroutine, MAX_STACK_DEPTH};
pub use source::{EventSource, VecSource};
pub use syscall_names::syscall_name;
pub use time_histogram::{MetricHistogram, TimeHistScheme};
