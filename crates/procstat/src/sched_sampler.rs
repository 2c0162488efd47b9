//! The Go scheduler's own counters, read from a live process's memory with `process_vm_readv`
//! (no ptrace stop; the process keeps running): `sched.npidle` (idle Ps), `sched.nmspinning` (Ms
//! spinning for work), the global run queue length and `gomaxprocs`. Each sample is two reads
//! of a few bytes, cheap enough for every ~10 ms.
//!
//! The counters are read without the scheduler's lock, so one sample may mix values from
//! slightly different moments (each 4-byte value itself is read whole: they are aligned).

use serde::{Deserialize, Serialize};

use goinspect::{Inspection, RuntimeLayout};

use crate::error::{Error, Result};
use crate::memory::ProcessMemory;

/// Run-time addresses (load bias already added) of the two globals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedAddresses {
    /// `runtime.sched` (a `runtime.schedt`).
    pub sched: u64,
    /// `runtime.gomaxprocs` (an int32).
    pub gomaxprocs: u64,
}

impl SchedAddresses {
    /// From an inspection of a running process (`goinspect::inspect_pid`): link-time addresses
    /// plus its load bias (0 for non-PIE).
    pub fn from_inspection(insp: &Inspection) -> Result<Self> {
        Self::at_load_bias(insp, insp.load_bias.unwrap_or(0))
    }

    /// The executable `insp` describes, mapped at `bias`: for an inspection of the file, when
    /// the process's load bias is learnt later (a program launched after inspecting it).
    pub fn at_load_bias(insp: &Inspection, bias: u64) -> Result<Self> {
        let need = |addr: Option<u64>, what: &str| {
            addr.and_then(|a| a.checked_add(bias)).ok_or_else(|| {
                Error::Layout(format!(
                    "the address of {what} is unknown for {}",
                    insp.path
                ))
            })
        };
        Ok(SchedAddresses {
            sched: need(insp.layout.sched_address, "runtime.sched")?,
            gomaxprocs: need(insp.layout.gomaxprocs_address, "runtime.gomaxprocs")?,
        })
    }
}

/// Offsets inside `runtime.schedt` of the int32 counters sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedOffsets {
    pub npidle: u64,
    pub nmspinning: u64,
    /// `schedt.runqsize` (Go ≤1.24), or `schedt.runq` + `gQueue.size` (1.25+).
    pub global_runq: u64,
}

impl SchedOffsets {
    /// From goinspect's layout (DWARF or the per-version table).
    pub fn from_layout(layout: &RuntimeLayout) -> Result<Self> {
        let missing = |what: &str| Error::Layout(format!("the layout has no {what}"));
        let schedt = layout
            .structs
            .get("runtime.schedt")
            .ok_or_else(|| missing("runtime.schedt"))?;
        let field = |name: &str| {
            schedt
                .fields
                .get(name)
                .copied()
                .ok_or_else(|| missing(&format!("runtime.schedt.{name}")))
        };
        let global_runq = match schedt.fields.get("runqsize") {
            Some(&off) => off,
            None => {
                let size = layout
                    .structs
                    .get("runtime.gQueue")
                    .and_then(|q| q.fields.get("size"))
                    .ok_or_else(|| missing("schedt.runqsize nor gQueue.size"))?;
                field("runq")? + size
            }
        };
        Ok(SchedOffsets {
            npidle: field("npidle")?,
            nmspinning: field("nmspinning")?,
            global_runq,
        })
    }
}

/// One reading of the scheduler's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedSample {
    /// Ps with nothing to run.
    pub npidle: i32,
    /// Ms spinning, looking for work.
    pub nmspinning: i32,
    /// Goroutines in the global run queue.
    pub global_runq: i32,
    /// The current GOMAXPROCS.
    pub gomaxprocs: i32,
}

/// Reads [`SchedSample`]s from one process.
#[derive(Debug, Clone)]
pub struct SchedSampler {
    pid: libc::pid_t,
    addresses: SchedAddresses,
    offsets: SchedOffsets,
    /// The span of `sched` read in one piece: from the lowest offset to past the highest.
    span_start: u64,
    span_len: usize,
}

