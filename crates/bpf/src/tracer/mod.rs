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
mod kagg;
mod plan;
mod sample_stacks;
mod sampler_gate;
mod skel;
mod stats;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use goinspect::Inspection;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{Link, ProgramMut, RingBuffer, RingBufferBuilder};

use crate::decode::{decode_record, to_event};
use crate::loader::{self, ObjectStorage};
pub use config::{config_from_inspection, DEFAULT_WAKEUP_BYTES};
use goroscope_events::{
    AggregatesLost, Event, EventKind, EventSource, KernelAggregates, SourceError,
};
pub use plan::{kernel_aggregates, kernel_records, uprobe_sites, Level, UprobeProgram, UprobeSite};
use sampler_gate::{Gate, GateStep};
use skel::{TracerSkel, TracerSkelBuilder};
pub use stats::{Drops, PerType, TracerStats};

/// Tunables of a tracer; the defaults suit a busy program on a small machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracerOptions {
    /// Ring buffer size in bytes: a power of two, at least one page.
    pub ring_bytes: u32,
    /// Queued bytes at which a BPF program wakes the reader before its timer poll.
    pub wakeup_bytes: u32,
    /// Which probes to attach.
    pub level: Level,
    /// One record per context switch, wake-up and kernel syscall: None as the level says
    /// ([`kernel_records`]); Some to force it (tests of the aggregates-only path).
    pub kernel_records: Option<bool>,
    /// Bounds of the kernel aggregates' maps: threads, and thread×syscall-number rows (updates
    /// beyond them are counted as lost, `AggregatesLost`).
    pub aggregate_threads: u32,
    pub aggregate_syscalls: u32,
    /// At the default level, the most samples a second the runtime's sampler probe may deliver:
    /// above it the probe is detached for a while (`sampler_gate.rs`). None: no limit (the full
    /// level never has one: it records every event).
    pub max_sample_rate: Option<u64>,
}

/// The default of [`TracerOptions::max_sample_rate`]: each sample costs the traced program
/// about 2 µs (the uprobe's trap and the BPF program, bench/README.md), so 10,000 a second
/// cost it at most 2% of one CPU, and give the percentiles and sites of the report tens of
/// thousands of samples a minute.
pub const DEFAULT_MAX_SAMPLE_RATE: u64 = 10_000;

impl Default for TracerOptions {
    fn default() -> Self {
        Self {
            ring_bytes: 8 << 20,
            wakeup_bytes: DEFAULT_WAKEUP_BYTES,
            level: Level::Default,
            kernel_records: None,
            aggregate_threads: 4096,
            aggregate_syscalls: 8192,
            max_sample_rate: Some(DEFAULT_MAX_SAMPLE_RATE),
        }
    }
}

/// What the ring-buffer callback collected since the last `poll`.
#[derive(Default)]
struct Inbox {
    events: Vec<Event>,
    undecodable: u64,
    sample_stacks: sample_stacks::SampleStacks,
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
    /// The task iterator that refreshes the aggregates' kernel counters (None if it could not
    /// be attached: the counters are then as of each thread's last switch-out).
    kagg_iter: Option<Link>,
    /// Some when the level keeps kernel aggregates.
    kagg: Option<kagg::KaggReader>,
    /// The runtime's sampler probe, kept apart from `links`: the gate detaches and attaches it.
    sampler: Option<SamplerProbe>,
}

