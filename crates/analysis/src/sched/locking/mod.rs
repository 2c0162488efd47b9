//! The LockOSThread section: which goroutines wired themselves to their thread, for how long,
//! those that exited still locked and the thread the runtime destroyed for each, and M
//! start/park/exit totals (per-M idle detail is the idle section's).
//!
//! How long a goroutine stayed locked (`bound` says which end was used):
//! - `unlock`: the `UnlockOSThread` that brought its lock count back to 0 (exact). Lock calls
//!   nest like the runtime's `lockedExt` counter. `UnlockOSThread` is often inlined into its
//!   caller and then not seen.
//! - `exit_locked`: it exited still locked (`GoExit{locked}`, exact).
//! - `last_locked_start`: a later event says it was unlocked (a `GoStart` not locked, or an
//!   exit not locked) but the unlock was not seen: until its last `GoStart{locked}` after the
//!   lock (a lower bound).
//! - `unlocked_start` / `exit`: the same without any locked `GoStart` in between: until that
//!   unlocked `GoStart` / that exit (an upper bound).
//! - `end_of_trace`: nothing says it unlocked: until the end of the trace.
//! - `unknown`: the monitor level sees no `GoStart`/`GoExit`, so without an unlock nothing
//!   bounds it (`locked_ns` null).
//!
//! A goroutine seen running locked (`GoStart{locked}`) or exiting locked without a
//! `LockOSThread` in the trace locked itself before the trace: it is counted from the trace
//! start (`locked_before_trace`).
//!
//! Thread destroyed: after `GoExit{locked}` on thread T, the runtime's `goexit0` returns to
//! `mstart`, which calls `mexit`: the `MExit` and `ThreadExit` on T that follow are recorded.
//! A `GoStart` on T first means T was kept (not destroyed). Except on M0, the main thread: its
//! `mexit` "just wedges it" (parks it for good, runtime/proc.go) and the thread lives until the
//! process exits; it is reported `wedged`, not destroyed, and its `MExit` is no M exit.

mod mexits;
#[cfg(test)]
mod tests;

pub use mexits::{DestroyedExample, DestroyedSite, ThreadsDestroyedReport};

use std::collections::HashMap;

use goroscope_events::{Capability, Event, EventKind, Fact};
use serde::{Deserialize, Serialize};

use super::coverage::Coverage;
use super::FinishInputs;
use crate::sites::SiteKey;
use crate::state::Model;

/// Goroutine rows kept in the JSON.
pub const TOP_GOROUTINES: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Unlock,
    ExitLocked,
    LastLockedStart,
    UnlockedStart,
    Exit,
    EndOfTrace,
    Unknown,
}