impl SchedSampler {
    pub fn new(pid: u32, addresses: SchedAddresses, offsets: SchedOffsets) -> Result<Self> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| Error::Process {
            pid,
            detail: "pid out of range".into(),
        })?;
        let offs = [offsets.npidle, offsets.nmspinning, offsets.global_runq];
        let lo = offs.iter().copied().min().unwrap_or(0);
        let hi = offs.iter().copied().max().unwrap_or(0);
        // The counters sit within a few dozen bytes of each other; a huge span means a broken
        // layout, not a read to attempt.
        let span_len = usize::try_from(hi - lo + 4)
            .ok()
            .filter(|&l| l <= 4096)
            .ok_or_else(|| Error::Layout(format!("schedt counters span {lo}..{hi}")))?;
        Ok(SchedSampler {
            pid,
            addresses,
            offsets,
            span_start: lo,
            span_len,
        })
    }

    /// For a process inspected with `goinspect::inspect_pid`.
    pub fn from_inspection(insp: &Inspection) -> Result<Self> {
        let pid = insp.pid.ok_or_else(|| {
            Error::Layout("the inspection is of a file, not a running process".into())
        })?;
        Self::new(
            pid,
            SchedAddresses::from_inspection(insp)?,
            SchedOffsets::from_layout(&insp.layout)?,
        )
    }

    pub fn addresses(&self) -> SchedAddresses {
        self.addresses
    }

    pub fn offsets(&self) -> SchedOffsets {
        self.offsets
    }

    /// Reads the counters now.
    pub fn sample(&self) -> Result<SchedSample> {
        let mut span = vec![0u8; self.span_len];
        let mut gomaxprocs = [0u8; 4];
        let remote_start = self
            .addresses
            .sched
            .checked_add(self.span_start)
            .ok_or_else(|| Error::Layout("runtime.sched address overflows".into()))?;
        self.read(&mut [
            (remote_start, span.as_mut_slice()),
            (self.addresses.gomaxprocs, &mut gomaxprocs[..]),
        ])?;
        let at = |off: u64| {
            let i = (off - self.span_start) as usize;
            i32::from_ne_bytes([span[i], span[i + 1], span[i + 2], span[i + 3]])
        };
        Ok(SchedSample {
            npidle: at(self.offsets.npidle),
            nmspinning: at(self.offsets.nmspinning),
            global_runq: at(self.offsets.global_runq),
            gomaxprocs: i32::from_ne_bytes(gomaxprocs),
        })
    }

    /// One process_vm_readv for all pieces; a short read is an error.
    fn read(&self, pieces: &mut [(u64, &mut [u8])]) -> Result<()> {
        ProcessMemory::new(self.pid as u32)?.read_exact(pieces, "the scheduler's memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading our own memory: a fake `schedt` and `gomaxprocs` in this test process.
    #[test]
    fn reads_counters_at_the_offsets_from_this_process() {
        let mut sched = [0u8; 64];
        sched[8..12].copy_from_slice(&3i32.to_ne_bytes());
        sched[12..16].copy_from_slice(&1i32.to_ne_bytes());
        sched[40..44].copy_from_slice(&17i32.to_ne_bytes());
        let gomaxprocs = 4i32;
        let sampler = SchedSampler::new(
            std::process::id(),
            SchedAddresses {
                sched: sched.as_ptr() as u64,
                gomaxprocs: &gomaxprocs as *const i32 as u64,
            },
            SchedOffsets {
                npidle: 8,
                nmspinning: 12,
                global_runq: 40,
            },
        )
        .unwrap();
        let s = sampler.sample().unwrap();
        assert_eq!(
            s,
            SchedSample {
                npidle: 3,
                nmspinning: 1,
                global_runq: 17,
                gomaxprocs: 4
            }
        );
    }

    #[test]
    fn unmapped_addresses_are_an_error() {
        let sampler = SchedSampler::new(
            std::process::id(),
            SchedAddresses {
                sched: 8,
                gomaxprocs: 16,
            },
            SchedOffsets {
                npidle: 0,
                nmspinning: 4,
                global_runq: 8,
            },
        )
        .unwrap();
        assert!(sampler.sample().is_err());
    }

    #[test]
    fn absurd_offsets_are_refused() {
        let addrs = SchedAddresses {
            sched: 0,
            gomaxprocs: 0,
        };
        let offs = SchedOffsets {
            npidle: 0,
            nmspinning: 4,
            global_runq: 1 << 40,
        };
        assert!(SchedSampler::new(1, addrs, offs).is_err());
    }
}
