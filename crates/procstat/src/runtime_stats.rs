//! The Go runtime's own statistics ([`goroscope_events::RuntimeStats`]) read from a live
//! process's memory: the whole `runtime.sched` (a few KB: its histograms `timeToRun` and the
//! `stw*` ones, `totalMutexWaitTime`, `totalRuntimeLockWaitTime`, `goidgen`, `mnext`,
//! `nmfreed`), `runtime.gomaxprocs` and `memstats.numgc`/`numforcedgc` in one
//! `process_vm_readv`, then, when `runtime.allm` is known, each M's `mLockProfile.waitTime`
//! along the `m.alllink` list (what `runtime/metrics` adds to the runtime-internal lock wait).
//!
//! Like the scheduler counters, the values are read without the runtime's locks: a histogram
//! may be caught between two increments, never torn within one 8-byte count (they are aligned).
//! About a millisecond's work on the reader's side, meant for once a second.

use goinspect::{Inspection, RuntimeLayout};
use goroscope_events::{MetricHistogram, RuntimeStats, TimeHistScheme};

use crate::error::{Error, Result};
use crate::memory::ProcessMemory;

/// Run-time addresses (load bias added) of the globals read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeStatsAddresses {
    pub sched: u64,
    pub gomaxprocs: u64,
    /// `runtime.memstats`; None when it could not be located (no GC cycle count then).
    pub memstats: Option<u64>,
    /// `runtime.allm`; None in stripped binaries (no live Ms' lock wait then).
    pub allm: Option<u64>,
}

impl RuntimeStatsAddresses {
    /// The executable `insp` describes, mapped at `bias`.
    pub fn at_load_bias(insp: &Inspection, bias: u64) -> Result<Self> {
        let l = &insp.layout;
        let add = |a: Option<u64>| a.and_then(|a| a.checked_add(bias));
        let need = |a: Option<u64>, what: &str| {
            add(a).ok_or_else(|| {
                Error::Layout(format!(
                    "the address of {what} is unknown for {}",
                    insp.path
                ))
            })
        };
        Ok(RuntimeStatsAddresses {
            sched: need(l.sched_address, "runtime.sched")?,
            gomaxprocs: need(l.gomaxprocs_address, "runtime.gomaxprocs")?,
            memstats: add(l.memstats_address),
            allm: add(l.allm_address),
        })
    }
}

/// Where a `timeHistogram`'s parts are, relative to the histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HistogramOffsets {
    counts: u64,
    underflow: u64,
    overflow: Option<u64>,
}

/// Offsets of everything read, from goinspect's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeStatsOffsets {
    scheme: TimeHistScheme,
    histogram: HistogramOffsets,
    /// `runtime.timeHistogram`'s size: every part above lies within it.
    histogram_size: u64,
    schedt_size: u64,
    goidgen: u64,
    mnext: u64,
    nmfreed: u64,
    time_to_run: u64,
    mutex_wait: Option<u64>,
    runtime_lock_wait: Option<u64>,
    /// stwStoppingTimeGC, stwStoppingTimeOther, stwTotalTimeGC, stwTotalTimeOther.
    stw: [Option<u64>; 4],
    numgc: Option<u64>,
    numforcedgc: Option<u64>,
    /// `m.alllink`, and `m.mLockProfile + mLockProfile.waitTime`.
    m_alllink: Option<u64>,
    m_lock_wait: Option<u64>,
}

/// An upper bound on `runtime.schedt`'s size: it is 1.6–7 KB in Go 1.19–1.27; more means a
/// broken layout, not a read to attempt.
const MAX_SCHEDT_BYTES: u64 = 64 * 1024;
/// An upper bound on the Ms walked along `allm` (a cycle or garbage ends the walk there).
const MAX_MS: usize = 100_000;