impl Bound {
    fn name(self) -> &'static str {
        match self {
            Bound::Unlock => "unlock",
            Bound::ExitLocked => "exit_locked",
            Bound::LastLockedStart => "last_locked_start",
            Bound::UnlockedStart => "unlocked_start",
            Bound::Exit => "exit",
            Bound::EndOfTrace => "end_of_trace",
            Bound::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Episode {
    start: u64,
    /// Latest `GoStart{locked}` since `start`.
    last_locked_start: Option<u64>,
}

#[derive(Debug, Default)]
struct Locked {
    site: Option<SiteKey>,
    locks: u64,
    unlocks: u64,
    depth: u64,
    locked_before_trace: bool,
    first_lock: Option<u64>,
    episode: Option<Episode>,
    /// Time of the closed episodes.
    locked_ns: u64,
    /// How the latest closed episode was bounded.
    bound: Option<Bound>,
    exited_locked: bool,
    destroyed: Option<DestroyedThread>,
}

impl Locked {
    fn open(&mut self, start: u64) {
        self.episode.get_or_insert(Episode {
            start,
            last_locked_start: None,
        });
    }

    fn close(&mut self, end: u64, bound: Bound) {
        if let Some(e) = self.episode.take() {
            self.locked_ns = self.locked_ns.saturating_add(end.saturating_sub(e.start));
            self.bound = Some(bound);
        }
        self.depth = 0;
    }

    /// Something at `at` says the goroutine is no longer locked, the unlock unseen.
    fn close_unseen_unlock(&mut self, at: u64, upper: Bound) {
        match self.episode.and_then(|e| e.last_locked_start) {
            Some(last) => self.close(last, Bound::LastLockedStart),
            None => self.close(at, upper),
        }
    }
}

#[derive(Debug, Default)]
pub struct Locking {
    goroutines: HashMap<u64, Locked>,
    lock_calls: u64,
    unlock_calls: u64,
    unlocks_without_lock: u64,
    /// tid → goroutine that exited locked on it, until the thread exits or runs a goroutine.
    exited_on: HashMap<u32, u64>,
    go_events_seen: bool,
    m_started: u64,
    m_exited: u64,
    /// `MExit` of M0: wedged, not exited.
    m_wedged: u64,
    m_parked: u64,
    mexits: mexits::MExits,
}

impl Locking {
    pub fn observe(&mut self, event: &Event, model: &Model) {
        self.mexits.observe(event, model);
        let (ts, tid) = (event.ts_ns, event.tid);
        match event.kind {
            EventKind::LockOSThread { goid } => {
                self.lock_calls += 1;
                let g = self.goroutine(goid, model);
                g.locks += 1;
                g.depth += 1;
                g.first_lock.get_or_insert(ts);
                g.open(ts);
            }
            EventKind::UnlockOSThread { goid } => {
                self.unlock_calls += 1;
                match self.goroutines.get_mut(&goid).filter(|g| g.depth > 0) {
                    Some(g) => {
                        g.unlocks += 1;
                        g.depth -= 1;
                        if g.depth == 0 {
                            g.close(ts, Bound::Unlock);
                        }
                    }
                    None => self.unlocks_without_lock += 1,
                }
            }
            EventKind::GoStart { goid, locked, .. } => {
                self.go_events_seen = true;
                // A goroutine runs on it again: the thread was kept.
                self.exited_on.remove(&tid);
                if locked {
                    let trace_start = model.threads.trace_start;
                    let g = self.locked_before(goid, trace_start, model);
                    if let Some(e) = g.episode.as_mut() {
                        e.last_locked_start = Some(ts);
                    }
                } else if let Some(g) = self.goroutines.get_mut(&goid) {
                    g.close_unseen_unlock(ts, Bound::UnlockedStart);
                }
            }
            EventKind::GoExit { goid, locked } => {
                self.go_events_seen = true;
                if locked {
                    let trace_start = model.threads.trace_start;
                    let g = self.locked_before(goid, trace_start, model);
                    g.close(ts, Bound::ExitLocked);
                    g.exited_locked = true;
                    let m_id = thread_m(model, tid);
                    g.destroyed = Some(DestroyedThread {
                        tid,
                        m_id,
                        m_exit_seen: false,
                        thread_exit_seen: false,
                        wedged: m_id == Some(M0),
                    });
                    self.exited_on.insert(tid, goid);
                } else if let Some(g) = self.goroutines.get_mut(&goid) {
                    g.close_unseen_unlock(ts, Bound::Exit);
                }
            }
            EventKind::MStart { .. } => self.m_started += 1,
            EventKind::MPark { .. } => self.m_parked += 1,
            EventKind::MExit { m_id } => {
                if m_id == M0 {
                    self.m_wedged += 1;
                } else {
                    self.m_exited += 1;
                }
                if let Some(d) = self.destroyed_on(tid) {
                    d.m_exit_seen = true;
                    if m_id >= 0 {
                        d.m_id = Some(m_id);
                        d.wedged = m_id == M0;
                    }
                }
            }
            EventKind::ThreadExit => {
                if let Some(d) = self.destroyed_on(tid) {
                    d.thread_exit_seen = true;
                }
                self.exited_on.remove(&tid);
            }
            _ => {}
        }
    }

    fn goroutine(&mut self, goid: u64, model: &Model) -> &mut Locked {
        let g = self.goroutines.entry(goid).or_default();
        if g.site.is_none() {
            g.site = model.goroutines.get(goid).map(|g| g.site);
        }
        g
    }

    /// The goroutine `goid`, seen locked: if no lock of it is open, it locked itself before
    /// the trace (or the `LockOSThread` was lost) and counts from `trace_start`.
    fn locked_before(&mut self, goid: u64, trace_start: u64, model: &Model) -> &mut Locked {
        let g = self.goroutine(goid, model);
        if g.episode.is_none() && g.locks == 0 {
            g.locked_before_trace = true;
            g.depth = 1;
            g.open(trace_start);
        }
        g
    }

    fn destroyed_on(&mut self, tid: u32) -> Option<&mut DestroyedThread> {
        let goid = self.exited_on.get(&tid)?;
        self.goroutines.get_mut(goid)?.destroyed.as_mut()
    }

    pub fn finish(&self, _model: &Model, inputs: &FinishInputs<'_>) -> LockingReport {
        let meta = inputs.meta;
        // Without goroutine events an episode still open at the end cannot be bounded by it.
        let sees_goroutines = self.go_events_seen
            || meta.capabilities.get(Fact::GoroutineScheduling) != Capability::Absent;
        let mut rows: Vec<LockedGoroutineRow> = self
            .goroutines
            .iter()
            .map(|(&goid, g)| {
                let (mut locked_ns, mut bound) = (Some(g.locked_ns), g.bound);
                if let Some(e) = g.episode {
                    if sees_goroutines {
                        let open = inputs.end_ns.saturating_sub(e.start);
                        locked_ns = Some(g.locked_ns.saturating_add(open));
                        bound = Some(Bound::EndOfTrace);
                    } else {
                        (locked_ns, bound) = (None, Some(Bound::Unknown));
                    }
                }
                let location = (inputs.locate)(g.site.unwrap_or(SiteKey::UnknownPc));
                LockedGoroutineRow {
                    goid,
                    function: location.function,
                    file: location.file,
                    line: location.line,
                    locks: g.locks,
                    unlocks: g.unlocks,
                    locked_before_trace: g.locked_before_trace,
                    first_lock_ns: g.first_lock.map(|t| t.saturating_sub(inputs.start_ns)),
                    locked_ns,
                    bound: bound.unwrap_or(Bound::Unknown).name().to_string(),
                    exited_locked: g.exited_locked,
                    destroyed_thread: g.destroyed.clone(),
                }
            })
            .collect();
        rows.sort_by(|a, b| (b.locked_ns, a.goid).cmp(&(a.locked_ns, b.goid)));
        let goroutines = rows.len() as u64;
        let goroutines_calling = rows.iter().filter(|r| r.locks > 0).count() as u64;
        let goroutines_locked_before_trace =
            rows.iter().filter(|r| r.locked_before_trace).count() as u64;
        let exited: Vec<&LockedGoroutineRow> = rows.iter().filter(|r| r.exited_locked).collect();
        let exited_locked = ExitedLockedReport {
            coverage: Coverage::of(
                meta,
                Fact::GoroutineScheduling,
                self.go_events_seen,
                "goroutine exits (goexit1)",
            ),
            goroutines: exited.len() as u64,
            threads_destroyed: exited
                .iter()
                .filter(|r| {
                    r.destroyed_thread
                        .as_ref()
                        .is_some_and(|d| !d.wedged && (d.m_exit_seen || d.thread_exit_seen))
                })
                .count() as u64,
            threads_wedged: exited
                .iter()
                .filter(|r| r.destroyed_thread.as_ref().is_some_and(|d| d.wedged))
                .count() as u64,
        };
        let seen = self.lock_calls + self.unlock_calls > 0 || goroutines > 0;
        rows.truncate(TOP_GOROUTINES);
        let parks = Coverage::of(meta, Fact::IdleMs, self.m_parked > 0, "idle Ms (stopm)");
        LockingReport {
            lock_os_thread: LockReport {
                coverage: Coverage::of(meta, Fact::LockOsThread, seen, "LockOSThread"),
                calls: self.lock_calls,
                unlock_calls: self.unlock_calls,
                unlocks_without_lock: self.unlocks_without_lock,
                goroutines,
                goroutines_calling,
                goroutines_locked_before_trace,
                by_goroutine: rows,
            },
            exited_locked,
            threads_destroyed: self.mexits.finish(meta, inputs.locate),
            ms: MsReport {
                coverage: Coverage::of(meta, Fact::MLifecycle, self.m_started > 0, "M starts"),
                started: self.m_started,
                exited: self.m_exited,
                wedged: self.m_wedged,
                parked: parks.captured.then_some(self.m_parked),
                parked_why: parks.why,
            },
        }
    }
}

/// `m0.id`: the M of the process's main thread.
const M0: i64 = 0;

/// The M of thread `tid` as the thread model knows it.
fn thread_m(model: &Model, tid: u32) -> Option<i64> {
    model
        .threads
        .all
        .iter()
        .rev()
        .find(|t| t.tid == tid)
        .and_then(|t| t.m_id)
}

/// `scheduler.locking`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockingReport {
    pub lock_os_thread: LockReport,
    pub exited_locked: ExitedLockedReport,
    /// Threads destroyed with a locked goroutine, from M exits (every level).
    #[serde(default)]
    pub threads_destroyed: ThreadsDestroyedReport,
    pub ms: MsReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LockReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `LockOSThread` calls.
    pub calls: u64,
    /// `UnlockOSThread` calls seen (not the inlined ones).
    pub unlock_calls: u64,
    /// Unlocks of a goroutine with no lock open (locked before the trace).
    pub unlocks_without_lock: u64,
    /// Goroutines seen locking or running locked.
    pub goroutines: u64,
    /// Of which those with a `LockOSThread` call in the trace (the others locked before it).
    #[serde(default)]
    pub goroutines_calling: u64,
    /// Of which those locked when the trace started (the main goroutine, locked by the
    /// runtime during init, is one when traced from the start), with or without a call since.
    #[serde(default)]
    pub goroutines_locked_before_trace: u64,
    /// Longest locked first, at most 50.
    pub by_goroutine: Vec<LockedGoroutineRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedGoroutineRow {
    pub goid: u64,
    /// The goroutine's creation site.
    pub function: String,
    pub file: String,
    pub line: u32,
    pub locks: u64,
    pub unlocks: u64,
    pub locked_before_trace: bool,
    /// First `LockOSThread`, ns since the trace start.
    pub first_lock_ns: Option<u64>,
    /// Total time locked (see `bound`); null when unknown.
    pub locked_ns: Option<u64>,
    /// How the latest locked stretch was bounded (module doc).
    pub bound: String,
    pub exited_locked: bool,
    pub destroyed_thread: Option<DestroyedThread>,
}

/// The thread a goroutine exited locked on, which the runtime then destroys (or, the main
/// thread, wedges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedThread {
    pub tid: u32,
    pub m_id: Option<i64>,
    pub m_exit_seen: bool,
    pub thread_exit_seen: bool,
    /// M0, the main thread: the runtime parks it for good instead of destroying it, and it
    /// lives until the process exits.
    #[serde(default)]
    pub wedged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExitedLockedReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub goroutines: u64,
    /// Of which the thread's `MExit` or `ThreadExit` was seen (the main thread excluded).
    pub threads_destroyed: u64,
    /// Of which the thread was the main thread (M0), wedged instead of destroyed.
    #[serde(default)]
    pub threads_wedged: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MsReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `MStart`: Ms (threads) started.
    pub started: u64,
    /// `MExit`, except M0's.
    pub exited: u64,
    /// `MExit` of M0: the main thread is wedged (parked for good), never destroyed.
    #[serde(default)]
    pub wedged: u64,
    /// `MPark` (`stopm`: an M with no work goes to sleep); null when the level does not see it.
    pub parked: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_why: Option<String>,
}
