//! Kernel system calls (`KernelSyscall`, from `raw_syscalls`: every call of every thread of the
//! process), joined to the goroutine running on the calling thread when the call returned:
//! count and latency by syscall name, by goroutine and by creation site, errors by errno.
//!
//! Rules:
//! - The goroutine is `running_on(tid)` at the exit: the one running or in a syscall on the
//!   thread (a thread in the kernel cannot switch goroutines, so it is also the one at entry).
//!   Calls the runtime makes on g0 while a goroutine runs there (a futex to wake an M from
//!   `ready`) count for that goroutine; calls with no goroutine on the thread (idle Ms parked
//!   in futex, sysmon's nanosleep, netpoll's epoll_wait from `findRunnable`) are the runtime's.
//! - An error is `ret < 0` (`-errno`), except for `rt_sigreturn`, whose return value is the
//!   interrupted code's restored RAX, not a result.

use std::collections::{BTreeMap, HashMap};

use goroscope_events::{Event, EventKind, Fact, Location};
use serde::{Deserialize, Serialize};

use super::errno::errno_name;
use super::hist::Histogram;
use super::{syscall_name, LatencyStats, TOP_GOROUTINES};
use crate::sched::coverage::Coverage;
use crate::sched::FinishInputs;
use crate::sites::SiteKey;
use crate::state::Model;
use crate::timeline::{self, Collector, TimelineRecord};

/// x86-64 `rt_sigreturn`: its "return value" is not an error code.
const NR_RT_SIGRETURN: i64 = 15;

/// Function shown for calls made with no goroutine on the thread.
pub const RUNTIME_ROW: &str = "runtime (no goroutine)";

#[derive(Debug, Default)]
struct PerName {
    hist: Histogram,
    errors_by_errno: BTreeMap<i64, u64>,
}

#[derive(Debug, Default)]
struct PerGoroutine {
    site: Option<SiteKey>,
    hist: Histogram,
    errors: u64,
    /// The same calls by syscall number: plain totals (a histogram per goroutine and name
    /// would cost too much memory with many goroutines).
    by_nr: BTreeMap<i64, NameTotals>,
}

/// Count, time and worst call of one syscall name within a goroutine or a site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NameTotals {
    count: u64,
    total_ns: u64,
    max_ns: u64,
    errors: u64,
}

impl NameTotals {
    fn add(&mut self, other: &NameTotals) {
        self.count += other.count;
        self.total_ns = self.total_ns.saturating_add(other.total_ns);
        self.max_ns = self.max_ns.max(other.max_ns);
        self.errors += other.errors;
    }
}

/// Rows for `by_nr`, most time first.
fn name_rows(by_nr: &BTreeMap<i64, NameTotals>) -> Vec<SyscallNameTotals> {
    let mut rows: Vec<SyscallNameTotals> = by_nr
        .iter()
        .map(|(&nr, t)| SyscallNameTotals {
            name: syscall_name(nr),
            count: t.count,
            total_ns: t.total_ns,
            max_ns: t.max_ns,
            errors: t.errors,
        })
        .collect();
    rows.sort_by(|a, b| (b.total_ns, &a.name).cmp(&(a.total_ns, &b.name)));
    rows
}

#[derive(Debug, Default)]
pub struct KernelSyscalls {
    by_nr: HashMap<i64, PerName>,
    /// goid → calls; `None` holds the runtime's calls (no goroutine on the thread).
    by_goroutine: HashMap<Option<u64>, PerGoroutine>,
    seen: bool,
}

impl KernelSyscalls {
    pub fn observe(&mut self, event: &Event, model: &Model, out: &mut dyn Collector) {
        let EventKind::KernelSyscall {
            nr,
            ret,
            duration_ns,
        } = event.kind
        else {
            return;
        };
        self.seen = true;
        let error = (ret < 0 && nr != NR_RT_SIGRETURN).then(|| ret.saturating_neg());
        let per_name = self.by_nr.entry(nr).or_default();
        per_name.hist.record(duration_ns);
        if let Some(errno) = error {
            *per_name.errors_by_errno.entry(errno).or_insert(0) += 1;
        }
        let goid = model.goroutines.running_on(event.tid);
        if out.enabled() {
            // The event comes at the call's exit.
            out.record(TimelineRecord::KernelSyscall(timeline::KernelSyscall {
                tid: event.tid,
                goid,
                start_ns: event.ts_ns.saturating_sub(duration_ns),
                end_ns: event.ts_ns,
                nr,
                ret,
            }));
        }
        let per_g = self.by_goroutine.entry(goid).or_default();
        if per_g.site.is_none() {
            per_g.site = goid.and_then(|goid| model.goroutines.get(goid).map(|g| g.site));
        }
        per_g.hist.record(duration_ns);
        per_g.errors += u64::from(error.is_some());
        per_g.by_nr.entry(nr).or_default().add(&NameTotals {
            count: 1,
            total_ns: duration_ns,
            max_ns: duration_ns,
            errors: u64::from(error.is_some()),
        });
    }

