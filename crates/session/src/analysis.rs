//! [`Analysis`]: the consumer that runs the analysis engine (`goroscope_analysis::Analyzer`) on
//! a session or a replay and builds its report at the finish. Live and replayed, it gets the
//! same events, symbols, stacks and stats, and turns them into the same report: what `goroscope
//! report` prints for a recording is what this consumer builds while recording it. With
//! [`Analysis::with_collector`] it also sends the analysis' timeline to a
//! `goroscope_analysis::timeline::Collector` (an exporter) as the events go through.

use anyhow::{Context as _, Result};
use goroscope_analysis::timeline::{Collector, NoCollector};
use goroscope_analysis::{Analyzer, Options, Report};
use goroscope_events::{Event, GoroutineSnapshot, KernelAggregates, RuntimeStats};
use goroscope_record::{Header, MetaTables, StackEntry, StatsRecord, SymbolEntry};

use crate::consumer::{Consumer, SessionEnd};

/// Analyses what it receives; [`Analysis::report`] once finished. The timeline goes to `C`.
#[derive(Debug)]
pub struct Analysis<C: Collector = NoCollector> {
    /// Held until the start creates the analyzer, then back after the finish.
    collector: Option<C>,
    /// Created at the start, from the header's clock.
    analyzer: Option<Analyzer<C>>,
    header: Option<Header>,
    tables: MetaTables,
    /// The last stats: their drops become `Lost` events at the end, as a recording's reader
    /// makes them.
    stats: Option<StatsRecord>,
    max_ts_ns: u64,
    events: u64,
    report: Option<Report>,
}

impl Analysis {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<C: Collector + Default> Default for Analysis<C> {
    fn default() -> Self {
        Self::with_collector(C::default())
    }
}

impl<C: Collector> Analysis<C> {
    /// An analysis that also sends its timeline to `collector`.
    pub fn with_collector(collector: C) -> Self {
        Analysis {
            collector: Some(collector),
            analyzer: None,
            header: None,
            tables: MetaTables::default(),
            stats: None,
            max_ts_ns: 0,
            events: 0,
            report: None,
        }
    }

    /// The report and the collector, once finished (the collector has had every record,
    /// stacks included).
    pub fn into_parts(self) -> (Option<Report>, Option<C>) {
        (self.report, self.collector)
    }

    /// Events received so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The report, once finished.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    pub fn into_report(self) -> Option<Report> {
        self.report
    }

    /// What the report says so far, while the session goes on (for a live view): the events
    /// processed up to now, with the symbols and stacks received so far. `None` before the
    /// session started. It does not disturb the analysis: the final report is the same with or
    /// without snapshots.
    pub fn snapshot(&self) -> Option<Report> {
        let analyzer = self.analyzer.as_ref()?;
        let header = self.header.as_ref()?;
        Some(analyzer.snapshot(&self.tables.meta(header)))
    }

    fn analyzer(&mut self) -> Result<&mut Analyzer<C>> {
        self.analyzer
            .as_mut()
            .context("the analysis received events before the session started")
    }
}

impl<C: Collector> Consumer for Analysis<C> {
    fn start(&mut self, header: &Header) -> Result<()> {
        let collector = self
            .collector
            .take()
            .context("the analysis was started twice")?;
        self.analyzer = Some(
            Analyzer::new(Options {
                start_ns: Some(header.clock.monotonic_ns),
                ..Options::default()
            })
            .with_collector(collector),
        );
        self.header = Some(header.clone());
        Ok(())
    }

    fn on_symbols(&mut self, symbols: &[SymbolEntry]) -> Result<()> {
        self.tables.add_symbols(symbols);
        Ok(())
    }

    fn on_batch(&mut self, events: &[Event]) -> Result<()> {
        let analyzer = self.analyzer()?;
        let mut max_ts_ns = 0;
        for event in events {
            max_ts_ns = max_ts_ns.max(event.ts_ns);
            analyzer.push(event.clone());
        }
        self.max_ts_ns = self.max_ts_ns.max(max_ts_ns);
        self.events += events.len() as u64;
        Ok(())
    }

    fn on_goroutines(&mut self, snapshot: &GoroutineSnapshot) -> Result<()> {
        self.analyzer()?.observe_goroutines(snapshot);
        Ok(())
    }

    fn on_stats(&mut self, stats: &StatsRecord) -> Result<()> {
        self.stats = Some(stats.clone());
        Ok(())
    }

    fn on_runtime_stats(&mut self, stats: &RuntimeStats) -> Result<()> {
        self.analyzer()?.observe_runtime_stats(stats);
        Ok(())
    }

    fn on_kernel_aggregates(&mut self, aggregates: &KernelAggregates) -> Result<()> {
        self.analyzer()?.observe_kernel_aggregates(aggregates);
        Ok(())
    }

    fn on_stacks(&mut self, stacks: &[StackEntry]) -> Result<()> {
        self.tables.add_stacks(stacks);
        Ok(())
    }

    fn finish(&mut self, end: &SessionEnd) -> Result<()> {
        let mut analyzer = self
            .analyzer
            .take()
            .context("the analysis was not started")?;
        let header = self.header.take().unwrap_or_default();
        if let Some(stats) = &self.stats {
            for lost in stats.loss_events(self.max_ts_ns) {
                analyzer.push(lost);
            }
        }
        let meta = self.tables.meta(&header);
        // Throttling is known only once the end record gives the CPU accounting.
        let cpu_stat = end.end.as_ref().and_then(|e| e.cpu_stat);
        let (report, collector) = analyzer
            .with_cpu_limit(header.cpu_limit.clone())
            .with_cpu_stat(cpu_stat)
            .finish_with_collector(&meta);
        self.report = Some(report);
        self.collector = Some(collector);
        Ok(())
    }
}
