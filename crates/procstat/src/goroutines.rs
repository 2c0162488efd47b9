//! Goroutine snapshots: every goroutine of a running Go program, read from the runtime's memory
//! (`runtime.allglen`, `runtime.allgs`, then each `g`) with a few batched `process_vm_readv`
//! calls and no stop of the target — so the goroutines that never run while goroscope watches
//! are seen too.
//!
//! The target keeps running, so reads can tear: `allgs` may be reallocated, a g freed and reused,
//! a stack unwound, between two reads. Every g is validated (status and wait reason in range,
//! goid plausible and unchanged when read again, pcs in executable mappings, stack pointers
//! inside the g's own stack) and what does not hold together is counted as skipped, never shown.
//! Stacks come from the saved `g.sched` (pc, bp) of goroutines that are not running, walking the
//! frame pointers Go keeps on amd64, one batched read per depth for all goroutines at once.

use std::collections::HashMap;

use goinspect::{Inspection, RuntimeLayout};
use goroscope_events::{GState, GStatus, GoroutineSnapshot, SnapshotGoroutine, MAX_STACK_DEPTH};

use crate::error::{Error, Result};
use crate::memory::{mapped, read_all, read_coalesced, Mapping, Memory};

/// More gs than this in `allgs` is a torn read or a broken address, not a program.
const MAX_GS: u64 = 50_000_000;
/// Goids are allocated from a counter; one this large is garbage.
const MAX_GOID: u64 = 1 << 48;
/// A goroutine stack larger than this (the runtime's default max is 1 GB) is garbage.
const MAX_STACK_BYTES: u64 = 1 << 30;
/// gs read and decoded together.
const BATCH: usize = 8192;
/// Bytes of each stopped goroutine's stack read at once from its saved frame pointer: a parked
/// goroutine's frames up to its start usually fit.
const STACK_WINDOW: u64 = 1024;

/// Run-time addresses (load bias added) of the two globals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllgsAddresses {
    /// `runtime.allgs`: a `[]*g` (pointer, length, capacity).
    pub allgs: u64,
    /// `runtime.allglen`: `len(allgs)`, stored atomically after each append.
    pub allglen: u64,
}

impl AllgsAddresses {
    /// The executable `insp` describes, mapped at `bias`.
    pub fn at_load_bias(insp: &Inspection, bias: u64) -> Result<Self> {
        let need = |addr: Option<u64>, what: &str| {
            addr.and_then(|a| a.checked_add(bias)).ok_or_else(|| {
                Error::Layout(format!(
                    "the address of {what} is unknown for {}",
                    insp.path
                ))
            })
        };
        Ok(AllgsAddresses {
            allgs: need(insp.layout.allgs_address, "runtime.allgs")?,
            allglen: need(insp.layout.allglen_address, "runtime.allglen")?,
        })
    }
}

/// Offsets of what is read from a `runtime.g` (and `runtime.m.id` for locked goroutines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GOffsets {
    pub stack_lo: u64,
    pub stack_hi: u64,
    pub sched_sp: u64,
    pub sched_pc: u64,
    pub sched_bp: u64,
    pub atomicstatus: u64,
    pub goid: u64,
    pub waitsince: u64,
    pub waitreason: u64,
    pub lockedm: u64,
    /// Go 1.21+.
    pub parent_goid: Option<u64>,
    pub gopc: u64,
    pub startpc: u64,
    /// `runtime.m.id`.
    pub m_id: u64,
}

impl GOffsets {
    /// From goinspect's layout (DWARF or the per-version table).
    pub fn from_layout(layout: &RuntimeLayout) -> Result<Self> {
        let field = |s: &str, f: &str| {
            layout
                .structs
                .get(s)
                .and_then(|l| l.fields.get(f))
                .copied()
                .ok_or_else(|| Error::Layout(format!("the layout has no {s}.{f}")))
        };
        let g = |f: &str| field("runtime.g", f);
        let (stack, sched) = (g("stack")?, g("sched")?);
        Ok(GOffsets {
            stack_lo: stack + field("runtime.stack", "lo")?,
            stack_hi: stack + field("runtime.stack", "hi")?,
            sched_sp: sched + field("runtime.gobuf", "sp")?,
            sched_pc: sched + field("runtime.gobuf", "pc")?,
            sched_bp: sched + field("runtime.gobuf", "bp")?,
            atomicstatus: g("atomicstatus")?,
            goid: g("goid")?,
            waitsince: g("waitsince")?,
            waitreason: g("waitreason")?,
            lockedm: g("lockedm")?,
            parent_goid: g("parentGoid").ok(),
            gopc: g("gopc")?,
            startpc: g("startpc")?,
            m_id: field("runtime.m", "id")?,
        })
    }

