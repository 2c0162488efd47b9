//! Tests of the printers on reports analysed from synthetic event streams (analysis' `testutil`
//! builder): whole reports against committed golden files (golden.rs), and what each section's
//! text says (sections/, report.rs).
//!
//! A changed rendering fails golden.rs with a diff; when the change is intended, rewrite the
//! golden files with `GOROSCOPE_BLESS=1 cargo test -p goroscope-output` and review them in
//! `git diff crates/output/tests/golden/`.

mod golden;
mod report;
mod sections;
mod support;