/// The sample uprobe and what it takes to attach it again.
struct SamplerProbe {
    link: Option<Link>,
    pid_arg: i32,
    binary: PathBuf,
    offsets: Vec<usize>,
    /// Some when a rate limit applies.
    gate: Option<Gate>,
    /// Links being detached on threads of their own (a detach waits for RCU grace periods):
    /// joined when the tracer is dropped.
    detaching: Vec<JoinHandle<()>>,
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
        let mut config = config_from_inspection(inspection, target_tgid, options.wakeup_bytes)?;
        if options.level >= Level::Full {
            config.flags |= goroscope_abi::CFG_PARK_STACKS;
        }
        let aggregates = kernel_aggregates(options.level);
        let records = options
            .kernel_records
            .unwrap_or_else(|| kernel_records(options.level));
        if aggregates {
            config.flags |= goroscope_abi::CFG_KERNEL_AGGREGATES;
        }
        if records {
            config.flags |= goroscope_abi::CFG_KERNEL_RECORDS;
        }
        let (sites, warnings) = uprobe_sites(inspection, options.level, config.go_minor);
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
        if options.level < Level::Full {
            // Stacks are captured at the full level only: don't reserve their 4 MiB otherwise.
            open.maps
                .stacks
                .set_max_entries(1)
                .context("sizing the stack map")?;
        }
        // Preallocated hash maps: don't reserve their few MiB when nothing fills them.
        let (threads, syscalls) = if aggregates {
            (options.aggregate_threads, options.aggregate_syscalls)
        } else {
            (1, 1)
        };
        open.maps
            .kagg_threads
            .set_max_entries(threads.max(1))
            .context("sizing the kernel aggregate maps")?;
        open.maps
            .kagg_syscalls
            .set_max_entries(syscalls.max(1))
            .context("sizing the kernel aggregate maps")?;
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
        // One uprobe-multi link per program, holding all its sites: the kernel then registers
        // and unregisters them in one batch (one RCU wait on detach instead of one per site).
        let mut by_program: Vec<(UprobeProgram, Vec<&UprobeSite>)> = Vec::new();
        for site in &sites {
            match by_program.iter_mut().find(|(p, _)| *p == site.program) {
                Some((_, group)) => group.push(site),
                None => by_program.push((site.program, vec![site])),
            }
        }
        let mut sampler = None;
        for (program, group) in by_program {
            let offsets = group
                .iter()
                .map(|s| usize::try_from(s.file_offset).context("uprobe offset"))
                .collect::<Result<Vec<_>>>()?;
            let link = attach_uprobes(&skel, program, pid_arg, binary, offsets.clone())
                .with_context(|| {
                    let at: Vec<String> = group
                        .iter()
                        .map(|s| format!("{} at {:#x}", s.symbol, s.file_offset))
                        .collect();
                    format!(
                        "attaching uprobes to {} ({})",
                        binary.display(),
                        at.join(", ")
                    )
                })?;
            if program == UprobeProgram::Sample {
                let limit = options
                    .max_sample_rate
                    .filter(|_| options.level < Level::Full);
                sampler = Some(SamplerProbe {
                    link: Some(link),
                    pid_arg,
                    binary: binary.to_path_buf(),
                    offsets,
                    gate: limit.map(|l| Gate::new(l, Instant::now())),
                    detaching: Vec::new(),
                });
            } else {
                links.push(link);
            }
        }
        // (tracepoint, program, attached?): the thread and signal tracepoints at every level;
        // the scheduler and syscall ones feed the per-event records, the aggregates, or both.
        let kernel = records || aggregates;
        let tracepoints = [
            (
                "sched_process_fork",
                &skel.progs.gs_sched_process_fork,
                true,
            ),
            (
                "sched_process_exit",
                &skel.progs.gs_sched_process_exit,
                true,
            ),
            ("signal_generate", &skel.progs.gs_signal_generate, true),
            ("signal_deliver", &skel.progs.gs_signal_deliver, true),
            ("sched_switch", &skel.progs.gs_sched_switch, kernel),
            ("sched_wakeup", &skel.progs.gs_sched_wakeup, kernel),
            ("sched_wakeup_new", &skel.progs.gs_sched_wakeup_new, kernel),
            ("sys_enter", &skel.progs.gs_sys_enter, kernel),
            ("sys_exit", &skel.progs.gs_sys_exit, kernel),
        ];
        for (name, prog, wanted) in tracepoints {
            if !wanted {
                continue;
            }
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
                let decoded = decode_record(bytes).and_then(|record| {
                    let mut event = to_event(&record)?;
                    if let EventKind::GoSample { stack_id, .. } = &mut event.kind {
                        *stack_id = inbox.sample_stacks.intern(record.sample_frames());
                    }
                    Ok(event)
                });
                match decoded {
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
        let mut warnings = warnings;
        let kagg_iter = if aggregates {
            match skel
                .progs
                .gs_kagg_iter_task
                .attach_iter_with_opts(libbpf_rs::IterOpts::None)
            {
                Ok(link) => Some(link),
                Err(e) => {
                    warnings.push(format!(
                        "the task iterator could not be attached ({e}): each thread's kernel \
                         counters are as of its last context switch"
                    ));
                    None
                }
            }
        } else {
            None
        };
        Ok(Self {
            ring,
            links,
            skel,
            inbox,
            sites,
            warnings,
            kagg_iter,
            kagg: aggregates.then(kagg::KaggReader::default),
            sampler,
        })
    }

    /// A reading of the kernel aggregates at `now_ns` (CLOCK_MONOTONIC), covering everything
    /// since the first reading; None when the level keeps none. Read once at the start (the
    /// window's beginning), then periodically and at the end.
    pub fn kernel_aggregates(&mut self, now_ns: u64) -> Result<Option<KernelAggregates>> {
        let Some(reader) = self.kagg.as_mut() else {
            return Ok(None);
        };
        let stats = TracerStats::read(&self.skel.maps.stats, 0)?;
        let lost = AggregatesLost {
            thread_updates: stats.kagg_threads_full,
            syscalls: stats.kagg_syscalls_full,
        };
        let maps = kagg::Maps {
            threads: &self.skel.maps.kagg_threads,
            syscalls: &self.skel.maps.kagg_syscalls,
        };
        reader
            .read(now_ns, self.kagg_iter.as_ref(), maps, lost)
            .map(Some)
    }

    /// Waits up to `timeout` for the ring buffer to fill past the wakeup threshold, then drains
    /// everything queued into `out`. Returns how many events were added.
    ///
    /// With a sampler gate, the wait ends early when the gate has something to decide, and the
    /// gate's pauses and resumes come out as `SamplerGate` events.
    pub fn poll(&mut self, timeout: Duration, out: &mut Vec<Event>) -> Result<usize> {
        let gate_due = self
            .sampler
            .as_ref()
            .and_then(|s| s.gate.as_ref())
            .map(|g| g.deadline().saturating_duration_since(Instant::now()));
        // Rounded up to the poll's milliseconds: never a busy loop beside the traced program.
        let gate_due =
            gate_due.map(|due| Duration::from_millis(due.as_micros().div_ceil(1000) as u64));
        self.ring
            .poll(gate_due.map_or(timeout, |due| timeout.min(due)))
            .context("polling the tracer ring buffer")?;
        self.ring
            .consume()
            .context("reading the tracer ring buffer")?;
        let before = out.len();
        {
            let mut inbox = self.inbox.borrow_mut();
            out.append(&mut inbox.events);
        }
        self.count_samples_for_gate(&out[before..]);
        if let Some(gate_event) = self.sampler_gate_step() {
            out.push(gate_event);
        }
        Ok(out.len() - before)
    }

    /// Counts the samples among `events` towards the gate's window.
    fn count_samples_for_gate(&mut self, events: &[Event]) {
        if let Some(gate) = self.sampler.as_mut().and_then(|s| s.gate.as_mut()) {
            let samples = events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::GoSample { .. }))
                .count();
            gate.count(samples as u64);
        }
    }

    /// Applies the gate's decision now: pauses (the flag the sample program checks, then the
    /// detach on a thread of its own) or resumes (attach, then the flag); the event that says
    /// so, stamped so that every sample kept lies inside an attached window.
    fn sampler_gate_step(&mut self) -> Option<Event> {
        let sampler = self.sampler.as_mut()?;
        let gate = sampler.gate.as_mut()?;
        let gate_event = |paused: bool, rate_per_s: u64, window: Duration, ts_ns: u64| Event {
            ts_ns,
            cpu: 0,
            tid: 0,
            kind: EventKind::SamplerGate {
                paused,
                rate_per_s,
                window_ns: u64::try_from(window.as_nanos()).unwrap_or(u64::MAX),
            },
        };
        match gate.step(Instant::now()) {
            GateStep::Stay => None,
            GateStep::Pause { rate_per_s, window } => {
                set_sampler_paused(&mut self.skel, true).ok()?;
                let ts = monotonic_ns();
                if let Some(link) = sampler.link.take() {
                    match std::thread::Builder::new()
                        .name("goroscope-detach".into())
                        .spawn(move || drop(link))
                    {
                        Ok(handle) => sampler.detaching.push(handle),
                        Err(e) => tracing::debug!("detaching on this thread: {e}"),
                    }
                }
                sampler.detaching.retain(|h| !h.is_finished());
                Some(gate_event(true, rate_per_s, window, ts))
            }
            GateStep::Resume => {
                let attached = attach_uprobes(
                    &self.skel,
                    UprobeProgram::Sample,
                    sampler.pid_arg,
                    &sampler.binary,
                    sampler.offsets.clone(),
                );
                match attached {
                    Ok(link) => {
                        sampler.link = Some(link);
                        gate.resumed(Instant::now());
                        let ts = monotonic_ns();
                        set_sampler_paused(&mut self.skel, false).ok()?;
                        Some(gate_event(false, 0, Duration::ZERO, ts))
                    }
                    Err(e) => {
                        tracing::debug!("attaching the sample probe again: {e:#}");
                        gate.resume_failed(Instant::now());
                        None
                    }
                }
            }
        }
    }

    /// Stops every program from emitting events, at once (a flag the BPF side checks before
    /// reserving one; detaching instead waits for RCU grace periods, up to a second on a busy
    /// machine). Events already queued stay readable: poll until it returns none, then drop.
    pub fn stop_emitting(&mut self) -> Result<()> {
        // The gate decides no more: nothing is recorded from now on, and a paused probe stays
        // detached (the analysis runs the pause to the end).
        if let Some(sampler) = self.sampler.as_mut() {
            sampler.gate = None;
        }
        set_flag(&mut self.skel, |bss| &mut bss.gs_stopped, true)
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

    /// The user stacks captured at parks so far (full level), by the id `GoPark` events carry:
    /// return addresses, innermost first (the first is the probed instruction in gopark); and
    /// the stop stacks of sampled goroutines, by the id `GoSample` events carry (first frame:
    /// the goroutine's saved `sched.pc`).
    pub fn stacks(&self) -> Result<Vec<(u32, Vec<u64>)>> {
        use libbpf_rs::MapCore as _;
        let map = &self.skel.maps.stacks;
        let mut out = Vec::new();
        for key in map.keys() {
            let Some(id) = key
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_ne_bytes)
            else {
                continue;
            };
            let Some(value) = map
                .lookup(&key, libbpf_rs::MapFlags::ANY)
                .context("reading the stack-trace map")?
            else {
                continue; // evicted between listing and reading
            };
            let frames: Vec<u64> = value
                .chunks_exact(8)
                .filter_map(|c| c.try_into().ok().map(u64::from_ne_bytes))
                .take_while(|&pc| pc != 0)
                .collect();
            out.push((id, frames));
        }
        let inbox = self.inbox.borrow();
        out.extend(inbox.sample_stacks.all());
        if inbox.sample_stacks.overflowed > 0 {
            tracing::warn!(
                "{} sampled goroutines kept no stop stack: more than {} distinct stacks",
                inbox.sample_stacks.overflowed,
                sample_stacks::MAX_STACKS
            );
        }
        Ok(out)
    }

    /// Per-program run counts and run time from the kernel (zero unless the sysctl
    /// `kernel.bpf_stats_enabled` is 1 while the tracer runs).
    pub fn program_stats(&self) -> Result<Vec<ProgramStats>> {
        use std::os::fd::AsFd;
        self.skel
            .object()
            .progs()
            .map(|prog| {
                let name = prog.name().to_string_lossy().into_owned();
                let (run_cnt, run_time_ns) = run_stats(prog.as_fd())
                    .with_context(|| format!("reading the kernel's statistics of {name}"))?;
                Ok(ProgramStats {
                    name,
                    run_cnt,
                    run_time_ns,
                })
            })
            .collect()
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

/// Detaching a probe link waits for the kernel to be sure no CPU still runs it (an RCU grace
/// period, up to a second here when the machine is busy): the links are independent, so they
/// are dropped in parallel rather than one wait after the other.
impl Drop for Tracer<'_> {
    fn drop(&mut self) {
        let mut links = std::mem::take(&mut self.links);
        let mut detaching = Vec::new();
        if let Some(sampler) = self.sampler.as_mut() {
            links.extend(sampler.link.take());
            detaching = std::mem::take(&mut sampler.detaching);
        }
        let per_thread = links.len().div_ceil(DETACH_THREADS).max(1);
        let mut groups: Vec<Vec<Link>> = Vec::new();
        let mut links = links.into_iter().peekable();
        while links.peek().is_some() {
            groups.push(links.by_ref().take(per_thread).collect());
        }
        let start = std::time::Instant::now();
        std::thread::scope(|scope| {
            for group in groups {
                scope.spawn(move || drop(group));
            }
        });
        for handle in detaching {
            let _ = handle.join();
        }
        tracing::debug!("links detached in {:?}", start.elapsed());
        // The ring buffer and the programs go with the remaining fields, links already gone.
    }
}

