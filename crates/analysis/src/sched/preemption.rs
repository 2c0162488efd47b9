//! STUB: to be written (see sched/mod.rs for the contract).

use goroscope_events::Event;
use serde::{Deserialize, Serialize};

use super::FinishInputs;
use crate::state::Model;

#[derive(Debug, Default)]
pub struct Preemption {}

impl Preemption {
    pub fn observe(&mut self, _event: &Event, _model: &Model) {}

    pub fn finish(&self, _model: &Model, _inputs: &FinishInputs<'_>) -> PreemptionReport {
        PreemptionReport::default()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PreemptionReport {}

pub fn render(_report: &PreemptionReport, _out: &mut String) -> std::fmt::Result {
    Ok(())
}