    /// The bytes of a g read in one piece: from the lowest offset to past the highest 8-byte
    /// field.
    fn span(&self) -> (u64, usize) {
        let all = [
            self.stack_lo,
            self.stack_hi,
            self.sched_sp,
            self.sched_pc,
            self.sched_bp,
            self.atomicstatus,
            self.goid,
            self.waitsince,
            self.waitreason,
            self.lockedm,
            self.parent_goid.unwrap_or(self.goid),
            self.gopc,
            self.startpc,
        ];
        let lo = all.iter().copied().min().unwrap_or(0);
        let hi = all.iter().copied().max().unwrap_or(0) + 8;
        (lo, (hi - lo) as usize)
    }
}

/// Reads [`GoroutineSnapshot`]s from one process's memory.
#[derive(Debug, Clone)]
pub struct GoroutineReader<M: Memory> {
    memory: M,
    addresses: AllgsAddresses,
    offsets: GOffsets,
    /// Raw wait reasons at or above this are out of range for the target's Go version.
    wait_reasons: u64,
    span_start: u64,
    span_len: usize,
}

impl<M: Memory> GoroutineReader<M> {
    /// `wait_reasons`: how many wait reasons the target's Go version defines (the layout's
    /// `constants.wait_reasons`). Refuses offsets that are absurd for a g.
    pub fn new(
        memory: M,
        addresses: AllgsAddresses,
        offsets: GOffsets,
        wait_reasons: u64,
    ) -> Result<Self> {
        let (span_start, span_len) = offsets.span();
        if span_len > 4096 || wait_reasons == 0 {
            return Err(Error::Layout(format!(
                "g fields span {span_len} bytes, {wait_reasons} wait reasons"
            )));
        }
        Ok(GoroutineReader {
            memory,
            addresses,
            offsets,
            wait_reasons,
            span_start,
            span_len,
        })
    }

    /// Reads every goroutine now; `now` gives CLOCK_MONOTONIC ns (stamps the snapshot and times
    /// the read). An error means nothing usable could be read (the process is gone, or the
    /// globals do not hold together); a read cut short later gives a snapshot marked `partial`.
    pub fn snapshot(&self, now: &dyn Fn() -> u64) -> Result<GoroutineSnapshot> {
        let ts_ns = now();
        let maps = self.memory.mappings()?;
        let (allglen, gps) = self.read_allgs(&maps)?;
        let mut snap = GoroutineSnapshot {
            ts_ns,
            allglen,
            ..GoroutineSnapshot::default()
        };
        // In batches, so the bytes read for gs and stack tops stay a few MB whatever the count.
        for batch in gps.chunks(BATCH) {
            let mut kept = self.read_gs(batch, &maps, &mut snap);
            let before = kept.len();
            self.drop_reused(&mut kept, &mut snap.partial);
            snap.skipped += (before - kept.len()) as u64;
            self.resolve_locked_ms(&mut kept, &maps);
            self.walk_stacks(&mut kept, &maps);
            snap.goroutines.extend(kept.into_iter().map(|(g, _)| g));
            if snap.partial {
                break;
            }
        }
        snap.read_ns = now().saturating_sub(ts_ns);
        Ok(snap)
    }

    /// `allglen`, then the g pointers of `allgs[:allglen]`.
    fn read_allgs(&self, maps: &[Mapping]) -> Result<(u64, Vec<u64>)> {
        let mut len_buf = [0u8; 8];
        let mut slice = [0u8; 24];
        let mut pieces: [(u64, &mut [u8]); 2] = [
            (self.addresses.allglen, &mut len_buf[..]),
            (self.addresses.allgs, &mut slice[..]),
        ];
        if self.memory.read_pieces(&mut pieces)? != 2 {
            return Err(Error::Layout("runtime.allgs/allglen unreadable".into()));
        }
        let allglen = u64::from_ne_bytes(len_buf);
        let (ptr, len) = (word(&slice, 0), word(&slice, 8));
        // allglen is published after the append: never more than len(allgs), except when the
        // slice header itself was read mid-append.
        let n = allglen.min(len);
        if n == 0 {
            return Ok((allglen, Vec::new()));
        }
        if n > MAX_GS || !mapped(maps, ptr, n * 8, |m| m.readable) {
            return Err(Error::Layout(format!(
                "runtime.allgs does not hold together ({n} gs at {ptr:#x})"
            )));
        }
        let mut array = vec![0u8; (n * 8) as usize];
        let mut pieces: [(u64, &mut [u8]); 1] = [(ptr, &mut array[..])];
        if self.memory.read_pieces(&mut pieces)? != 1 {
            return Err(Error::Layout("the allgs array is unreadable".into()));
        }
        Ok((allglen, array.chunks_exact(8).map(|c| word(c, 0)).collect()))
    }

