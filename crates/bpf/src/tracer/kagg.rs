//! Reading the kernel-side aggregates (`kagg_threads`, `kagg_syscalls`, filled by
//! `src/bpf/tracer_kagg.bpf.h`) into [`KernelAggregates`].
//!
//! Each reading first runs the task iterator, which copies every live thread's kernel counters
//! as of now, then reads both maps. The first reading marks the window's start: each thread's
//! counters then are its `at_start` (threads started later have none: all they counted is in
//! the window). A thread that switched out dead is final: it is kept here and deleted from the
//! maps (its syscall rows too), so the maps hold the live threads plus those that died since the
//! last reading, and a long session with thread churn stays within the maps' bounds.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;

use anyhow::{Context, Result};
use goroscope_abi::{self as abi, KaggSyscall, KaggSyscallKey, KaggThread};
use goroscope_events::{
    AggregatesLost, InFlightSyscall, KernelAggregates, Log2Histogram, SyscallAggregate,
    ThreadAggregate, ThreadCounters,
};
use libbpf_rs::{Link, MapCore, MapFlags};

/// The kernel's counters in one `gs_kagg_thread` value.
pub(crate) fn counters(t: &KaggThread) -> ThreadCounters {
    let sched_info = t.flags & abi::KAGG_SCHED_INFO != 0;
    ThreadCounters {
        read_ns: t.read_ns,
        on_cpu_ns: t.sum_exec_runtime,
        voluntary_switches: t.nvcsw,
        involuntary_switches: t.nivcsw,
        run_delay_ns: sched_info.then_some(t.run_delay),
        runs: sched_info.then_some(t.pcount),
    }
}

/// A `kagg_threads` entry as the fact shows it (`at_start` is the reader's to fill).
pub(crate) fn thread_aggregate(tid: u32, t: &KaggThread) -> ThreadAggregate {
    let comm_len = t.comm.iter().position(|&b| b == 0).unwrap_or(t.comm.len());
    ThreadAggregate {
        tid,
        comm: String::from_utf8_lossy(&t.comm[..comm_len]).into_owned(),
        started_ns: t.start_ns,
        exited_ns: (t.flags & abi::KAGG_DEAD != 0).then_some(t.exit_ns),
        at_start: None,
        last: counters(t),
        runnable_waits: Log2Histogram::from_dense(t.wait_count, t.wait_sum_ns, &t.wait_hist),
    }
}

/// A `kagg_syscalls` entry.
pub(crate) fn syscall_aggregate(key: &KaggSyscallKey, s: &KaggSyscall) -> SyscallAggregate {
    SyscallAggregate {
        tid: key.tid,
        nr: key.nr,
        count: s.count,
        errors: s.errors,
        latency: Log2Histogram::from_dense(s.count, s.sum_ns, &s.hist),
    }
}

/// Decodes one map entry's key and value bytes; None if either is too short.
pub(crate) fn decode_thread_entry(key: &[u8], value: &[u8]) -> Option<(u32, KaggThread)> {
    let tid = u32::from_ne_bytes(key.get(..4)?.try_into().ok()?);
    Some((tid, abi::read::<KaggThread>(value)?))
}

/// The call a thread was in when the task iterator copied its counters, if any.
pub(crate) fn in_flight(tid: u32, t: &KaggThread) -> Option<InFlightSyscall> {
    if t.in_syscall_since_ns == 0 {
        return None;
    }
    Some(InFlightSyscall {
        tid,
        nr: u32::try_from(t.in_syscall_nr).ok()?,
        since_ns: t.in_syscall_since_ns,
    })
}

pub(crate) fn decode_syscall_entry(
    key: &[u8],
    value: &[u8],
) -> Option<(KaggSyscallKey, KaggSyscall)> {
    Some((abi::read(key)?, abi::read(value)?))
}

/// The maps a reading reads.
pub(crate) struct Maps<'a> {
    pub threads: &'a dyn MapCore,
    pub syscalls: &'a dyn MapCore,
}

