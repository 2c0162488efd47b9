//! One module per subcommand.

mod doctor;
mod export;
mod inspect;
mod record;
mod report;
mod selftest;

use crate::cli::Command;

use std::process::ExitCode;

/// Runs `command`; its exit status on success (`record` passes on a launched program's).
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    match command {
        Command::Inspect(args) => done(inspect::run(&args)),
        Command::Selftest => done(selftest::run()),
        Command::Record(args) => record::run(&args),
        Command::Report(args) => done(report::run(&args)),
        Command::Export(args) => done(export::run(&args)),
        Command::Doctor(args) => doctor::run(&args),
    }
}
