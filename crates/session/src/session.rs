//! [`Session::run`]: one capture from start to end — target, tracer, sampler, goroutine
//! snapshots, symbols, the poll loop that fans batches out to the consumers, the stop conditions,
//! the final drain (and last snapshot), and the detach, which also happens on every error path
//! (dropping the tracer detaches it).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use goinspect::elf::ElfImage;
use goinspect::pclntab::Pclntab;
use goinspect::Inspection;
use goroscope_bpf::tracer::{Level, ProgramStats, Tracer, TracerOptions};
use goroscope_bpf::ObjectStorage;
use goroscope_events::{Event, GoroutineSnapshot, RuntimeStats};
use goroscope_record::{EndRecord, StatsRecord};

use crate::clock::{clocks, monotonic_ns};
use crate::consumer::{Consumer, Counts, Progress, SessionEnd, TargetInfo};
use crate::header::make_header;
use crate::sampler::Sampler;
use crate::snapshots::Snapshotter;
use crate::symbols::CreationSymbols;
use crate::target::{self, Traced};
use crate::{require_bpf_privileges, SessionOptions, StopFlag};

/// How long one poll of the ring buffer waits (the tracer drains everything queued after it).
const POLL: Duration = Duration::from_millis(50);
/// Most polls of the final drain (each returns at once when nothing is queued).
const DRAIN_POLLS: usize = 100;
/// How often consumers get [`Progress`] and stats.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// A capture to run.
#[derive(Debug)]
pub struct Session {
    options: SessionOptions,
}

/// What a finished session did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub target: TargetInfo,
    /// Why it stopped: "duration", "target exited", or a stop flag's reason.
    pub reason: String,
    /// The target's exit ("exit status: 0"; "exited" when attached), if it exited.
    pub target_exit: Option<String>,
    /// How a launched target exited (its code or signal), if it exited during the session.
    pub target_status: Option<std::process::ExitStatus>,
    /// From the session's start to the probes being attached.
    pub attach_time: Duration,
    /// From the probes being attached to the stop.
    pub duration: Duration,
    pub counts: Counts,
    /// Events lost, all reasons together.
    pub drops: u64,
    /// The kernel's per-program run counts (zero unless `kernel.bpf_stats_enabled`).
    pub programs: Vec<ProgramStats>,
}

impl Session {
    pub fn new(options: SessionOptions) -> Self {
        Session { options }
    }

