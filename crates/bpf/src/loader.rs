//! What every BPF program of goroscope shares when it is opened and loaded: the storage the
//! libbpf object lives in, the checks made first, and errors turned into advice.

use std::mem::MaybeUninit;

use anyhow::{anyhow, Error, Result};
use libbpf_rs::{ErrorKind, OpenObject};

use crate::libbpf_log::route_libbpf_log_to_tracing;
use crate::preflight::SystemFacts;

/// The memory a libbpf object lives in while its programs are loaded. libbpf-rs skeletons borrow
/// it, so it must outlive them: create it in the caller's frame, then load into it.
pub struct ObjectStorage(MaybeUninit<OpenObject>);

impl ObjectStorage {
    pub fn new() -> Self {
        Self(MaybeUninit::uninit())
    }

    pub(crate) fn slot(&mut self) -> &mut MaybeUninit<OpenObject> {
        &mut self.0
    }
}

impl Default for ObjectStorage {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs before any open: logging set up, privileges and kernel BTF checked.
pub(crate) fn prepare() -> Result<SystemFacts> {
    route_libbpf_log_to_tracing();
    let facts = SystemFacts::gather()?;
    facts.require_tracing_support()?;
    Ok(facts)
}

/// Explains a failed `load` of `program` (the verifier's log goes to the `libbpf` log target).
pub(crate) fn load_error(program: &str, err: libbpf_rs::Error) -> Error {
    match err.kind() {
        ErrorKind::PermissionDenied => anyhow!(
            "loading the BPF program {program} was refused (EPERM): goroscope needs root or \
             CAP_BPF+CAP_PERFMON (or kernel lockdown forbids BPF tracing): {err}"
        ),
        _ => anyhow!(
            "loading the BPF program {program} failed: {err} (run with -vv to see libbpf's log, \
             including the verifier's)"
        ),
    }
}