impl RuntimeStatsOffsets {
    pub fn from_layout(layout: &RuntimeLayout) -> Result<Self> {
        let missing = |what: &str| Error::Layout(format!("the layout has no {what}"));
        let strukt = |name: &str| layout.structs.get(name);
        let schedt = strukt("runtime.schedt").ok_or_else(|| missing("runtime.schedt"))?;
        let sched_opt = |f: &str| schedt.fields.get(f).copied();
        let sched = |f: &str| sched_opt(f).ok_or_else(|| missing(&format!("schedt.{f}")));
        let hist = strukt("runtime.timeHistogram").ok_or_else(|| missing("timeHistogram"))?;
        let hist_field = |f: &str| hist.fields.get(f).copied();
        let histogram = HistogramOffsets {
            counts: hist_field("counts").ok_or_else(|| missing("timeHistogram.counts"))?,
            underflow: hist_field("underflow").ok_or_else(|| missing("timeHistogram.underflow"))?,
            overflow: hist_field("overflow"),
        };
        let scheme = TimeHistScheme::from_constants(&layout.constants.time_histogram)
            .ok_or_else(|| missing("usable timeHist* constants"))?;
        // The counts array must fit before the struct's end and agree with the scheme.
        let counts_bytes = scheme.counts_len() as u64 * 8;
        if histogram.counts.saturating_add(counts_bytes) > hist.size
            || scheme.has_overflow() != histogram.overflow.is_some()
        {
            return Err(Error::Layout(format!(
                "timeHistogram of {} bytes does not hold {} counts ({scheme:?})",
                hist.size,
                scheme.counts_len()
            )));
        }
        if schedt.size > MAX_SCHEDT_BYTES {
            return Err(Error::Layout(format!("schedt of {} bytes", schedt.size)));
        }
        let mstats = strukt("runtime.mstats");
        let m = strukt("runtime.m");
        let m_lock_wait = m
            .and_then(|m| m.fields.get("mLockProfile"))
            .zip(strukt("runtime.mLockProfile").and_then(|p| p.fields.get("waitTime")))
            .and_then(|(a, b)| a.checked_add(*b));
        Ok(RuntimeStatsOffsets {
            scheme,
            histogram,
            histogram_size: hist.size,
            schedt_size: schedt.size,
            goidgen: sched("goidgen")?,
            mnext: sched("mnext")?,
            nmfreed: sched("nmfreed")?,
            time_to_run: sched("timeToRun")?,
            mutex_wait: sched_opt("totalMutexWaitTime"),
            runtime_lock_wait: sched_opt("totalRuntimeLockWaitTime"),
            stw: [
                sched_opt("stwStoppingTimeGC"),
                sched_opt("stwStoppingTimeOther"),
                sched_opt("stwTotalTimeGC"),
                sched_opt("stwTotalTimeOther"),
            ],
            numgc: mstats.and_then(|s| s.fields.get("numgc").copied()),
            numforcedgc: mstats.and_then(|s| s.fields.get("numforcedgc").copied()),
            m_alllink: m.and_then(|m| m.fields.get("alllink").copied()),
            m_lock_wait,
        })
    }

    pub fn scheme(&self) -> TimeHistScheme {
        self.scheme
    }
}

/// Reads [`RuntimeStats`] from one process.
#[derive(Debug, Clone)]
pub struct RuntimeStatsReader {
    memory: ProcessMemory,
    addresses: RuntimeStatsAddresses,
    offsets: RuntimeStatsOffsets,
}

impl RuntimeStatsReader {
    pub fn new(
        pid: u32,
        addresses: RuntimeStatsAddresses,
        offsets: RuntimeStatsOffsets,
    ) -> Result<Self> {
        let memory = ProcessMemory::new(pid)?;
        // Every schedt field read must lie inside the schedt read, and every histogram part
        // inside its histogram.
        let h = &offsets.histogram;
        let hist_len = offsets.histogram_size;
        let parts_end = [Some(h.underflow), h.overflow]
            .into_iter()
            .flatten()
            .map(|o| o.saturating_add(8))
            .chain([h
                .counts
                .saturating_add(offsets.scheme.counts_len() as u64 * 8)])
            .max()
            .unwrap_or(0);
        if parts_end > hist_len {
            return Err(Error::Layout(format!(
                "timeHistogram parts end at {parts_end}, past its {hist_len} bytes"
            )));
        }
        let fields = [
            (Some(offsets.goidgen), 8),
            (Some(offsets.mnext), 8),
            (Some(offsets.nmfreed), 8),
            (offsets.mutex_wait, 8),
            (offsets.runtime_lock_wait, 8),
            (Some(offsets.time_to_run), hist_len),
        ]
        .into_iter()
        .chain(offsets.stw.iter().map(|&o| (o, hist_len)));
        for (off, len) in fields {
            if off.is_some_and(|o| o.saturating_add(len) > offsets.schedt_size) {
                return Err(Error::Layout(format!(
                    "a schedt field at {off:?} (+{len}) lies past its {} bytes",
                    offsets.schedt_size
                )));
            }
        }
        Ok(RuntimeStatsReader {
            memory,
            addresses,
            offsets,
        })
    }

