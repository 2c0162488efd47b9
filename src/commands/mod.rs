//! One module per subcommand.

mod export;
mod inspect;
mod record;
mod report;
mod selftest;

use crate::cli::Command;

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Selftest => selftest::run(),
        Command::Record(args) => record::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Export(args) => export::run(&args),
    }
}
