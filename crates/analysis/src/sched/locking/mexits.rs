//! Threads destroyed with a locked goroutine, told at every level from M exits. On Linux the
//! runtime reaches `mexit` only one way: `goexit0` found the exiting goroutine still locked
//! (`LockOSThread` without `UnlockOSThread`) and returned to `mstart`, which kills the thread
//! "rather than returning it to the thread pool" (runtime/proc.go). So each `MExit` but M0's
//! (whose `mexit` wedges the main thread instead) is one goroutine that exited locked, and one
//! thread destroyed — without goroutine exit events, which only the full level has.
//!
//! The goroutine is the last one seen calling `LockOSThread` on that thread (a locked goroutine
//! runs on its thread only). Its creation site is the model's (full level: its `GoCreate`), else
//! that of a runtime sample of it on that thread (`GoSample`, default level: about 1 in 8
//! goroutines is sampled at its first run, which on that thread precedes its lock).

use std::collections::{HashMap, HashSet};

use goroscope_events::{Event, EventKind, Fact, Meta};
use serde::{Deserialize, Serialize};

use super::M0;
use crate::sched::coverage::Coverage;
use crate::sites::SiteKey;
use crate::state::Model;

/// Destroyed threads kept as examples in the JSON.
const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Copy)]
struct LockedOn {
    goid: u64,
    site: Option<SiteKey>,
}

#[derive(Debug, Default)]
pub struct MExits {
    /// tid → the goroutine that last called `LockOSThread` on it.
    locked_on: HashMap<u32, LockedOn>,
    /// tid → the goroutine the runtime last sampled on it, and its site.
    sampled_on: HashMap<u32, (u64, SiteKey)>,
    /// Threads whose M exited, until their `ThreadExit`.
    exiting: HashSet<u32>,
    seen: bool,
    threads: u64,
    lock_seen: u64,
    thread_exits: u64,
    by_site: HashMap<SiteKey, u64>,
    examples: Vec<DestroyedExample>,
}

impl MExits {
    pub fn observe(&mut self, event: &Event, model: &Model) {
        let tid = event.tid;
        match event.kind {
            EventKind::LockOSThread { goid } => {
                let site = known(model.goroutines.get(goid).map(|g| g.site)).or_else(|| {
                    self.sampled_on
                        .get(&tid)
                        .filter(|(g, _)| *g == goid)
                        .map(|(_, s)| *s)
                });
                self.locked_on.insert(tid, LockedOn { goid, site });
            }
            EventKind::GoSample {
                goid, creation_pc, ..
            } => {
                let site = SiteKey::from_creation_pc(creation_pc);
                self.sampled_on.insert(tid, (goid, site));
                // Sampled after its lock (it parked and ran again, locked): the site now.
                if let Some(l) = self.locked_on.get_mut(&tid) {
                    if l.goid == goid && l.site.is_none() {
                        l.site = known(Some(site));
                    }
                }
            }
            EventKind::MStart { .. } => self.seen = true,
            EventKind::MExit { m_id } => {
                self.seen = true;
                if m_id != M0 {
                    self.destroyed(tid, m_id);
                }
            }
            EventKind::ThreadExit => {
                self.thread_exits += u64::from(self.exiting.remove(&tid));
                // The tid may be reused by a new thread.
                self.locked_on.remove(&tid);
                self.sampled_on.remove(&tid);
            }
            _ => {}
        }
    }

    fn destroyed(&mut self, tid: u32, m_id: i64) {
        self.threads += 1;
        self.exiting.insert(tid);
        let locked = self.locked_on.remove(&tid);
        self.lock_seen += u64::from(locked.is_some());
        if let Some(site) = locked.and_then(|l| l.site) {
            *self.by_site.entry(site).or_default() += 1;
        }
        if self.examples.len() < EXAMPLES {
            self.examples.push(DestroyedExample {
                tid,
                m_id,
                goid: locked.map(|l| l.goid),
            });
        }
    }

    pub fn finish(
        &self,
        meta: &Meta,
        locate: &dyn Fn(SiteKey) -> goroscope_events::Location,
    ) -> ThreadsDestroyedReport {
        let mut by_site: Vec<DestroyedSite> = self
            .by_site
            .iter()
            .map(|(&site, &threads)| {
                let l = locate(site);
                DestroyedSite {
                    function: l.function,
                    file: l.file,
                    line: l.line,
                    threads,
                }
            })
            .collect();
        by_site.sort_by(|a, b| {
            b.threads
                .cmp(&a.threads)
                .then_with(|| a.function.cmp(&b.function))
                .then(a.line.cmp(&b.line))
        });
        ThreadsDestroyedReport {
            coverage: Coverage::of(meta, Fact::MLifecycle, self.seen, "M starts and exits"),
            threads: self.threads,
            lock_seen: self.lock_seen,
            site_known: by_site.iter().map(|s| s.threads).sum(),
            thread_exits: self.thread_exits,
            by_site,
            examples: self.examples.clone(),
        }
    }
}

/// A site that names a `go` statement (not unknown, not "before the trace").
fn known(site: Option<SiteKey>) -> Option<SiteKey> {
    site.filter(|s| matches!(s, SiteKey::Pc(_)))
}

/// `scheduler.locking.threads_destroyed`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThreadsDestroyedReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// `MExit`s but M0's: each a goroutine that exited locked, its thread destroyed.
    pub threads: u64,
    /// Of which the goroutine's `LockOSThread` on that thread was seen.
    pub lock_seen: u64,
    /// Of which its creation site is known (`by_site`).
    pub site_known: u64,
    /// Of `threads`, those whose `ThreadExit` followed.
    pub thread_exits: u64,
    /// By the locked goroutine's creation site, most threads first.
    pub by_site: Vec<DestroyedSite>,
    /// The first few, in order.
    pub examples: Vec<DestroyedExample>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedSite {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub threads: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedExample {
    pub tid: u32,
    pub m_id: i64,
    /// The goroutine that locked it (null: its `LockOSThread` was not seen).
    pub goid: Option<u64>,
}
