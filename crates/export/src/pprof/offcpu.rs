//! Off-CPU time by goroutine: each thread's off-CPU slice is charged to the goroutine that was
//! on the thread (running, or in a system call) when it switched out. The two come as separate
//! timeline records, each when it ends, so the join keeps per thread the off-CPU slices not yet
//! placed and the last goroutine interval: a goroutine's interval on a thread arrives after the
//! off-CPU slices inside it (the thread must run again to end it), and intervals of one thread
//! do not overlap, so an interval starting after a pending slice's start means no goroutine
//! was there. Memory: per thread, the switches within one goroutine interval; per goroutine,
//! its totals.

use std::collections::HashMap;

use goroscope_analysis::timeline::{
    CreationSite, GoActivity, GoroutineSlice, Instant, InstantKind, Stack, StackKey, ThreadEnd,
    ThreadSlice, TimelineRecord,
};
use goroscope_analysis::PREEXISTING_FUNCTION;
use goroscope_events::Location;

use super::builder::{pseudo_frame, ProfileBuilder};

/// Frame of off-CPU time with no goroutine on the thread.
pub const NO_GOROUTINE: &str = "(no goroutine: an idle M or the runtime's own thread)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Switch {
    Involuntary,
    Voluntary,
    Unknown,
}

impl Switch {
    fn label(self) -> &'static str {
        match self {
            Switch::Involuntary => "involuntary",
            Switch::Voluntary => "voluntary",
            Switch::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct OffSlice {
    start_ns: u64,
    ns: u64,
    switch: Switch,
}

#[derive(Debug, Default)]
struct Thread {
    /// How the last on-CPU slice ended: the cause of the off-CPU slice after it.
    switched_out: Option<Switch>,
    pending: Vec<OffSlice>,
    /// The last goroutine interval on this thread: [start, end), goid.
    last: Option<(u64, u64, u64)>,
}

#[derive(Debug, Default)]
pub struct OffCpu {
    threads: HashMap<u32, Thread>,
    /// (goid, None: no goroutine; switch) → (slices, ns).
    totals: HashMap<(Option<u64>, Switch), (i64, i64)>,
    /// goid → (start function, creation pc), from `GoCreate`.
    goroutines: HashMap<u64, (StackKey, u64)>,
    stacks: HashMap<StackKey, Vec<Location>>,
    sites: HashMap<u64, Location>,
}

impl OffCpu {
    pub fn record(&mut self, record: TimelineRecord) {
        match record {
            TimelineRecord::Thread(t) => self.thread(t),
            TimelineRecord::Goroutine(GoroutineSlice {
                goid,
                start_ns,
                end_ns,
                state: GoActivity::Running { tid, .. } | GoActivity::Syscall { tid: Some(tid) },
            }) => self.occupied(tid, start_ns, end_ns, goid),
            TimelineRecord::Instant(Instant {
                kind:
                    InstantKind::GoCreate {
                        goid,
                        start,
                        creation_pc,
                        ..
                    },
                ..
            }) => {
                self.goroutines.insert(goid, (start, creation_pc));
            }
            TimelineRecord::Stack(Stack { key, frames }) => {
                self.stacks.insert(key, frames);
            }
            TimelineRecord::CreationSite(CreationSite {
                creation_pc,
                location,
            }) => {
                self.sites.insert(creation_pc, location);
            }
            _ => {}
        }
    }

    fn thread(&mut self, t: ThreadSlice) {
        let thread = self.threads.entry(t.tid).or_default();
        if t.on_cpu {
            thread.switched_out = match t.end {
                ThreadEnd::Involuntary => Some(Switch::Involuntary),
                ThreadEnd::Voluntary => Some(Switch::Voluntary),
                _ => None,
            };
            return;
        }
        let off = OffSlice {
            start_ns: t.start_ns,
            ns: t.end_ns.saturating_sub(t.start_ns),
            switch: thread.switched_out.take().unwrap_or(Switch::Unknown),
        };
        match thread.last {
            Some((s, e, goid)) if (s..e).contains(&off.start_ns) => {
                add(&mut self.totals, Some(goid), off)
            }
            _ => thread.pending.push(off),
        }
    }

    fn occupied(&mut self, tid: u32, start_ns: u64, end_ns: u64, goid: u64) {
        let thread = self.threads.entry(tid).or_default();
        let totals = &mut self.totals;
        thread.pending.retain(|off| {
            if off.start_ns >= end_ns {
                return true;
            }
            let on = (off.start_ns >= start_ns).then_some(goid);
            add(totals, on, *off);
            false
        });
        thread.last = Some((start_ns, end_ns, goid));
    }

    /// Adds a sample per goroutine site and switch kind to `b`.
    pub fn add_to(mut self, b: &mut ProfileBuilder) {
        for thread in std::mem::take(&mut self.threads).into_values() {
            for off in thread.pending {
                add(&mut self.totals, None, off);
            }
        }
        let mut rows: Vec<_> = self.totals.iter().collect();
        rows.sort_by_key(|(k, _)| **k);
        for (&(goid, switch), &(count, ns)) in rows {
            let stack = match goid {
                None => vec![pseudo_frame(NO_GOROUTINE)],
                Some(goid) => self.site_stack(goid),
            };
            b.add(&stack, &[("switch", switch.label())], &[count, ns]);
        }
    }

    /// The goroutine's start function, called from its creation site.
    fn site_stack(&self, goid: u64) -> Vec<Location> {
        match self.goroutines.get(&goid) {
            Some((start, creation_pc)) => {
                let mut stack = self.stacks.get(start).cloned().unwrap_or_default();
                stack.truncate(1);
                stack.extend(self.sites.get(creation_pc).cloned());
                stack
            }
            None => vec![pseudo_frame(PREEXISTING_FUNCTION)],
        }
    }
}

fn add(totals: &mut HashMap<(Option<u64>, Switch), (i64, i64)>, goid: Option<u64>, off: OffSlice) {
    let t = totals.entry((goid, off.switch)).or_default();
    t.0 += 1;
    t.1 = t.1.saturating_add(off.ns as i64);
}
