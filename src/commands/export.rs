//! `goroscope export pprof|perfetto`: replays a recording into the analysis with the
//! exporter's timeline collector attached (crates/export) and writes the file through
//! `goroscope_export::OutputFile` (temporary file beside it, renamed when complete).

use anyhow::Context as _;
use goroscope_export::perfetto::PerfettoWriter;
use goroscope_export::pprof::{self, PprofCollector};
use goroscope_export::{FileKind, LiveNames, OutputFile, Replayed};

use crate::cli::{ExportArgs, ExportFormat, ExportOutput, PerfettoArgs, PprofArgs};

pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    match &args.format {
        ExportFormat::Pprof(a) => export_pprof(a),
        ExportFormat::Perfetto(a) => export_perfetto(a),
    }
}

/// The output file, checked and created before the (long) replay.
pub fn create(
    output: &ExportOutput,
    kind: FileKind,
    recording: &std::path::Path,
) -> anyhow::Result<OutputFile> {
    OutputFile::create(&output.output, kind, output.force, &[recording])
}

/// The recording's warnings (truncated, no end record, ...), as `report` prints them.
pub fn warn(path: &std::path::Path, replayed: &Replayed) {
    for warning in replayed.summary.warnings() {
        eprintln!("goroscope: warning: {}: {warning}", path.display());
    }
}

fn export_pprof(args: &PprofArgs) -> anyhow::Result<()> {
    let kind = pprof::Kind::from_name(&args.kind).context("unknown profile kind")?;
    let mut out = create(&args.output, FileKind::Pprof, &args.file)?;
    let names = LiveNames::default();
    let (report, collector, replayed) =
        goroscope_export::replay_with(&args.file, PprofCollector::new(kind), &names)?;
    warn(&args.file, &replayed);
    let profile = collector.finish(&report);
    pprof::write_gz(&profile, &mut out)
        .with_context(|| format!("writing {}", args.output.output.display()))?;
    out.commit()?;
    eprintln!(
        "goroscope: wrote the {} profile to {} ({} samples)",
        kind.name(),
        args.output.output.display(),
        profile.sample.len()
    );
    Ok(())
}

fn export_perfetto(args: &PerfettoArgs) -> anyhow::Result<()> {
    let out = create(&args.output, FileKind::Perfetto, &args.file)?;
    let names = LiveNames::default();
    let writer = PerfettoWriter::new(out, names.clone());
    let (_report, writer, replayed) = goroscope_export::replay_with(&args.file, writer, &names)?;
    warn(&args.file, &replayed);
    let packets = writer.packets();
    let out = writer
        .finish()
        .with_context(|| format!("writing {}", args.output.output.display()))?;
    out.commit()?;
    eprintln!(
        "goroscope: wrote the Perfetto trace to {} ({packets} packets)",
        args.output.output.display()
    );
    Ok(())
}