/// Threads that detach probes at once (each mostly sleeps in the kernel).
const DETACH_THREADS: usize = 16;

/// The kernel's counters for one BPF program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStats {
    pub name: String,
    pub run_cnt: u64,
    pub run_time_ns: u64,
}

/// `bpf_prog_info.run_cnt` and `run_time_ns` of a loaded program.
fn run_stats(fd: std::os::fd::BorrowedFd<'_>) -> Result<(u64, u64)> {
    use std::os::fd::AsRawFd;
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a properly sized, writable bpf_prog_info and `len` says its size; with
    // every pointer field left null the kernel only fills in scalars.
    let rc = unsafe {
        libbpf_sys::bpf_prog_get_info_by_fd(
            fd.as_raw_fd(),
            (&mut info as *mut libbpf_sys::bpf_prog_info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        bail!(
            "bpf_prog_get_info_by_fd failed: {}",
            std::io::Error::from_raw_os_error(-rc)
        );
    }
    Ok((info.run_cnt, info.run_time_ns))
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

/// Attaches `program` at `offsets` of `binary` as one uprobe-multi link (`pid_arg` -1: every
/// process running it).
fn attach_uprobes(
    skel: &TracerSkel<'_>,
    program: UprobeProgram,
    pid_arg: i32,
    binary: &Path,
    offsets: Vec<usize>,
) -> Result<Link> {
    let opts = libbpf_rs::UprobeMultiOpts {
        offsets,
        ..Default::default()
    };
    Ok(uprobe_program(skel, program).attach_uprobe_multi_with_opts(pid_arg, binary, "", opts)?)
}

/// Sets the flag that makes the sample program return at once (`gs_sampler_paused`).
fn set_sampler_paused(skel: &mut TracerSkel<'_>, paused: bool) -> Result<()> {
    set_flag(skel, |bss| &mut bss.gs_sampler_paused, paused)
}

/// Sets a u32 flag of the BPF programs' .bss (which `field` picks) to 0 or 1.
fn set_flag(
    skel: &mut TracerSkel<'_>,
    field: impl FnOnce(&mut skel::types::bss) -> &mut u32,
    on: bool,
) -> Result<()> {
    let bss = skel
        .maps
        .bss_data
        .as_deref_mut()
        .ok_or_else(|| anyhow!("the tracer BPF object has no .bss section"))?;
    // SAFETY: the field is in the map's mmap-ed memory, which BPF programs read
    // concurrently: one volatile store of an aligned u32, never cached by the compiler.
    unsafe { std::ptr::write_volatile(field(bss), u32::from(on)) };
    Ok(())
}

/// CLOCK_MONOTONIC now, in nanoseconds: what `bpf_ktime_get_ns` reads, the events' clock.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

fn uprobe_program<'a, 'obj>(
    skel: &'a TracerSkel<'obj>,
    program: UprobeProgram,
) -> &'a ProgramMut<'obj> {
    let progs = &skel.progs;
    match program {
        UprobeProgram::NewprocRunqput => &progs.gs_newproc_runqput,
        UprobeProgram::NewprocRet => &progs.gs_newproc1_ret,
        UprobeProgram::Casgstatus => &progs.gs_casgstatus,
        UprobeProgram::Execute => &progs.gs_execute,
        UprobeProgram::Gopark => &progs.gs_gopark,
        UprobeProgram::Ready => &progs.gs_ready,
        UprobeProgram::Gosched => &progs.gs_gosched,
        UprobeProgram::GoschedM => &progs.gs_gosched_m,
        UprobeProgram::GopreemptM => &progs.gs_gopreempt_m,
        UprobeProgram::Goexit1 => &progs.gs_goexit1,
        UprobeProgram::Mstart1 => &progs.gs_mstart1,
        UprobeProgram::Mexit => &progs.gs_mexit,
        UprobeProgram::Stopm => &progs.gs_stopm,
        UprobeProgram::Runqsteal => &progs.gs_runqsteal,
        UprobeProgram::Preemptone => &progs.gs_preemptone,
        UprobeProgram::AsyncPreempt2 => &progs.gs_async_preempt2,
        UprobeProgram::PreemptPark => &progs.gs_preempt_park,
        UprobeProgram::Reentersyscall => &progs.gs_reentersyscall,
        UprobeProgram::Entersyscallblock => &progs.gs_entersyscallblock,
        UprobeProgram::Exitsyscall => &progs.gs_exitsyscall,
        UprobeProgram::Handoffp => &progs.gs_handoffp,
        UprobeProgram::LockOSThread => &progs.gs_lock_os_thread,
        UprobeProgram::UnlockOSThread => &progs.gs_unlock_os_thread,
        UprobeProgram::Procresize => &progs.gs_procresize,
        UprobeProgram::StwBegin => &progs.gs_stw_begin,
        UprobeProgram::StwStopped => &progs.gs_stw_stopped,
        UprobeProgram::StwEnd => &progs.gs_stw_end,
        UprobeProgram::GcStart => &progs.gs_gc_start,
        UprobeProgram::Sample => &progs.gs_sample,
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
    dst.g_lockedm = src.g_lockedm;
    dst.m_lockedg = src.m_lockedg;
    dst.p_m = src.p_m;
    dst.p_runqhead = src.p_runqhead;
    dst.p_runqtail = src.p_runqtail;
    dst.p_runnext = src.p_runnext;
    dst.m_oldp = src.m_oldp;
    dst.m_syscalltick = src.m_syscalltick;
    dst.p_status = src.p_status;
    dst.p_syscalltick = src.p_syscalltick;
    dst.g_sched_pc = src.g_sched_pc;
    dst.g_sched_bp = src.g_sched_bp;
    dst.g_runnable_time = src.g_runnable_time;
    dst.sample_gp_reg = src.sample_gp_reg;
    dst._pad = 0;
}

// The generated struct must stay the ABI's size (a field added in C but not here would differ).
const _: () = assert!(
    std::mem::size_of::<skel::types::gs_config>() == std::mem::size_of::<goroscope_abi::Config>()
);
