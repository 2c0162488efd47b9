//! goroscope's printers: the analysis builds a [`Report`](goroscope_analysis::Report) (data
//! only), and this crate renders it — as the human text report ([`text`], with the
//! recording's description above it) or as JSON ([`json`], schema in docs/report-schema.md).
//! Every printer shares one set of formatting helpers ([`format`]).

pub mod doctor;
pub mod format;
pub mod json;
pub mod text;

pub use doctor::{render_doctor_json, render_doctor_text};
pub use json::{render_json, render_json_with_recording};
pub use text::recording::{describe_recording, Ending, Recording};
pub use text::render_text;
