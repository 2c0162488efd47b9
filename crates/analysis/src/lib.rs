//! goroscope's analysis engine: consumes a stream of typed [`Event`]s — live, from a recording,
//! or synthetic — and builds the model of the traced Go program (goroutines, threads, Ms) and
//! the [`Report`] (data, serialisable as the JSON of docs/report-schema.md; the goroscope-output
//! crate prints it as text or JSON). No kernel needed.
//!
//! Pipeline: [`Reorderer`] (timestamp order within a window) → [`state::Model`] (state
//! machines, counters) and [`sched`] sections, which also emit the [`timeline`] to a
//! [`timeline::Collector`] → `summarize` (symbolization, wait-reason strings, and the last
//! goroutine snapshot read from memory joined in by `snapshots`) → [`Report`], at the end or as
//! a snapshot while the stream goes on.

mod anomalies;
pub mod attribution;
mod counts;
pub mod doctor;
mod error;
pub mod kernel;
mod latency;
mod reorder;
mod report;
pub mod runtime_metrics;
pub mod sampled;
pub mod sched;
mod sites;
mod snapshots;
pub mod state;
mod summarize;
pub mod timeline;

#[cfg(test)]
mod tests;
#[cfg(any(test, feature = "testutil"))]
pub mod testutil;

pub use error::Error;
pub use reorder::Reorderer;
pub use report::*;
pub use sites::{PREEXISTING_FUNCTION, STARTUP_FUNCTION, UNKNOWN_FUNCTION};

use goroscope_events::{
    CpuLimit, CpuStat, Event, EventSource, GoroutineSnapshot, KernelAggregates, Meta, RuntimeStats,
};

use counts::EventCounts;
use runtime_metrics::RuntimeStatsWindow;
use state::Model;
use timeline::{Collector, NoCollector, Sink};

/// Default reorder window: generous against per-CPU buffers read in batches (events are held
/// this long in stream time, not wall time).
pub const DEFAULT_REORDER_WINDOW_NS: u64 = 100_000_000;

/// How to analyse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Events up to this much older than the newest one seen are put back in order.
    pub reorder_window_ns: u64,
    /// Start of the trace (CLOCK_MONOTONIC ns), e.g. from a recording's header; default: the
    /// first event.
    pub start_ns: Option<u64>,
    /// End of the trace; default: the last event.
    pub end_ns: Option<u64>,
    /// Forget exited goroutines and threads this long (in stream time) after their exit,
    /// keeping what the report counts of them, so memory stays bounded on a long live session.
    /// None (the default): keep everything. With a window, `threads.per_thread` lists only the
    /// threads still held, and an event for a goroutine forgotten after its exit counts it as
    /// preexisting (Go never reuses goids: such an event is an anomaly anyway).
    pub retain_exited_ns: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reorder_window_ns: DEFAULT_REORDER_WINDOW_NS,
            start_ns: None,
            end_ns: None,
            retain_exited_ns: None,
        }
    }
}

/// Per-goroutine and per-thread entries the analysis holds: what [`Options::retain_exited_ns`]
/// keeps bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retained {
    /// Live goroutines and exited goids remembered.
    pub goroutines: usize,
    /// Threads in the model (live, and exited within the window or since the last fold).
    pub threads: usize,
    /// Goroutines with an open run slice or a pending flow.
    pub runs: usize,
    /// Per-goroutine counters of the preemption section.
    pub preemption: usize,
}

/// Incremental analysis: push events in any order (within the window), look at a
/// [`snapshot`](Analyzer::snapshot) at any time, then `finish`. Timeline records go to the
/// collector `C` (none by default) as events are processed.
#[derive(Debug)]
pub struct Analyzer<C: Collector = NoCollector> {
    options: Options,
    reorder: Reorderer,
    /// Created with the first processed event (which fixes the trace start).
    model: Option<Model>,
    scheduler: sched::Scheduler,
    counts: EventCounts,
    last_ts: u64,
    cpu_limit: Option<CpuLimit>,
    cpu_stat: Option<CpuStat>,
    runtime_stats: RuntimeStatsWindow,
    kernel: kernel::KernelAggregatesWindow,
    snapshots: snapshots::Snapshots,
    sampled: sampled::Sampled,
    timeline: Sink<C>,
}

