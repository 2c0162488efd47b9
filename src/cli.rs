//! The command line, as clap derive types. Raw flags become validated values here and nowhere else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "goroscope",
    version,
    about = "See inside the Go scheduler of any running Go program, with eBPF",
    long_about = "goroscope attaches to a running Go program with no code change, through eBPF \
                  uprobes on the Go runtime and kernel tracepoints, and shows how its goroutines, \
                  threads and the kernel schedule together."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug; or set GOROSCOPE_LOG).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what goroscope reads from a Go executable: Go version, build settings, where each
    /// runtime function it probes lives, and the runtime's struct offsets and constants.
    Inspect(InspectArgs),
    /// Check that this machine can run goroscope's BPF programs: loads and attaches a small probe.
    Selftest,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["binary", "pid"])))]
pub struct InspectArgs {
    /// Path of a Go executable (stripped or not, PIE or not).
    pub binary: Option<PathBuf>,
    /// Inspect the executable of this running process instead (also shows its load bias).
    #[arg(short, long)]
    pub pid: Option<u32>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// For a stripped binary of a Go version goroscope has no layout table for, use the nearest
    /// known version's offsets. They may be wrong; prefer a build with DWARF.
    #[arg(long)]
    pub force_nearest_layout: bool,
}