    /// For a process inspected with `goinspect::inspect_pid`.
    pub fn from_inspection(insp: &Inspection) -> Result<Self> {
        let pid = insp.pid.ok_or_else(|| {
            Error::Layout("the inspection is of a file, not a running process".into())
        })?;
        Self::new(
            pid,
            RuntimeStatsAddresses::at_load_bias(insp, insp.load_bias.unwrap_or(0))?,
            RuntimeStatsOffsets::from_layout(&insp.layout)?,
        )
    }

    /// Reads everything now, stamped `ts_ns`.
    pub fn read(&self, ts_ns: u64) -> Result<RuntimeStats> {
        let o = &self.offsets;
        let mut sched = vec![0u8; o.schedt_size as usize];
        let mut gomaxprocs = [0u8; 4];
        let mut numgc = [0u8; 4];
        let mut numforcedgc = [0u8; 4];
        let memstats = self.addresses.memstats;
        {
            let mut pieces: Vec<(u64, &mut [u8])> = vec![
                (self.addresses.sched, &mut sched[..]),
                (self.addresses.gomaxprocs, &mut gomaxprocs[..]),
            ];
            if let Some(at) = memstats.zip(o.numgc).and_then(|(b, n)| b.checked_add(n)) {
                pieces.push((at, &mut numgc[..]));
            }
            if let Some(at) = memstats
                .zip(o.numforcedgc)
                .and_then(|(b, n)| b.checked_add(n))
            {
                pieces.push((at, &mut numforcedgc[..]));
            }
            self.memory
                .read_exact(&mut pieces, "the runtime's statistics")?;
        }
        let u64_at = |off: u64| {
            let i = off as usize;
            let mut b = [0u8; 8];
            b.copy_from_slice(&sched[i..i + 8]);
            u64::from_ne_bytes(b)
        };
        let histogram = |base: u64| {
            let h = &o.histogram;
            let counts: Vec<u64> = (0..o.scheme.counts_len() as u64)
                .map(|k| u64_at(base + h.counts + 8 * k))
                .collect();
            MetricHistogram::from_parts(
                u64_at(base + h.underflow),
                &counts,
                h.overflow.map(|off| u64_at(base + off)),
            )
        };
        let lock_wait_per_m = self.live_ms_lock_wait();
        let runtime_lock_wait_ns = o
            .runtime_lock_wait
            .map(|off| (u64_at(off) as i64).saturating_add(lock_wait_per_m.unwrap_or(0)));
        let found_numgc = memstats.is_some() && o.numgc.is_some();
        let found_forced = memstats.is_some() && o.numforcedgc.is_some();
        Ok(RuntimeStats {
            ts_ns,
            scheme: o.scheme,
            sched_latencies: histogram(o.time_to_run),
            stw_stopping_gc: o.stw[0].map(histogram),
            stw_stopping_other: o.stw[1].map(histogram),
            stw_total_gc: o.stw[2].map(histogram),
            stw_total_other: o.stw[3].map(histogram),
            mutex_wait_ns: o.mutex_wait.map(|off| u64_at(off) as i64),
            runtime_lock_wait_ns,
            runtime_lock_wait_per_m: runtime_lock_wait_ns.is_some() && lock_wait_per_m.is_some(),
            goid_generator: u64_at(o.goidgen),
            threads: (u64_at(o.mnext) as i64).saturating_sub(u64_at(o.nmfreed) as i64),
            gc_cycles: found_numgc.then(|| u32::from_ne_bytes(numgc)),
            forced_gc_cycles: found_forced.then(|| u32::from_ne_bytes(numforcedgc)),
            gomaxprocs: i32::from_ne_bytes(gomaxprocs),
        })
    }

