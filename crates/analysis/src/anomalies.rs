//! Counts of things that should not happen in a complete, ordered stream (a goid created twice,
//! a thread switched out while off CPU...). They point at lost events or probe bugs; the model
//! recovers from each in a documented way and goes on.

use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Anomalies(BTreeMap<&'static str, u64>);

impl Anomalies {
    pub fn note(&mut self, what: &'static str) {
        *self.0.entry(what).or_default() += 1;
    }

    pub fn get(&self, what: &str) -> u64 {
        self.0.get(what).copied().unwrap_or(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.0.iter().map(|(k, v)| (*k, *v))
    }
}

/// `GoCreate` for a goid that is alive or already exited (Go never reuses goids).
pub const GOID_REUSED: &str = "goid_reused";
/// A goroutine event (other than the trailing `_Gdead` status) after the goroutine exited.
pub const EVENT_AFTER_GOROUTINE_EXIT: &str = "event_after_goroutine_exit";
/// `ThreadFork` whose child tid is a thread we believe alive (its exit was lost).
pub const THREAD_FORK_OF_LIVE_TID: &str = "thread_fork_of_live_tid";
/// A tid seen again after its thread exited, without a `ThreadFork` (the fork was lost).
pub const THREAD_REAPPEARED_WITHOUT_FORK: &str = "thread_reappeared_without_fork";
/// `ThreadExit` for a thread that already exited.
pub const THREAD_EXITED_TWICE: &str = "thread_exited_twice";
/// `Switch` into a thread we believe on CPU (a switch-out was lost).
pub const SWITCH_IN_WHILE_ON_CPU: &str = "switch_in_while_on_cpu";