/// What the reader keeps between readings.
#[derive(Default)]
pub(crate) struct KaggReader {
    /// The first reading's time: the window's start.
    since_ns: Option<u64>,
    /// Each thread's counters when first seen, if it started before the window.
    at_start: HashMap<u32, Option<ThreadCounters>>,
    /// Threads that exited, final, by (tid, start: the kernel may reuse a tid), with their
    /// syscalls (deleted from the maps; a reused tid's are added to its predecessor's).
    exited: BTreeMap<(u32, u64), ThreadAggregate>,
    exited_syscalls: BTreeMap<(u32, u32), SyscallAggregate>,
}

impl KaggReader {
    /// One reading at `now_ns` (CLOCK_MONOTONIC): runs `iter` (the task iterator's link), then
    /// reads and prunes the maps. `lost` is what the kernel counted as not stored.
    pub(crate) fn read(
        &mut self,
        now_ns: u64,
        iter: Option<&Link>,
        maps: Maps<'_>,
        lost: AggregatesLost,
    ) -> Result<KernelAggregates> {
        let Maps { threads, syscalls } = maps;
        if let Some(link) = iter {
            let mut it = libbpf_rs::Iter::new(link).context("creating the task iterator")?;
            let mut sink = Vec::new();
            it.read_to_end(&mut sink)
                .context("running the task iterator")?;
        }
        let since_ns = *self.since_ns.get_or_insert(now_ns);
        let mut live = Vec::new();
        let mut dead = Vec::new();
        let mut calls = Vec::new();
        // Keys first: deleting while walking a hash map would restart the walk.
        let keys: Vec<Vec<u8>> = threads.keys().collect();
        for key in keys {
            let Some(value) = threads
                .lookup(&key, MapFlags::ANY)
                .context("reading kagg_threads")?
            else {
                continue;
            };
            let Some((tid, raw)) = decode_thread_entry(&key, &value) else {
                continue;
            };
            let mut row = thread_aggregate(tid, &raw);
            if row.exited_ns.is_none() {
                calls.extend(in_flight(tid, &raw).filter(|c| c.since_ns <= now_ns));
            }
            let at_start = *self
                .at_start
                .entry(tid)
                .or_insert_with(|| (row.started_ns < since_ns).then_some(row.last));
            row.at_start = at_start;
            if row.exited_ns.is_some() {
                dead.push((key, row));
            } else {
                live.push(row);
            }
        }
        let mut rows = Vec::new();
        let keys: Vec<Vec<u8>> = syscalls.keys().collect();
        let dead_tids: Vec<u32> = dead.iter().map(|(_, r)| r.tid).collect();
        for key in keys {
            let Some(value) = syscalls
                .lookup(&key, MapFlags::ANY)
                .context("reading kagg_syscalls")?
            else {
                continue;
            };
            let Some((k, raw)) = decode_syscall_entry(&key, &value) else {
                continue;
            };
            let row = syscall_aggregate(&k, &raw);
            if dead_tids.contains(&k.tid) {
                match self.exited_syscalls.entry((k.tid, k.nr)) {
                    std::collections::btree_map::Entry::Occupied(mut e) => {
                        let sum = e.get_mut();
                        sum.count += row.count;
                        sum.errors += row.errors;
                        sum.latency.merge(&row.latency);
                    }
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(row);
                    }
                }
                syscalls.delete(&key).context("pruning kagg_syscalls")?;
            } else {
                rows.push(row);
            }
        }
        for (key, row) in dead {
            self.at_start.remove(&row.tid);
            self.exited.insert((row.tid, row.started_ns), row);
            threads.delete(&key).context("pruning kagg_threads")?;
        }
        calls.sort_by_key(|c| c.tid);
        live.extend(self.exited.values().cloned());
        live.sort_by_key(|t| t.tid);
        rows.extend(self.exited_syscalls.values().cloned());
        rows.sort_by_key(|s| (s.tid, s.nr));
        Ok(KernelAggregates {
            ts_ns: now_ns,
            since_ns,
            threads: live,
            syscalls: rows,
            in_flight: calls,
            lost,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_bytes() -> (Vec<u8>, Vec<u8>) {
        let mut t = KaggThread {
            read_ns: 5_000,
            sum_exec_runtime: 1_234,
            run_delay: 77,
            pcount: 9,
            nvcsw: 6,
            nivcsw: 2,
            start_ns: 100,
            exit_ns: 4_000,
            flags: abi::KAGG_SCHED_INFO | abi::KAGG_DEAD,
            runnable_ns: 0,
            wait_count: 3,
            wait_sum_ns: 70,
            ..Default::default()
        };
        t.wait_hist[4] = 2;
        t.wait_hist[5] = 1;
        t.comm[..6].copy_from_slice(b"worker");
        (42u32.to_ne_bytes().to_vec(), abi::bytes_of(&t).to_vec())
    }

    #[test]
    fn a_thread_entry_decodes_to_its_counters_and_histogram() {
        let (key, value) = thread_bytes();
        let (tid, raw) = decode_thread_entry(&key, &value).unwrap();
        let row = thread_aggregate(tid, &raw);
        assert_eq!(row.tid, 42);
        assert_eq!(row.comm, "worker");
        assert_eq!((row.started_ns, row.exited_ns), (100, Some(4_000)));
        assert_eq!(
            row.last,
            ThreadCounters {
                read_ns: 5_000,
                on_cpu_ns: 1_234,
                voluntary_switches: 6,
                involuntary_switches: 2,
                run_delay_ns: Some(77),
                runs: Some(9),
            }
        );
        assert_eq!(row.runnable_waits.count, 3);
        assert_eq!(row.runnable_waits.sum_ns, 70);
        assert_eq!(row.runnable_waits.buckets, vec![(4, 2), (5, 1)]);
        // Short input is refused, not misread.
        assert!(decode_thread_entry(&key[..3], &value).is_none());
        assert!(decode_thread_entry(&key, &value[..value.len() - 1]).is_none());
    }

    #[test]
    fn without_sched_info_the_run_delay_is_unknown_and_a_live_thread_has_no_exit() {
        let (key, value) = thread_bytes();
        let (tid, mut raw) = decode_thread_entry(&key, &value).unwrap();
        raw.flags = 0;
        let row = thread_aggregate(tid, &raw);
        assert_eq!((row.last.run_delay_ns, row.last.runs), (None, None));
        assert_eq!(row.exited_ns, None);
        raw.comm = [b'x'; 16]; // no NUL: all 16 bytes are the name
        assert_eq!(thread_aggregate(tid, &raw).comm, "x".repeat(16));
    }

    #[test]
    fn a_syscall_entry_decodes_to_its_key_and_latencies() {
        let key = KaggSyscallKey { tid: 42, nr: 110 };
        let mut s = KaggSyscall {
            count: 1000,
            errors: 1,
            sum_ns: 450_000,
            ..Default::default()
        };
        s.hist[8] = 990;
        s.hist[abi::KAGG_BUCKETS - 1] = 10;
        let (k, raw) = decode_syscall_entry(abi::bytes_of(&key), abi::bytes_of(&s)).unwrap();
        let row = syscall_aggregate(&k, &raw);
        assert_eq!((row.tid, row.nr, row.count, row.errors), (42, 110, 1000, 1));
        assert_eq!(row.latency.sum_ns, 450_000);
        assert_eq!(
            row.latency.buckets,
            vec![(8, 990), ((abi::KAGG_BUCKETS - 1) as u8, 10)]
        );
        assert_eq!(row.latency.quantile_bucket(0.99), Some((256, Some(512))));
        assert_eq!(row.latency.quantile_bucket(0.999).unwrap().1, None);
        assert!(decode_syscall_entry(&[0; 7], abi::bytes_of(&s)).is_none());
    }

    #[test]
    fn the_call_a_thread_is_in_comes_from_its_entry() {
        let mut t = KaggThread {
            in_syscall_since_ns: 1_234,
            in_syscall_nr: 202,
            ..Default::default()
        };
        assert_eq!(
            in_flight(7, &t),
            Some(InFlightSyscall {
                tid: 7,
                nr: 202,
                since_ns: 1_234
            })
        );
        t.in_syscall_nr = -1; // a number no call has: not reported as one
        assert_eq!(in_flight(7, &t), None);
        t.in_syscall_since_ns = 0; // not in a call
        t.in_syscall_nr = 202;
        assert_eq!(in_flight(7, &t), None);
    }
}
