//! The tracer (`src/bpf/tracer.bpf.c`): uprobes on the Go runtime and scheduler tracepoints,
//! loaded from goinspect's probe plan, streaming fixed-size records through one ring buffer.
//!
//! Life cycle: [`Tracer::attach`] opens the object, writes the read-only configuration (struct
//! offsets, Go version facts, the target), loads, and attaches every probe; [`Tracer::poll`]
//! collects decoded records; [`Tracer::stats`] reads what was submitted and lost; dropping the
//! tracer detaches and unloads everything.
//!
//! Reading: the BPF side submits without waking the reader (a wakeup per event would make the
//! reader's own context switches flood the trace) and wakes it only past a fill threshold. So
//! `poll` waits on the ring buffer for at most its timeout, then always drains what is queued:
//! call it in a loop with a short timeout (e.g. 50 ms) and no event is left behind.

mod config;
mod plan;
mod skel;
mod stats;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use goinspect::Inspection;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, ProgramMut, RingBuffer, RingBufferBuilder};

use crate::decode::decode;
use crate::loader::{self, ObjectStorage};
pub use config::{config_from_inspection, DEFAULT_WAKEUP_BYTES};
use goroscope_events::{Event, EventSource, SourceError};
pub use plan::{uprobe_sites, UprobeProgram, UprobeSite};
use skel::{TracerSkel, TracerSkelBuilder};
pub use stats::{Drops, PerType, TracerStats};

/// Tunables of a tracer; the defaults suit a busy program on a small machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracerOptions {
    /// Ring buffer size in bytes: a power of two, at least one page.
    pub ring_bytes: u32,
    /// Queued bytes at which a BPF program wakes the reader before its timer poll.
    pub wakeup_bytes: u32,
}

impl Default for TracerOptions {
    fn default() -> Self {
        Self {
            ring_bytes: 8 << 20,
            wakeup_bytes: DEFAULT_WAKEUP_BYTES,
        }
    }
}

/// What the ring-buffer callback collected since the last `poll`.
#[derive(Default)]
struct Inbox {
    events: Vec<Event>,
    undecodable: u64,
}

/// An attached tracer. Dropping it detaches every probe and unloads the programs.
pub struct Tracer<'obj> {
    // Field order is drop order: stop reading, then detach (links), then unload (skel).
    ring: RingBuffer<'static>,
    links: Vec<Link>,
    skel: TracerSkel<'obj>,
    inbox: Rc<RefCell<Inbox>>,
    sites: Vec<UprobeSite>,
    warnings: Vec<String>,
}

impl<'obj> Tracer<'obj> {
    /// Loads the tracer and attaches it to `binary`, the executable `inspection` describes.
    /// `pid`: the uprobes fire only in that process, or with None in every process running the
    /// binary (attach before starting it, and nothing is missed). `target_tgid`: the process
    /// whose threads the kernel tracepoints follow; None follows every process that hits one of
    /// the uprobes (from its first hit on).
    pub fn attach(
        storage: &'obj mut ObjectStorage,
        inspection: &Inspection,
        pid: Option<u32>,
        target_tgid: Option<u32>,
        binary: &Path,
    ) -> Result<Self> {
        Self::attach_with(
            storage,
            inspection,
            pid,
            target_tgid,
            binary,
            TracerOptions::default(),
        )
    }

    /// [`Tracer::attach`] with explicit options.
    pub fn attach_with(
        storage: &'obj mut ObjectStorage,
        inspection: &Inspection,
        pid: Option<u32>,
        target_tgid: Option<u32>,
        binary: &Path,
        options: TracerOptions,
    ) -> Result<Self> {
        if !options.ring_bytes.is_power_of_two() || options.ring_bytes < 4096 {
            bail!(
                "ring buffer size {} is not a power of two of at least 4096 bytes",
                options.ring_bytes
            );
        }
        let config = config_from_inspection(inspection, target_tgid, options.wakeup_bytes)?;
        let (sites, warnings) = uprobe_sites(inspection);
        if sites.is_empty() {
            bail!("none of the runtime functions the tracer probes was found in the binary");
        }

        loader::prepare()?;
        let mut open = TracerSkelBuilder::default()
            .open(storage.slot())
            .context("opening the tracer BPF object")?;
        open.maps
            .events
            .set_max_entries(options.ring_bytes)
            .context("sizing the tracer ring buffer")?;
        let rodata = open
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| anyhow!("the tracer BPF object has no read-only data section"))?;
        write_config(&mut rodata.cfg, &config);
        let skel = open.load().map_err(|e| loader::load_error("tracer", e))?;

