//! The self-test BPF program (`src/bpf/selftest.bpf.c`): a counting uprobe and a per-process
//! `tp_btf/sched_switch` counter. It proves that loading, CO-RE, uprobe attach by file offset and
//! BTF tracepoints work here, and is the smallest example of open → set rodata → load → attach.

use std::os::fd::AsFd;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, Program};

use crate::bpf_skel::selftest::{SelftestSkel, SelftestSkelBuilder};
use crate::loader::{self, ObjectStorage};
use crate::preflight::SystemFacts;

// Slots of the `counters` map: `enum gs_selftest_counter` in selftest.bpf.c.
const SLOT_UPROBE_HITS: u32 = 0;
const SLOT_SWITCHED_OUT: u32 = 1;
const SLOT_SWITCHED_IN: u32 = 2;

/// What the programs have counted so far, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelftestCounts {
    pub uprobe_hits: u64,
    /// The process that hit the uprobe last (0 before any hit).
    pub last_uprobe_tgid: u32,
    /// Context switches where the target process was switched out / in.
    pub switched_out: u64,
    pub switched_in: u64,
}

/// A loaded self-test program. Dropping it detaches every probe and unloads the programs.
pub struct Selftest<'obj> {
    // Declared before `skel` so the links are destroyed (probes detached) first.
    links: Vec<Link>,
    skel: SelftestSkel<'obj>,
    facts: SystemFacts,
}

impl<'obj> Selftest<'obj> {
    /// Opens and loads the programs into `storage`; `target_tgid` is the process whose context
    /// switches `gs_sched_switch` counts. Nothing is attached yet.
    pub fn load(storage: &'obj mut ObjectStorage, target_tgid: u32) -> Result<Self> {
        let facts = loader::prepare()?;
        let mut open = SelftestSkelBuilder::default()
            .open(storage.slot())
            .context("opening the selftest BPF object")?;
        let rodata = open
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| anyhow!("the selftest BPF object has no read-only data section"))?;
        rodata.target_tgid = target_tgid;
        let skel = open.load().map_err(|e| loader::load_error("selftest", e))?;
        Ok(Self {
            links: Vec::new(),
            skel,
            facts,
        })
    }

    /// The kernel and privilege facts checked before loading.
    pub fn system_facts(&self) -> &SystemFacts {
        &self.facts
    }

    /// Attaches `gs_uprobe_hit` at `file_offset` of `binary` (an ELF file offset, not a virtual
    /// address), for one process or, with `pid = None`, every process running that file.
    pub fn attach_uprobe(
        &mut self,
        binary: &Path,
        file_offset: u64,
        pid: Option<u32>,
    ) -> Result<()> {
        let offset = usize::try_from(file_offset).context("uprobe offset does not fit usize")?;
        let pid = match pid {
            Some(pid) => i32::try_from(pid).context("pid does not fit a kernel pid")?,
            None => -1,
        };
        let link = self
            .skel
            .progs
            .gs_uprobe_hit
            .attach_uprobe(false, pid, binary, offset)
            .with_context(|| {
                format!(
                    "attaching a uprobe to {} at file offset {file_offset:#x}",
                    binary.display()
                )
            })?;
        self.links.push(link);
        Ok(())
    }

    /// Attaches `gs_sched_switch` to the kernel's sched_switch tracepoint (BTF-typed).
    pub fn attach_sched_switch(&mut self) -> Result<()> {
        let link = self
            .skel
            .progs
            .gs_sched_switch
            .attach()
            .context("attaching to the sched_switch tracepoint (tp_btf)")?;
        self.links.push(link);
        Ok(())
    }

    /// The counters so far.
    pub fn counts(&self) -> Result<SelftestCounts> {
        let last_uprobe_tgid = self
            .skel
            .maps
            .bss_data
            .as_deref()
            // SAFETY: the field is in the map's mmap-ed memory, which the BPF program writes
            // concurrently: read it once, as a plain u32, without letting the compiler cache it.
            .map(|bss| unsafe { std::ptr::read_volatile(&bss.last_uprobe_tgid) })
            .unwrap_or(0);
        Ok(SelftestCounts {
            uprobe_hits: self.sum_counter(SLOT_UPROBE_HITS)?,
            last_uprobe_tgid,
            switched_out: self.sum_counter(SLOT_SWITCHED_OUT)?,
            switched_in: self.sum_counter(SLOT_SWITCHED_IN)?,
        })
    }

    /// `(name, kernel id)` of each loaded program, to check they are gone after drop.
    pub fn program_ids(&self) -> Result<Vec<(String, u32)>> {
        let progs = [
            ("gs_uprobe_hit", self.skel.progs.gs_uprobe_hit.as_fd()),
            ("gs_sched_switch", self.skel.progs.gs_sched_switch.as_fd()),
        ];
        progs
            .into_iter()
            .map(|(name, fd)| {
                let id = Program::id_from_fd(fd)
                    .with_context(|| format!("reading the kernel id of {name}"))?;
                Ok((name.to_string(), id))
            })
            .collect()
    }

    /// One slot of the per-CPU `counters` map, summed over all CPUs.
    fn sum_counter(&self, slot: u32) -> Result<u64> {
        let per_cpu = self
            .skel
            .maps
            .counters
            .lookup_percpu(&slot.to_ne_bytes(), MapFlags::ANY)
            .with_context(|| format!("reading counter slot {slot}"))?
            .ok_or_else(|| anyhow!("counter slot {slot} is missing from the map"))?;
        per_cpu.iter().try_fold(0u64, |sum, value| {
            let bytes: [u8; 8] = value
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| anyhow!("counter slot {slot}: value is not 8 bytes"))?;
            Ok(sum.wrapping_add(u64::from_ne_bytes(bytes)))
        })
    }
}
