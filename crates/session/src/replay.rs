//! [`replay`]: a recording read back into consumers, chunk by chunk, as the session that wrote
//! it handed them out — `goroscope report` is a replay into the [`crate::Analysis`] consumer.

use std::path::Path;

use anyhow::{Context as _, Result};
use goroscope_record::{Chunk, Header, ReadSummary, Reader};

use crate::consumer::{Consumer, SessionEnd};

/// What a replay read besides what it handed out.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub header: Header,
    /// Counts, truncation and the end record (its `warnings()` say what is missing).
    pub summary: ReadSummary,
}

/// Reads the recording at `path` into `consumers` (in this order): `start` with its header,
/// then each chunk's hook, then `finish` with its end record (None if it has none). A
/// truncated file is read up to its last complete chunk, a damaged chunk is skipped, bytes
/// after the end chunk are ignored (see the summary's warnings; the events lost to damage
/// reach the consumers as `Lost` events); a foreign file or an undecodable chunk is an error
/// naming the file.
pub fn replay(path: &Path, consumers: &mut [&mut dyn Consumer]) -> Result<Replayed> {
    let mut reader =
        Reader::open(path).with_context(|| format!("reading the recording {}", path.display()))?;
    let header = reader.header().clone();
    for consumer in consumers.iter_mut() {
        consumer.start(&header)?;
    }
    loop {
        // The reader's own message ("malformed recording: chunk K: ...") says it all.
        let chunk = reader
            .next_chunk()
            .map_err(|e| anyhow::anyhow!("reading the recording {}: {e}", path.display()))?;
        let Some(chunk) = chunk else { break };
        for consumer in consumers.iter_mut() {
            match &chunk {
                Chunk::Events(events) => consumer.on_batch(events)?,
                Chunk::Symbols(symbols) => consumer.on_symbols(symbols)?,
                Chunk::Stacks(stacks) => consumer.on_stacks(stacks)?,
                Chunk::Stats(stats) => consumer.on_stats(stats)?,
                Chunk::Goroutines(snapshot) => consumer.on_goroutines(snapshot)?,
                Chunk::RuntimeStats(stats) => consumer.on_runtime_stats(stats)?,
                Chunk::KernelAggregates(k) => consumer.on_kernel_aggregates(k)?,
                // Handed to `finish`, after everything else.
                Chunk::End(_) => {}
            }
        }
    }
    let summary = reader.summary().clone();
    // What the file's damage lost (a cut-off or corrupt chunk) counts as drops, like the
    // tracer's own losses.
    let damage = summary.damage_loss_events();
    if !damage.is_empty() {
        for consumer in consumers.iter_mut() {
            consumer.on_batch(&damage)?;
        }
    }
    let end = SessionEnd {
        end: summary.end.clone(),
    };
    for consumer in consumers.iter_mut() {
        consumer.finish(&end)?;
    }
    Ok(Replayed { header, summary })
}
