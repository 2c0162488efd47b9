//! What each scheduler section's text says, on small streams (moved from the analysis crate's
//! section tests with the printers; the assertions are theirs).

mod idle;
mod locking;
mod preemption;
mod procs;
mod runqueue;
mod stw;
mod syscalls;

use goroscope_events::{Level, Meta};

/// Go 1.22 metadata at a tracer level, no symbols.
fn at_level(level: &str) -> Meta {
    let level = Level::from_name(level).expect("a tracer level");
    Meta::new("go1.22.10").with_level(level)
}
