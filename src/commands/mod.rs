//! One module per subcommand.

mod inspect;
mod selftest;

use crate::cli::Command;

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Selftest => selftest::run(),
    }
}
