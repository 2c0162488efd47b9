//! STUB: to be written (see sched/mod.rs for the contract).

use goroscope_events::Event;
use serde::{Deserialize, Serialize};

use super::FinishInputs;
use crate::state::Model;

#[derive(Debug, Default)]
pub struct Procs {}

impl Procs {
    pub fn observe(&mut self, _event: &Event, _model: &Model) {}

    pub fn finish(&self, _model: &Model, _inputs: &FinishInputs<'_>) -> ProcsReport {
        ProcsReport::default()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProcsReport {}

pub fn render(_report: &ProcsReport, _out: &mut String) -> std::fmt::Result {
    Ok(())
}

/// The CPU a process may use, as recorded at the start (filled by `goroscope report` from the
/// recording header).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CpuLimit {}
