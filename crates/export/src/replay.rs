//! A recording replayed into the analysis with an exporter's collector attached
//! ([`replay_with`]), and the names an exporter needs while the records stream
//! ([`LiveNames`]: the recording's symbols as they arrive, its wait and stop-the-world reasons),
//! so that a streaming exporter can name functions without waiting for the end.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use anyhow::{Context as _, Result};
use goroscope_analysis::timeline::{self, Collector};
use goroscope_analysis::Report;
use goroscope_events::{Event, Location, Symbolizer as _, TableSymbolizer};
use goroscope_record::{Header, SymbolEntry};
use goroscope_session::{Analysis, Consumer};

pub use goroscope_session::Replayed;

/// What is known so far of the recording being replayed: filled by the replay before the
/// analysis sees the batches that need it (a recording's symbols precede their first use).
#[derive(Debug, Default)]
pub struct Names {
    pub header: Option<Header>,
    symbols: TableSymbolizer,
}

impl Names {
    /// A goroutine's start function (an entry pc: resolved as is; its address if unknown).
    pub fn start_function(&self, pc: u64) -> Location {
        self.symbols.resolve(pc).unwrap_or_else(|| Location {
            function: format!("{pc:#x}"),
            file: String::new(),
            line: 0,
        })
    }

    /// Where a `go` statement is, as the report names creation sites.
    pub fn creation_site(&self, creation_pc: u64) -> Location {
        timeline::creation_site(creation_pc, &self.symbols)
    }

    /// The runtime's string for a raw `waitReason`.
    pub fn wait_reason(&self, reason: u8) -> String {
        reason_text(self.header.as_ref().map(|h| &h.wait_reasons), reason)
    }

    /// The runtime's string for a raw `stwReason`.
    pub fn stw_reason(&self, reason: u8) -> String {
        reason_text(self.header.as_ref().map(|h| &h.stw_reasons), reason)
    }
}

fn reason_text(table: Option<&BTreeMap<u8, String>>, reason: u8) -> String {
    table
        .and_then(|t| t.get(&reason))
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("reason {reason}"))
}

/// Shared between the replay (which fills it) and a collector (which reads it).
pub type LiveNames = Rc<RefCell<Names>>;

/// Fills [`Names`] from the replay; runs before the analysis, so names arrive first.
struct Feed(LiveNames);

impl Consumer for Feed {
    fn start(&mut self, header: &Header) -> Result<()> {
        self.0.borrow_mut().header = Some(header.clone());
        Ok(())
    }

    fn on_symbols(&mut self, symbols: &[SymbolEntry]) -> Result<()> {
        let mut names = self.0.borrow_mut();
        for s in symbols {
            names.symbols.add_pc(
                s.pc,
                Location {
                    function: s.function.clone(),
                    file: s.file.clone(),
                    line: s.line,
                },
            );
        }
        Ok(())
    }

    fn on_batch(&mut self, _events: &[Event]) -> Result<()> {
        Ok(())
    }
}

/// Replays the recording at `path` into the analysis with `collector` attached (and `names`
/// filled as it goes): the report, the collector after every record, and what the replay read.
pub fn replay_with<C: Collector>(
    path: &Path,
    collector: C,
    names: &LiveNames,
) -> Result<(Report, C, Replayed)> {
    let mut feed = Feed(Rc::clone(names));
    let mut analysis = Analysis::with_collector(collector);
    let replayed = goroscope_session::replay(path, &mut [&mut feed, &mut analysis])?;
    let (report, collector) = analysis.into_parts();
    let report = report.context("the analysis produced no report")?;
    let collector = collector.context("the analysis did not give its collector back")?;
    Ok((report, collector, replayed))
}