    /// Runs the capture to its end, handing everything to `consumers` (in this order).
    pub fn run(self, consumers: &mut [&mut dyn Consumer]) -> Result<Summary> {
        let session_start = Instant::now();
        require_bpf_privileges()?;
        let SessionOptions {
            target,
            level,
            duration,
            stop,
            snapshot_interval,
            max_sample_rate,
        } = self.options;
        let argv = target.argv();
        // Inspect first: a binary goroscope cannot trace is refused before anything is started.
        let target::Prepared {
            inspection,
            binary,
            pid,
            held,
        } = target::prepare(target)?;
        let launched = held.is_some();

        let data =
            std::fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
        let elf = ElfImage::parse(&data).context("reading the target's ELF")?;
        let pclntab = Pclntab::parse(&elf).context("reading the target's pclntab")?;

        let mut storage = ObjectStorage::new();
        let tracer = attach_tracer(
            &mut storage,
            &inspection,
            &binary,
            pid,
            level,
            max_sample_rate,
        );
        let mut tracer = match tracer {
            Ok(t) => t,
            Err(e) => {
                if let Some(child) = held {
                    child.abort();
                }
                return Err(e);
            }
        };
        let attach_time = session_start.elapsed();
        tracing::info!(
            "probes attached {:.1} ms after start",
            attach_time.as_secs_f64() * 1e3
        );
        for warning in tracer.warnings() {
            warn(consumers, warning);
        }
        // The header's clock first: a duration counted from `start` then never ends before
        // the recording's start plus that duration.
        let clock = clocks();
        let start = Instant::now();
        let header = make_header(&inspection, argv, pid, launched, level, clock);
        for consumer in consumers.iter_mut() {
            if let Err(e) = consumer.start(&header) {
                if let Some(child) = held {
                    child.abort();
                }
                return Err(e);
            }
        }
        // The first reading of the kernel aggregates marks the window's start (before a
        // launched target runs its first instruction).
        if let Err(e) = deliver_kernel_aggregates(&mut tracer, consumers) {
            if let Some(child) = held {
                child.abort();
            }
            return Err(e);
        }
        let mut traced = match held {
            Some(mut child) => {
                child.release()?;
                Traced::Launched(child)
            }
            None => Traced::Attached(pid),
        };
        let load_bias = traced
            .load_bias(&elf, &binary, inspection.load_bias)
            .unwrap_or_else(|| {
                warn(
                    consumers,
                    &format!(
                        "could not read the load bias of pid {pid}: creation sites will be \
                         shown as addresses"
                    ),
                );
                0
            });
        let mut capture = Capture {
            tracer: &mut tracer,
            symbols: CreationSymbols::new(&elf, &pclntab, load_bias),
            sampler: Sampler::start(&inspection, pid, load_bias),
            snapshots: Snapshotter::start(&inspection, pid, load_bias, snapshot_interval)
                .map_err(|why| {
                    warn(
                        consumers,
                        &format!("not reading goroutine snapshots: {why:#}"),
                    )
                })
                .ok(),
            counts: Counts::default(),
            consumers,
        };
        let cpu_stat_start = procstat::read_cpu_stat(pid).ok().flatten();
        let target = TargetInfo {
            pid,
            binary: binary.clone(),
            go_version: inspection.build.go_version.clone(),
            launched,
        };
        for consumer in capture.consumers.iter_mut() {
            consumer.running(&target);
        }

        let stopped = capture.until_stop(start, duration, &stop, &mut traced)?;
        // The capture ends here, not after the drain and the detach: the end record and the
        // duration say when the stop condition was met.
        let (end_ns, duration) = (monotonic_ns(), start.elapsed());
        let cpu_stat_end = procstat::read_cpu_stat(pid).ok().flatten();
        let drops = capture.drain()?;
        let counts = capture.counts;
        let consumers = capture.consumers;
        let Stopped {
            reason,
            target_exit,
            target_status,
        } = stopped;
        let programs = tracer.program_stats().unwrap_or_else(|e| {
            tracing::warn!("reading BPF program statistics: {e:#}");
            Vec::new()
        });
        let detach_start = Instant::now();
        drop(tracer); // detach and unload before anything else can fail
        tracing::info!(
            "probes detached in {:.1} ms",
            detach_start.elapsed().as_secs_f64() * 1e3
        );
        let end = SessionEnd {
            end: Some(EndRecord {
                ts_ns: end_ns,
                reason: reason.clone(),
                target_exit: target_exit.clone(),
                events: counts.events,
                cpu_stat: match (cpu_stat_start, cpu_stat_end) {
                    (Some(a), Some(b)) => Some(b.since(&a)),
                    _ => None,
                },
            }),
        };
        for consumer in consumers.iter_mut() {
            consumer.finish(&end)?;
        }
        Ok(Summary {
            target,
            reason,
            target_exit,
            target_status,
            attach_time,
            duration,
            counts,
            drops,
            programs,
        })
    }
}

/// Loads the tracer and attaches it to the target's binary, filtered to its pid.
fn attach_tracer<'obj>(
    storage: &'obj mut ObjectStorage,
    inspection: &Inspection,
    binary: &Path,
    pid: u32,
    level: Level,
    max_sample_rate: Option<u64>,
) -> Result<Tracer<'obj>> {
    let options = TracerOptions {
        level,
        max_sample_rate,
        ..TracerOptions::default()
    };
    let tracer = Tracer::attach_with(storage, inspection, Some(pid), Some(pid), binary, options)
        .with_context(|| format!("attaching the tracer to pid {pid}"))?;
    // Tests (and curious users, with -v) check from these ids that nothing stays loaded.
    if let Ok(ids) = tracer.program_ids() {
        let list: Vec<String> = ids
            .iter()
            .map(|id| format!("gs program (id {id})"))
            .collect();
        tracing::info!("tracer loaded: {}", list.join(", "));
    }
    Ok(tracer)
}

/// The poll loop's state while the tracer is attached.
struct Capture<'s, 'obj, 'p, 'data, 'c, 'd> {
    tracer: &'s mut Tracer<'obj>,
    symbols: CreationSymbols<'p, 'data>,
    sampler: Option<Sampler>,
    snapshots: Option<Snapshotter>,
    counts: Counts,
    consumers: &'c mut [&'d mut dyn Consumer],
}