impl Analyzer {
    pub fn new(options: Options) -> Self {
        Analyzer {
            options,
            reorder: Reorderer::new(options.reorder_window_ns),
            model: options
                .start_ns
                .map(|start| Model::new(start).with_retention(options.retain_exited_ns)),
            scheduler: sched::Scheduler::default().with_retention(options.retain_exited_ns),
            counts: EventCounts::default(),
            last_ts: 0,
            cpu_limit: None,
            cpu_stat: None,
            runtime_stats: RuntimeStatsWindow::default(),
            kernel: kernel::KernelAggregatesWindow::default(),
            snapshots: snapshots::Snapshots::default(),
            sampled: sampled::Sampled::default(),
            timeline: Sink::new(NoCollector),
        }
    }
}

impl<C: Collector> Analyzer<C> {
    /// Sends the timeline to `collector` (attach it before pushing events: records already
    /// derived are not replayed).
    pub fn with_collector<D: Collector>(self, collector: D) -> Analyzer<D> {
        Analyzer {
            options: self.options,
            reorder: self.reorder,
            model: self.model,
            scheduler: self.scheduler,
            counts: self.counts,
            last_ts: self.last_ts,
            cpu_limit: self.cpu_limit,
            cpu_stat: self.cpu_stat,
            runtime_stats: self.runtime_stats,
            kernel: self.kernel,
            snapshots: self.snapshots,
            sampled: self.sampled,
            timeline: Sink::new(collector).with_attribution(self.timeline.attribution),
        }
    }

    /// The traced process's CPU limit at the start, shown beside GOMAXPROCS.
    pub fn with_cpu_limit(mut self, cpu_limit: Option<CpuLimit>) -> Self {
        self.cpu_limit = cpu_limit;
        self
    }

    /// The cgroup's CPU accounting over the recording (end minus start), whose quota
    /// throttling is shown with the CPU limit.
    pub fn with_cpu_stat(mut self, cpu_stat: Option<CpuStat>) -> Self {
        self.cpu_stat = cpu_stat;
        self
    }

    /// A reading of the runtime's own statistics (in time order, beside the events): the
    /// report's `runtime_metrics` compares the first with the last.
    pub fn observe_runtime_stats(&mut self, stats: &RuntimeStats) {
        self.runtime_stats.observe(stats);
    }

    /// A reading of the kernel-side aggregates (cumulative: the report's `kernel` section is
    /// built from the last one; the latency attribution's estimate of the kernel share
    /// without thread switches from all of them).
    pub fn observe_kernel_aggregates(&mut self, aggregates: &KernelAggregates) {
        self.kernel.observe(aggregates);
        self.timeline.attribution.observe_aggregates(aggregates);
    }

    pub fn push(&mut self, event: Event) {
        self.reorder.push(event);
        while let Some(event) = self.reorder.pop_ready() {
            self.process(&event);
        }
    }

    fn process(&mut self, event: &Event) {
        let retention = self.options.retain_exited_ns;
        let model = self
            .model
            .get_or_insert_with(|| Model::new(event.ts_ns).with_retention(retention));
        self.counts.count(event);
        self.last_ts = self.last_ts.max(event.ts_ns);
        model.apply(event, &mut self.timeline);
        self.scheduler.observe(event, model, &mut self.timeline);
        self.sampled.observe(event);
        self.timeline.attribution.observe(event);
    }

    /// A goroutine snapshot read from the target's memory: the report joins the last one with
    /// the stream (`snapshots.rs`), so goroutines that never ran in the trace are reported too.
    pub fn observe_goroutines(&mut self, snapshot: &GoroutineSnapshot) {
        self.snapshots.observe(snapshot);
    }

    /// The collector, e.g. to flush what it has while the stream goes on.
    pub fn collector(&self) -> &C {
        &self.timeline.collector
    }

    pub fn collector_mut(&mut self) -> &mut C {
        &mut self.timeline.collector
    }

    /// What the report would say if the stream ended at the last processed event (events
    /// still held for reordering are not in it). Changes nothing: processing goes on as if no
    /// snapshot had been taken.
    pub fn snapshot(&self, meta: &Meta) -> Report {
        match &self.model {
            Some(model) => {
                let attribution = self.attribution_at(model, self.last_ts);
                self.report(model, meta, self.last_ts, attribution)
            }
            None => {
                let model = Model::default();
                let attribution = self.attribution_at(&model, self.last_ts);
                self.report(&model, meta, self.last_ts, attribution)
            }
        }
    }

    /// Processes what is still held and builds the report.
    pub fn finish(self, meta: &Meta) -> Report {
        self.finish_with_collector(meta).0
    }