    /// The sum of every live M's `mLockProfile.waitTime`, walking `allm` → `m.alllink`; None
    /// when `allm` or the offsets are unknown, or a read fails (an M freed under our feet).
    fn live_ms_lock_wait(&self) -> Option<i64> {
        let (allm, alllink, wait) = (
            self.addresses.allm?,
            self.offsets.m_alllink?,
            self.offsets.m_lock_wait?,
        );
        let mut head = [0u8; 8];
        self.memory
            .read_exact(&mut [(allm, &mut head[..])], "runtime.allm")
            .ok()?;
        let mut mp = u64::from_ne_bytes(head);
        let mut total = 0i64;
        let mut walked = 0usize;
        while mp != 0 {
            walked += 1;
            if walked > MAX_MS {
                return None;
            }
            let (mut next, mut w) = ([0u8; 8], [0u8; 8]);
            self.memory
                .read_exact(
                    &mut [
                        (mp.checked_add(alllink)?, &mut next[..]),
                        (mp.checked_add(wait)?, &mut w[..]),
                    ],
                    "an M",
                )
                .ok()?;
            total = total.saturating_add(i64::from_ne_bytes(w));
            mp = u64::from_ne_bytes(next);
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A Go 1.20+-shaped layout: schedt with the histograms, a tiny mstats and m.
    fn layout() -> RuntimeLayout {
        let hist_size = 160 * 8 + 16;
        let fields = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let mut structs = BTreeMap::new();
        structs.insert(
            "runtime.schedt".to_string(),
            goinspect::model::StructLayout {
                size: 64 + 5 * hist_size + 16,
                fields: fields(&[
                    ("goidgen", 0),
                    ("mnext", 8),
                    ("nmfreed", 16),
                    ("totalMutexWaitTime", 24),
                    ("totalRuntimeLockWaitTime", 32),
                    ("timeToRun", 64),
                    ("stwStoppingTimeGC", 64 + hist_size),
                    ("stwStoppingTimeOther", 64 + 2 * hist_size),
                    ("stwTotalTimeGC", 64 + 3 * hist_size),
                    ("stwTotalTimeOther", 64 + 4 * hist_size),
                ]),
            },
        );
        structs.insert(
            "runtime.timeHistogram".to_string(),
            goinspect::model::StructLayout {
                size: hist_size,
                fields: fields(&[("counts", 0), ("underflow", 1280), ("overflow", 1288)]),
            },
        );
        structs.insert(
            "runtime.mstats".to_string(),
            goinspect::model::StructLayout {
                size: 16,
                fields: fields(&[("numgc", 4), ("numforcedgc", 8)]),
            },
        );
        structs.insert(
            "runtime.m".to_string(),
            goinspect::model::StructLayout {
                size: 64,
                fields: fields(&[("alllink", 8), ("mLockProfile", 32)]),
            },
        );
        structs.insert(
            "runtime.mLockProfile".to_string(),
            goinspect::model::StructLayout {
                size: 16,
                fields: fields(&[("waitTime", 8)]),
            },
        );
        let constants = goinspect::model::Constants {
            time_histogram: fields(&[
                ("timeHistMinBucketBits", 9),
                ("timeHistMaxBucketBits", 48),
                ("timeHistSubBucketBits", 2),
            ]),
            ..Default::default()
        };
        RuntimeLayout {
            source: "test".into(),
            structs,
            constants,
            sched_address: None,
            gomaxprocs_address: None,
            memstats_address: None,
            allm_address: None,
            allgs_address: None,
            allglen_address: None,
        }
    }

    fn put(buf: &mut [u8], off: usize, v: u64) {
        buf[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }

    /// Reading our own memory: a fake `sched`, `memstats` and two Ms in this test process.
    #[test]
    fn reads_the_statistics_at_the_layouts_offsets() {
        let offsets = RuntimeStatsOffsets::from_layout(&layout()).unwrap();
        let hist = 160 * 8 + 16;
        let mut sched = vec![0u8; 64 + 5 * hist + 16];
        put(&mut sched, 0, 4242);
        put(&mut sched, 8, 9);
        put(&mut sched, 16, 2);
        put(&mut sched, 24, 1_000_000);
        put(&mut sched, 32, 500);
        put(&mut sched, 64 + 1280, 3); // timeToRun.underflow
        put(&mut sched, 64 + 8 * 5, 7); // timeToRun.counts[5]
        put(&mut sched, 64 + 1288, 1); // timeToRun.overflow
        put(&mut sched, 64 + 3 * hist + 8 * 20, 11); // stwTotalTimeGC.counts[20]
        let mut memstats = [0u8; 16];
        memstats[4..8].copy_from_slice(&12u32.to_ne_bytes());
        memstats[8..12].copy_from_slice(&2u32.to_ne_bytes());
        let gomaxprocs = 3i32;
        let mut m2 = [0u8; 64];
        put(&mut m2, 40, 30);
        let mut m1 = [0u8; 64];
        put(&mut m1, 8, m2.as_ptr() as u64);
        put(&mut m1, 40, 12);
        let allm = m1.as_ptr() as u64;
        let reader = RuntimeStatsReader::new(
            std::process::id(),
            RuntimeStatsAddresses {
                sched: sched.as_ptr() as u64,
                gomaxprocs: &gomaxprocs as *const i32 as u64,
                memstats: Some(memstats.as_ptr() as u64),
                allm: Some(&allm as *const u64 as u64),
            },
            offsets,
        )
        .unwrap();
        let s = reader.read(77).unwrap();
        assert_eq!(s.ts_ns, 77);
        assert_eq!(s.goid_generator, 4242);
        assert_eq!(s.threads, 7);
        assert_eq!(s.mutex_wait_ns, Some(1_000_000));
        assert_eq!(s.runtime_lock_wait_ns, Some(542));
        assert!(s.runtime_lock_wait_per_m);
        assert_eq!(s.total_mutex_wait_ns(), Some(1_000_542));
        assert_eq!(s.gc_cycles, Some(12));
        assert_eq!(s.forced_gc_cycles, Some(2));
        assert_eq!(s.gomaxprocs, 3);
        let lat = &s.sched_latencies.counts;
        assert_eq!(lat.len(), 162);
        assert_eq!(
            (lat[0], lat[6], lat[161], s.sched_latencies.total()),
            (3, 7, 1, 11)
        );
        assert_eq!(s.stw_total_gc.as_ref().unwrap().counts[21], 11);
        assert_eq!(s.stw_stopping_gc.as_ref().unwrap().total(), 0);
    }

    #[test]
    fn layouts_that_do_not_fit_are_refused() {
        let mut l = layout();
        l.structs.get_mut("runtime.timeHistogram").unwrap().size = 100;
        assert!(RuntimeStatsOffsets::from_layout(&l).is_err());
        let mut l = layout();
        l.constants.time_histogram.clear();
        assert!(RuntimeStatsOffsets::from_layout(&l).is_err());
        let mut l = layout();
        l.structs.get_mut("runtime.schedt").unwrap().size = 200;
        let offsets = RuntimeStatsOffsets::from_layout(&l).unwrap();
        let addrs = RuntimeStatsAddresses {
            sched: 0,
            gomaxprocs: 0,
            memstats: None,
            allm: None,
        };
        assert!(RuntimeStatsReader::new(1, addrs, offsets).is_err());
    }

    #[test]
    fn unmapped_addresses_are_an_error() {
        let offsets = RuntimeStatsOffsets::from_layout(&layout()).unwrap();
        let reader = RuntimeStatsReader::new(
            std::process::id(),
            RuntimeStatsAddresses {
                sched: 8,
                gomaxprocs: 16,
                memstats: None,
                allm: None,
            },
            offsets,
        )
        .unwrap();
        assert!(reader.read(0).is_err());
    }
}