impl Capture<'_, '_, '_, '_, '_, '_> {
    /// Polls and delivers until a stop condition: returns why it stopped and, if the target
    /// exited, how. A duration ends within one poll of the deadline: the last poll waits only
    /// for what is left of it.
    fn until_stop(
        &mut self,
        start: Instant,
        duration: Option<Duration>,
        stop: &[StopFlag],
        traced: &mut Traced,
    ) -> Result<Stopped> {
        let mut last_progress = Instant::now();
        let deadline = duration.map(|d| start + d);
        loop {
            let wait = match deadline {
                Some(d) => POLL.min(d.saturating_duration_since(Instant::now())),
                None => POLL,
            };
            self.step(wait, stop)?;
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                self.progress(start.elapsed())?;
            }
            if let Some(reason) = stop_requested(stop) {
                return Ok(Stopped::because(reason));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Stopped::because("duration"));
            }
            if let Some(status) = traced.exited() {
                return Ok(Stopped {
                    reason: "target exited".to_string(),
                    target_exit: Some(status.to_string()),
                    target_status: status.status(),
                });
            }
        }
    }

    /// One poll of the ring buffer (and the sampler), delivered.
    fn step(&mut self, wait: Duration, stop: &[StopFlag]) -> Result<()> {
        let mut batch = Vec::new();
        if let Err(e) = self.tracer.poll(wait, &mut batch) {
            // A signal interrupts the ring buffer's epoll_wait (ours to stop, or a SIGSTOP /
            // SIGCONT of a job-controlled shell): not an error, poll again.
            if !is_interrupted(&e) && stop_requested(stop).is_none() {
                return Err(e);
            }
        }
        let mut runtime_stats = Vec::new();
        if let Some(sampler) = &self.sampler {
            sampler.drain(&mut batch);
            runtime_stats = sampler.drain_runtime_stats();
        }
        self.deliver(&batch)?;
        self.deliver_runtime_stats(&runtime_stats)?;
        let snapshots = self.snapshots.as_ref().map(Snapshotter::drain);
        self.deliver_snapshots(snapshots.unwrap_or_default())
    }

    /// Hands readings of the runtime's statistics to every consumer.
    fn deliver_runtime_stats(&mut self, readings: &[RuntimeStats]) -> Result<()> {
        for stats in readings {
            fan_out(self.consumers, |c| c.on_runtime_stats(stats))?;
        }
        Ok(())
    }

    /// Each snapshot, after the symbols its pcs need, to every consumer.
    fn deliver_snapshots(&mut self, snapshots: Vec<GoroutineSnapshot>) -> Result<()> {
        for snapshot in &snapshots {
            let symbols = self.symbols.collect_snapshot(snapshot);
            if !symbols.is_empty() {
                fan_out(self.consumers, |c| c.on_symbols(&symbols))?;
            }
            fan_out(self.consumers, |c| c.on_goroutines(snapshot))?;
        }
        Ok(())
    }

    /// Counts `batch` and hands it, with the symbols it needs first, to every consumer.
    fn deliver(&mut self, batch: &[Event]) -> Result<()> {
        self.counts.add(batch);
        let symbols = self.symbols.collect(batch);
        if !symbols.is_empty() {
            fan_out(self.consumers, |c| c.on_symbols(&symbols))?;
        }
        fan_out(self.consumers, |c| c.on_batch(batch))
    }

    /// The once-a-second progress and stats (and kernel aggregates).
    fn progress(&mut self, elapsed: Duration) -> Result<()> {
        deliver_kernel_aggregates(self.tracer, self.consumers)?;
        let stats = self.stats()?;
        let progress = Progress {
            elapsed,
            counts: self.counts,
            drops: stats.drops.values().sum(),
        };
        for consumer in self.consumers.iter_mut() {
            consumer.on_progress(&progress);
        }
        fan_out(self.consumers, |c| c.on_stats(&stats))
    }

    /// After the stop: takes the last goroutine snapshot, stops the probes from emitting (they
    /// stay attached until the tracer is dropped), drains what they queued before, then hands
    /// out the final stats and the captured stacks. Returns the drops.
    fn drain(&mut self) -> Result<u64> {
        // The kernel aggregates as of the stop (the maps would go on counting during the drain).
        let aggregates = read_kernel_aggregates(self.tracer, self.consumers);
        // The last snapshot first: the probes are still attached, so the stream covers every
        // change up to it.
        let snapshots = self.snapshots.take().map(Snapshotter::finish);
        let mut batch = Vec::new();
        let mut runtime_stats = Vec::new();
        if let Some(sampler) = self.sampler.take() {
            runtime_stats = sampler.finish(&mut batch);
        }
        self.tracer.stop_emitting()?;
        // A program that passed the check just before the flag may still be writing its
        // event; the ring buffer is finite from now on, so this ends within a few polls. Each
        // poll is delivered on its own: memory holds one ring buffer's worth at most.
        for _ in 0..DRAIN_POLLS {
            let polled = self
                .tracer
                .poll(Duration::from_millis(1), &mut batch)
                .unwrap_or(0);
            self.deliver(&batch)?;
            batch.clear();
            if polled == 0 {
                break;
            }
        }
        self.deliver_snapshots(snapshots.unwrap_or_default())?;
        self.deliver_runtime_stats(&runtime_stats)?;
        if let Some(k) = &aggregates {
            fan_out(self.consumers, |c| c.on_kernel_aggregates(k))?;
        }
        let stats = self.stats()?;
        let drops = stats.drops.values().sum();
        fan_out(self.consumers, |c| c.on_stats(&stats))?;
        // The stacks the events refer to (full level), resolved while the binary is at hand.
        match self.tracer.stacks() {
            Ok(stacks) => {
                let stacks: Vec<_> = stacks
                    .iter()
                    .map(|(id, pcs)| self.symbols.stack(*id, pcs))
                    .collect();
                if !stacks.is_empty() {
                    fan_out(self.consumers, |c| c.on_stacks(&stacks))?;
                }
            }
            Err(e) => warn(
                self.consumers,
                &format!("reading the captured stacks: {e:#}"),
            ),
        }
        Ok(drops)
    }

    /// The tracer's counters as a recording's stats chunk.
    fn stats(&self) -> Result<StatsRecord> {
        let stats = self.tracer.stats()?;
        let drops = stats.drops();
        Ok(StatsRecord {
            ts_ns: monotonic_ns(),
            submitted: stats.total_submitted(),
            recorded: self.counts.events,
            drops: [
                ("ring_buffer_full", drops.ring_full),
                ("user_memory_unreadable", drops.unreadable),
                ("malformed_record", drops.undecodable),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        })
    }
}