    /// [`finish`](Analyzer::finish), and the collector back, after the intervals still open at
    /// the end and the frames of every stack named were sent to it.
    pub fn finish_with_collector(mut self, meta: &Meta) -> (Report, C) {
        while let Some(event) = self.reorder.pop_any() {
            self.process(&event);
        }
        let end_ns = self.options.end_ns.unwrap_or(self.last_ts);
        let model = self.model.take().unwrap_or_default();
        let end_ns = end_ns.max(model.threads.trace_start);
        model.emit_open(end_ns, &mut self.timeline);
        self.scheduler.emit_open(&model, end_ns, &mut self.timeline);
        self.timeline.emit_stacks(meta);
        // The attribution's intervals are consumed by its report (no copy at the end).
        let attribution = std::mem::take(&mut self.timeline.attribution);
        let report = self.report(&model, meta, end_ns, attribution);
        (report, self.timeline.collector)
    }

    /// The entries held now (see [`Options::retain_exited_ns`]).
    pub fn retained(&self) -> Retained {
        let model = self.model.as_ref();
        Retained {
            goroutines: model.map_or(0, |m| m.goroutines.retained()),
            threads: model.map_or(0, |m| m.threads.all.len()),
            runs: model.map_or(0, |m| m.runs.retained()),
            preemption: self.scheduler.preemption.retained(),
        }
    }

    /// A copy of what the attribution has gathered, with the slices still open at `end_ns`
    /// as `finish` gives them (for a snapshot: the stream goes on as if none had been taken).
    fn attribution_at(&self, model: &Model, end_ns: u64) -> attribution::Attribution {
        let mut copy = self.timeline.attribution.clone();
        model.emit_open(end_ns, &mut copy);
        self.scheduler.emit_open(model, end_ns, &mut copy);
        copy
    }

    fn report(
        &self,
        model: &Model,
        meta: &Meta,
        end_ns: u64,
        attribution: attribution::Attribution,
    ) -> Report {
        let start_ns = model.threads.trace_start;
        let mut report = summarize::report(
            model,
            &summarize::Inputs {
                meta,
                counts: &self.counts,
                late_events: self.reorder.late_events(),
                start_ns,
                end_ns: end_ns.max(start_ns),
                scheduler: &self.scheduler,
                cpu_limit: self.cpu_limit.as_ref(),
                cpu_stat: self.cpu_stat.as_ref(),
                snapshots: &self.snapshots,
            },
        );
        let stw = &report.scheduler.stop_the_world;
        let own = runtime_metrics::Goroscope {
            sched_latency: runtime_metrics::Quantiles {
                count: report.sched_latency.count,
                p50_ns: Some(report.sched_latency.p50_ns),
                p90_ns: Some(report.sched_latency.p90_ns),
                p99_ns: Some(report.sched_latency.p99_ns),
            },
            stw_pauses: stw.count,
            stw_total_ns: stw.total_ns,
            stw_max_ns: stw.max_ns,
            goroutines_created: report.goroutines.created,
            gc_cycles: stw.gc.cycles,
        };
        report.runtime_metrics = self.runtime_stats.report(&own, start_ns);
        let runtime_count = report.runtime_metrics.as_ref().and_then(|rm| {
            let h = rm
                .histograms
                .iter()
                .find(|h| h.name == "/sched/latencies:seconds")?;
            Some(sampled::RuntimeCount {
                from_ns: start_ns + rm.from_ns,
                to_ns: start_ns + rm.to_ns,
                tracked: h.window.quantiles.count,
            })
        });
        report.sched_latency_sampled =
            Some(
                self.sampled
                    .report(meta, start_ns, end_ns.max(start_ns), runtime_count),
            );
        report.kernel = self.kernel.report(meta);
        report.latency_attribution =
            Some(attribution.report(meta, &report.sched_latency.coverage, &report.threads.cpu));
        kernel::point_to_aggregates(&mut report);
        report
    }
}

/// Reads `source` to the end and returns the report.
pub fn analyze(
    source: &mut dyn EventSource,
    meta: &Meta,
    options: Options,
) -> Result<Report, Error> {
    let mut analyzer = Analyzer::new(options);
    let mut batch = Vec::new();
    loop {
        batch.clear();
        let more = source.next_batch(&mut batch)?;
        for event in batch.drain(..) {
            analyzer.push(event);
        }
        if !more {
            return Ok(analyzer.finish(meta));
        }
    }
}
