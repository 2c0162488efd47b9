//! Tests of the printers on reports analysed from synthetic event streams (analysis' `testutil`
//! builder): what each section's text says (sections/, report.rs).

mod report;
mod sections;
mod support;