/// Why and how [`Capture::until_stop`] stopped.
struct Stopped {
    reason: String,
    target_exit: Option<String>,
    target_status: Option<std::process::ExitStatus>,
}

impl Stopped {
    fn because(reason: &str) -> Self {
        Stopped {
            reason: reason.to_string(),
            target_exit: None,
            target_status: None,
        }
    }
}

/// Reads the kernel aggregates now (if the level keeps them) and hands them to every consumer.
fn deliver_kernel_aggregates(
    tracer: &mut Tracer<'_>,
    consumers: &mut [&mut dyn Consumer],
) -> Result<()> {
    match read_kernel_aggregates(tracer, consumers) {
        Some(k) => fan_out(consumers, |c| c.on_kernel_aggregates(&k)),
        None => Ok(()),
    }
}

/// The kernel aggregates now; None if the level keeps none, or (with a warning: the capture
/// goes on, the next reading covers everything again) if the maps could not be read.
fn read_kernel_aggregates(
    tracer: &mut Tracer<'_>,
    consumers: &mut [&mut dyn Consumer],
) -> Option<goroscope_events::KernelAggregates> {
    tracer
        .kernel_aggregates(monotonic_ns())
        .unwrap_or_else(|e| {
            warn(consumers, &format!("reading the kernel aggregates: {e:#}"));
            None
        })
}

/// Calls `hook` on every consumer in turn; the first error stops.
fn fan_out(
    consumers: &mut [&mut dyn Consumer],
    mut hook: impl FnMut(&mut dyn Consumer) -> Result<()>,
) -> Result<()> {
    consumers.iter_mut().try_for_each(|c| hook(&mut **c))
}

fn warn(consumers: &mut [&mut dyn Consumer], message: &str) {
    for consumer in consumers.iter_mut() {
        consumer.on_warning(message);
    }
}

/// The reason of the first stop flag set, if any.
fn stop_requested(stop: &[StopFlag]) -> Option<&str> {
    stop.iter()
        .find(|s| s.flag.load(std::sync::atomic::Ordering::Relaxed))
        .map(|s| s.reason.as_str())
}

/// Whether `e` is an EINTR from a system call interrupted by a signal (libbpf's errors carry it
/// only in their message).
fn is_interrupted(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::Interrupted)
            || cause.to_string().contains("Interrupted system call")
    })
}