        let mut links = Vec::new();
        let pid_arg = match pid {
            Some(pid) => i32::try_from(pid).context("pid does not fit a kernel pid")?,
            None => -1,
        };
        for site in &sites {
            let offset = usize::try_from(site.file_offset).context("uprobe offset")?;
            let link = uprobe_program(&skel, site.program)
                .attach_uprobe(false, pid_arg, binary, offset)
                .with_context(|| {
                    format!(
                        "attaching a uprobe to {} ({}) at file offset {:#x}",
                        binary.display(),
                        site.symbol,
                        site.file_offset
                    )
                })?;
            links.push(link);
        }
        let tracepoints = [
            ("sched_switch", &skel.progs.gs_sched_switch),
            ("sched_wakeup", &skel.progs.gs_sched_wakeup),
            ("sched_wakeup_new", &skel.progs.gs_sched_wakeup_new),
            ("sched_process_fork", &skel.progs.gs_sched_process_fork),
            ("sched_process_exit", &skel.progs.gs_sched_process_exit),
        ];
        for (name, prog) in tracepoints {
            let link = prog
                .attach()
                .with_context(|| format!("attaching to the {name} tracepoint (tp_btf)"))?;
            links.push(link);
        }

        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let sink = Rc::clone(&inbox);
        let mut builder = RingBufferBuilder::new();
        builder
            .add(&skel.maps.events, move |bytes: &[u8]| {
                let mut inbox = sink.borrow_mut();
                match decode(bytes) {
                    Ok(event) => inbox.events.push(event),
                    Err(err) => {
                        inbox.undecodable += 1;
                        tracing::debug!("undecodable tracer record: {err}");
                    }
                }
                0
            })
            .context("registering the tracer ring buffer")?;
        let ring = builder.build().context("opening the tracer ring buffer")?;
        Ok(Self {
            ring,
            links,
            skel,
            inbox,
            sites,
            warnings,
        })
    }

    /// Waits up to `timeout` for the ring buffer to fill past the wakeup threshold, then drains
    /// everything queued into `out`. Returns how many events were added.
    pub fn poll(&mut self, timeout: Duration, out: &mut Vec<Event>) -> Result<usize> {
        self.ring
            .poll(timeout)
            .context("polling the tracer ring buffer")?;
        self.ring
            .consume()
            .context("reading the tracer ring buffer")?;
        let mut inbox = self.inbox.borrow_mut();
        let n = inbox.events.len();
        out.append(&mut inbox.events);
        Ok(n)
    }

    /// What was submitted and lost so far, per type and reason.
    pub fn stats(&self) -> Result<TracerStats> {
        TracerStats::read(&self.skel.maps.stats, self.inbox.borrow().undecodable)
    }

    /// The losses so far.
    pub fn drops(&self) -> Result<Drops> {
        Ok(self.stats()?.drops())
    }

    /// The uprobes attached.
    pub fn uprobe_sites(&self) -> &[UprobeSite] {
        &self.sites
    }

    /// Functions the tracer probes that could not be probed (their events are missing).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of kernel links (uprobes and tracepoints) held.
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    /// Kernel ids of the loaded programs, to check they are gone after drop.
    pub fn program_ids(&self) -> Result<Vec<u32>> {
        use std::os::fd::AsFd;
        self.skel
            .object()
            .progs()
            .map(|prog| {
                libbpf_rs::Program::id_from_fd(prog.as_fd())
                    .with_context(|| format!("reading the kernel id of {:?}", prog.name()))
            })
            .collect()
    }
}

/// How long [`EventSource::next_batch`] waits for the ring buffer before draining it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A live tracer never runs dry: every batch is what arrived within [`POLL_INTERVAL`].
impl EventSource for Tracer<'_> {
    fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<bool, SourceError> {
        self.poll(POLL_INTERVAL, out)
            .map_err(|e| SourceError::Other(e.into()))?;
        Ok(true)
    }
}

fn uprobe_program<'a, 'obj>(
    skel: &'a TracerSkel<'obj>,
    program: UprobeProgram,
) -> &'a ProgramMut<'obj> {
    let progs = &skel.progs;
    match program {
        UprobeProgram::NewprocRet => &progs.gs_newproc1_ret,
        UprobeProgram::Casgstatus => &progs.gs_casgstatus,
        UprobeProgram::Execute => &progs.gs_execute,
        UprobeProgram::Gopark => &progs.gs_gopark,
        UprobeProgram::Ready => &progs.gs_ready,
        UprobeProgram::Gosched => &progs.gs_gosched,
        UprobeProgram::Goexit1 => &progs.gs_goexit1,
        UprobeProgram::Mstart1 => &progs.gs_mstart1,
        UprobeProgram::Mexit => &progs.gs_mexit,
    }
}

/// Copies the ABI config into the skeleton's generated mirror of the same C struct, field by
/// field: a renamed or removed C field is then a compile error here.
fn write_config(dst: &mut skel::types::gs_config, src: &goroscope_abi::Config) {
    dst.target_tgid = src.target_tgid;
    dst.flags = src.flags;
    dst.go_minor = src.go_minor;
    dst.wakeup_bytes = src.wakeup_bytes;
    dst.g_goid = src.g_goid;
    dst.g_atomicstatus = src.g_atomicstatus;
    dst.g_waitreason = src.g_waitreason;
    dst.g_m = src.g_m;
    dst.g_parent_goid = src.g_parent_goid;
    dst.g_gopc = src.g_gopc;
    dst.g_startpc = src.g_startpc;
    dst.m_g0 = src.m_g0;
    dst.m_curg = src.m_curg;
    dst.m_id = src.m_id;
    dst.m_procid = src.m_procid;
    dst.m_p = src.m_p;
    dst.p_id = src.p_id;
    dst._pad = 0;
}

// The generated struct must stay the ABI's size (a field added in C but not here would differ).
const _: () = assert!(
    std::mem::size_of::<skel::types::gs_config>() == std::mem::size_of::<goroscope_abi::Config>()
);
