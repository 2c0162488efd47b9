//! `cargo xtask <task>`: developer tasks.
fn main() {}