    /// Reads and decodes every g: live ones kept with where their stack walk starts, dead ones
    /// and what does not hold together (pointers outside readable memory, unreadable gs,
    /// values out of range) counted.
    fn read_gs(
        &self,
        gps: &[u64],
        maps: &[Mapping],
        snap: &mut GoroutineSnapshot,
    ) -> Vec<(SnapshotGoroutine, Frames)> {
        let mut addrs = Vec::with_capacity(gps.len());
        for &addr in gps {
            let ok = addr
                .checked_add(self.span_start)
                .is_some_and(|a| mapped(maps, a, self.span_len as u64, |m| m.readable));
            if ok {
                addrs.push(addr);
            } else {
                snap.skipped += 1;
            }
        }
        let ranges: Vec<(u64, usize)> = addrs
            .iter()
            .map(|a| (a + self.span_start, self.span_len))
            .collect();
        let read = read_coalesced(&self.memory, &ranges);
        snap.partial |= read.cut_short;
        let mut kept = Vec::with_capacity(addrs.len());
        for (i, &addr) in addrs.iter().enumerate() {
            let Some(bytes) = read.get(i) else {
                // Unreadable, or not tried because the process went away (then `partial`).
                if !read.cut_short {
                    snap.skipped += 1;
                }
                continue;
            };
            match self.decode(addr, bytes, maps) {
                Decoded::Live(g, frames) => kept.push((g, frames)),
                Decoded::Dead => snap.dead += 1,
                Decoded::Invalid => snap.skipped += 1,
            }
        }
        kept
    }

    fn decode(&self, addr: u64, bytes: &[u8], maps: &[Mapping]) -> Decoded {
        let o = &self.offsets;
        let at = |off: u64| word(bytes, (off - self.span_start) as usize);
        let status = u32::try_from(at(o.atomicstatus) & 0xffff_ffff).unwrap_or(u32::MAX);
        let state = match GStatus(status).state() {
            Some(GState::Dead | GState::Idle | GState::DeadExtra) => return Decoded::Dead,
            Some(GState::MoribundUnused | GState::EnqueueUnused) | None => return Decoded::Invalid,
            Some(s) => s,
        };
        let goid = at(o.goid);
        let wait_reason = u64::from(bytes[(o.waitreason - self.span_start) as usize]);
        let (lo, hi) = (at(o.stack_lo), at(o.stack_hi));
        let code = |pc: u64| mapped(maps, pc, 1, |m| m.executable);
        let valid = goid > 0
            && goid < MAX_GOID
            && (state != GState::Waiting || wait_reason < self.wait_reasons)
            && lo < hi
            && hi - lo <= MAX_STACK_BYTES
            && (at(o.gopc) == 0 || code(at(o.gopc)))
            && code(at(o.startpc));
        if !valid {
            return Decoded::Invalid;
        }
        // Where it stopped, if it is not on a CPU (a running g's sched is stale).
        let stopped = matches!(
            state,
            GState::Waiting | GState::Runnable | GState::Preempted
        );
        let (sp, pc, bp) = (at(o.sched_sp), at(o.sched_pc), at(o.sched_bp));
        let frames = if stopped && sp >= lo && sp < hi && code(pc) {
            Frames {
                g_addr: addr,
                first_pc: Some(pc),
                bp,
                lo,
                hi,
            }
        } else {
            Frames {
                g_addr: addr,
                ..Frames::default()
            }
        };
        Decoded::Live(
            SnapshotGoroutine {
                goid,
                status,
                wait_reason: if state == GState::Waiting {
                    wait_reason as u8
                } else {
                    0
                },
                wait_since_ns: at(o.waitsince),
                creation_pc: at(o.gopc),
                start_pc: at(o.startpc),
                parent_goid: o.parent_goid.map(at),
                locked_m: Some(at(o.lockedm)).filter(|&m| m != 0).map(|m| m as i64),
                stack: Vec::new(),
            },
            frames,
        )
    }

    /// Reads each kept g's goid again: a g freed and reused while it was read (or read
    /// mid-reuse) now has another goid, and what was read of it is a mix of two goroutines.
    fn drop_reused(&self, kept: &mut Vec<(SnapshotGoroutine, Frames)>, partial: &mut bool) {
        let ranges: Vec<(u64, usize)> = kept
            .iter()
            .map(|(_, f)| (f.g_addr + self.offsets.goid, 8))
            .collect();
        let read = read_coalesced(&self.memory, &ranges);
        *partial |= read.cut_short;
        let mut i = 0;
        kept.retain(|(g, _)| {
            let same = read.get(i).is_some_and(|b| word(b, 0) == g.goid);
            i += 1;
            same
        });
    }