    pub fn finish(&self, inputs: &FinishInputs<'_>) -> KernelSyscallReport {
        let coverage = Coverage::of(
            inputs.meta,
            Fact::KernelSyscalls,
            self.seen,
            "kernel system calls",
        );
        let mut by_name: Vec<SyscallNameRow> = self
            .by_nr
            .iter()
            .map(|(&nr, p)| SyscallNameRow {
                name: syscall_name(nr),
                nr,
                stats: LatencyStats::from(&p.hist),
                errors: p.errors_by_errno.values().sum(),
                errors_by_errno: p
                    .errors_by_errno
                    .iter()
                    .map(|(&errno, &count)| ErrnoCount {
                        errno,
                        name: errno_name(errno),
                        count,
                    })
                    .collect(),
            })
            .collect();
        by_name.sort_by(|a, b| {
            (b.stats.total_ns, b.stats.count, &a.name).cmp(&(
                a.stats.total_ns,
                a.stats.count,
                &b.name,
            ))
        });

        let mut by_goroutine: Vec<SyscallGoroutineRow> = self
            .by_goroutine
            .iter()
            .map(|(&goid, p)| {
                let location = match goid {
                    Some(_) => (inputs.locate)(p.site.unwrap_or(SiteKey::UnknownPc)),
                    None => runtime_location(),
                };
                SyscallGoroutineRow {
                    goid,
                    function: location.function,
                    file: location.file,
                    line: location.line,
                    stats: LatencyStats::from(&p.hist),
                    errors: p.errors,
                    by_name: name_rows(&p.by_nr),
                }
            })
            .collect();
        // Most time first; the runtime row (goid null) sorts before goroutines on ties.
        by_goroutine.sort_by(|a, b| (b.stats.total_ns, a.goid).cmp(&(a.stats.total_ns, b.goid)));
        let goroutines = self.by_goroutine.keys().filter(|g| g.is_some()).count() as u64;
        by_goroutine.truncate(TOP_GOROUTINES);

        KernelSyscallReport {
            coverage,
            calls: by_name.iter().map(|r| r.stats.count).sum(),
            errors: by_name.iter().map(|r| r.errors).sum(),
            total_ns: by_name
                .iter()
                .fold(0u64, |t, r| t.saturating_add(r.stats.total_ns)),
            by_name,
            goroutines,
            by_goroutine,
            by_site: self.by_site(inputs),
        }
    }

    /// Goroutines' calls merged by creation site (several pcs can resolve to one line, so
    /// rows are per source location); the runtime's calls are a row of their own.
    fn by_site(&self, inputs: &FinishInputs<'_>) -> Vec<SyscallSiteRow> {
        type SiteAcc = (Histogram, u64, u64, BTreeMap<i64, NameTotals>);
        let mut sites: BTreeMap<Location, SiteAcc> = BTreeMap::new();
        for (goid, p) in &self.by_goroutine {
            let location = match goid {
                Some(_) => (inputs.locate)(p.site.unwrap_or(SiteKey::UnknownPc)),
                None => runtime_location(),
            };
            let (hist, goroutines, errors, by_nr) = sites.entry(location).or_default();
            hist.merge(&p.hist);
            *goroutines += u64::from(goid.is_some());
            *errors += p.errors;
            for (nr, t) in &p.by_nr {
                by_nr.entry(*nr).or_default().add(t);
            }
        }
        let mut rows: Vec<SyscallSiteRow> = sites
            .into_iter()
            .map(
                |(location, (hist, goroutines, errors, by_nr))| SyscallSiteRow {
                    function: location.function,
                    file: location.file,
                    line: location.line,
                    goroutines,
                    stats: LatencyStats::from(&hist),
                    errors,
                    by_name: name_rows(&by_nr),
                },
            )
            .collect();
        // Stable: BTreeMap order breaks ties.
        rows.sort_by_key(|r| std::cmp::Reverse(r.stats.total_ns));
        rows
    }
}

fn runtime_location() -> Location {
    Location {
        function: RUNTIME_ROW.to_string(),
        file: String::new(),
        line: 0,
    }
}

/// `scheduler.syscalls.kernel`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KernelSyscallReport {
    #[serde(flatten)]
    pub coverage: Coverage,
    pub calls: u64,
    pub errors: u64,
    /// Sum of every call's duration (threads overlap: this can exceed the trace's duration).
    pub total_ns: u64,
    /// Every syscall made, most total time first.
    pub by_name: Vec<SyscallNameRow>,
    /// Distinct goroutines that made at least one call.
    pub goroutines: u64,
    /// The goroutines with the most time in calls (at most 50), plus the runtime's row.
    pub by_goroutine: Vec<SyscallGoroutineRow>,
    pub by_site: Vec<SyscallSiteRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallNameRow {
    pub name: String,
    pub nr: i64,
    #[serde(flatten)]
    pub stats: LatencyStats,
    pub errors: u64,
    pub errors_by_errno: Vec<ErrnoCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrnoCount {
    pub errno: i64,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallGoroutineRow {
    /// `null`: the runtime, no goroutine on the thread.
    pub goid: Option<u64>,
    /// The goroutine's creation site.
    pub function: String,
    pub file: String,
    pub line: u32,
    #[serde(flatten)]
    pub stats: LatencyStats,
    pub errors: u64,
    /// The same calls by syscall name, most time first.
    pub by_name: Vec<SyscallNameTotals>,
}

/// One syscall name's calls within a goroutine or a creation site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallNameTotals {
    pub name: String,
    pub count: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallSiteRow {
    pub function: String,
    pub file: String,
    pub line: u32,
    /// Goroutines of this site that made calls (0 for the runtime's row).
    pub goroutines: u64,
    #[serde(flatten)]
    pub stats: LatencyStats,
    pub errors: u64,
    /// The same calls by syscall name, most time first.
    pub by_name: Vec<SyscallNameTotals>,
}
