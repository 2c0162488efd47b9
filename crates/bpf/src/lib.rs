//! goroscope's BPF side: the C programs under src/bpf/, their libbpf-cargo skeletons, and the
//! code that opens, configures, loads and attaches them. Nothing else in goroscope uses libbpf-rs.
//!
//! Every program follows the same path: [`ObjectStorage`] in the caller's frame → open → write
//! the read-only configuration → load (after [`preflight`] checks) → attach → read maps → drop,
//! which detaches and unloads.

mod bpf_skel;
pub mod decode;
mod libbpf_log;
mod loader;
pub mod preflight;
pub mod selftest;
pub mod tracer;

pub use libbpf_log::route_libbpf_log_to_tracing;
pub use loader::ObjectStorage;
pub use preflight::SystemFacts;
pub use selftest::{Selftest, SelftestCounts};