    /// `locked_m` holds the m's address until here; it becomes the m's id (or None when that
    /// cannot be read).
    fn resolve_locked_ms(&self, kept: &mut [(SnapshotGoroutine, Frames)], maps: &[Mapping]) {
        let mut ids: HashMap<u64, Option<i64>> = HashMap::new();
        for (g, _) in kept.iter() {
            if let Some(m) = g.locked_m {
                ids.insert(m as u64, None);
            }
        }
        let mut ms: Vec<(u64, [u8; 8])> = ids
            .keys()
            .filter(|&&m| mapped(maps, m + self.offsets.m_id, 8, |x| x.readable))
            .map(|&m| (m, [0u8; 8]))
            .collect();
        let m_id = self.offsets.m_id;
        let read = read_all(&self.memory, &mut ms, |(m, buf)| (*m + m_id, &mut buf[..]));
        for (i, (m, buf)) in ms.iter().enumerate().take(read.done) {
            if !read.unreadable.contains(&i) {
                ids.insert(*m, Some(i64::from_ne_bytes(*buf)));
            }
        }
        for (g, _) in kept.iter_mut() {
            g.locked_m = g
                .locked_m
                .and_then(|m| ids.get(&(m as u64)).copied().flatten());
        }
    }

    /// Frame-pointer walks of every stopped goroutine: at `bp` Go keeps the caller's bp and, 8
    /// bytes above, the return address. The top of each stack (from the saved bp, up to
    /// [`STACK_WINDOW`] bytes) is read in one coalesced batch for all goroutines and walked
    /// locally; frames beyond it are read one batch per depth.
    fn walk_stacks(&self, kept: &mut [(SnapshotGoroutine, Frames)], maps: &[Mapping]) {
        let code = |pc: u64| mapped(maps, pc, 1, |m| m.executable);
        let walking = |f: &Frames| f.bp >= f.lo && f.bp.saturating_add(16) <= f.hi;
        let mut windows: Vec<(usize, u64, usize)> = Vec::new();
        for (i, (g, f)) in kept.iter_mut().enumerate() {
            if let Some(pc) = f.first_pc {
                g.stack.push(pc);
                if walking(f) {
                    let len = (f.hi - f.bp).min(STACK_WINDOW) as usize;
                    windows.push((i, f.bp, len));
                }
            }
        }
        let ranges: Vec<(u64, usize)> = windows.iter().map(|&(_, at, len)| (at, len)).collect();
        let read = read_coalesced(&self.memory, &ranges);
        for (n, &(i, start, len)) in windows.iter().enumerate() {
            let (g, f) = &mut kept[i];
            let Some(window) = read.get(n) else {
                f.bp = 0;
                continue;
            };
            // Walk inside the window while the frames are there.
            while g.stack.len() < MAX_STACK_DEPTH && walking(f) && f.bp + 16 <= start + len as u64 {
                let at = (f.bp - start) as usize;
                let (next, ret) = (word(window, at), word(window, at + 8));
                step(g, f, next, ret, &code);
            }
        }
        // Deeper frames: one batch per depth.
        loop {
            let mut reads: Vec<(usize, u64, [u8; 16])> = kept
                .iter()
                .enumerate()
                .filter(|(_, (g, f))| g.stack.len() < MAX_STACK_DEPTH && f.bp != 0 && walking(f))
                .map(|(i, (_, f))| (i, f.bp, [0u8; 16]))
                .collect();
            if reads.is_empty() {
                break;
            }
            let read = read_all(&self.memory, &mut reads, |(_, bp, buf)| (*bp, &mut buf[..]));
            for (n, (i, _, buf)) in reads.iter().enumerate() {
                let (g, f) = &mut kept[*i];
                if n < read.done && read.unreadable.binary_search(&n).is_err() {
                    step(g, f, word(buf, 0), word(buf, 8), &code);
                } else {
                    f.bp = 0;
                }
            }
        }
    }
}

/// One frame of a walk: keeps `ret` if it is code and moves to `next`; frames grow down, so
/// the caller's frame is above — anything else (or a return address that is not code: the
/// stack moved on) ends the walk.
fn step(
    g: &mut SnapshotGoroutine,
    f: &mut Frames,
    next: u64,
    ret: u64,
    code: &dyn Fn(u64) -> bool,
) {
    if code(ret) {
        g.stack.push(ret);
        f.bp = if next > f.bp { next } else { 0 };
    } else {
        f.bp = 0;
    }
}

/// A kept g's address and where its frame-pointer walk stands (a running g has no walk).
#[derive(Debug, Clone, Copy, Default)]
struct Frames {
    g_addr: u64,
    first_pc: Option<u64>,
    bp: u64,
    lo: u64,
    hi: u64,
}

enum Decoded {
    Live(SnapshotGoroutine, Frames),
    Dead,
    Invalid,
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = bytes.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    u64::from_ne_bytes(w)
}

#[cfg(test)]
#[path = "goroutines_tests.rs"]
mod tests;
