//! The check before anything is loaded: a clear message instead of libbpf's EPERM or a CO-RE
//! failure — the same one `goroscope selftest` makes (`goroscope_bpf::preflight`).

use anyhow::Result;
use goroscope_bpf::SystemFacts;

/// Root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF are needed to load and attach the
/// tracer.
pub fn require_bpf_privileges() -> Result<()> {
    SystemFacts::gather()?.require_tracing_support()
}
