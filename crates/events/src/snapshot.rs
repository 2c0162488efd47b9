//! [`GoroutineSnapshot`]: every goroutine of the target at one moment, read from the runtime's
//! memory (`runtime.allgs`, procstat's `goroutines.rs`) rather than from the event stream, so the
//! goroutines that never run while goroscope watches (leaked, stuck) are known too. Values stay
//! raw (status, wait reason, pcs), like the events', so a recording can be reinterpreted later;
//! a recording stores snapshots in their own chunks (docs/recording-format.md).

use serde::{Deserialize, Serialize};

use crate::{GState, GStatus};

/// All goroutines the runtime held at `ts_ns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoroutineSnapshot {
    /// CLOCK_MONOTONIC ns when the read started (the runtime's `nanotime` is the same clock).
    pub ts_ns: u64,
    /// How long the read took, ns.
    pub read_ns: u64,
    /// `allglen`: gs the runtime had ever allocated (dead ones included) when read.
    pub allglen: u64,
    /// The read did not finish (the target exited, or memory became unreadable mid-way): the
    /// goroutines listed are real, but some are missing.
    #[serde(default)]
    pub partial: bool,
    /// gs read that were dead (`_Gdead`: free for reuse), not listed.
    pub dead: u64,
    /// gs left out because what was read did not hold together (a g freed and reused while
    /// being read, a status or wait reason out of range, a pointer outside the target's memory).
    pub skipped: u64,
    /// Every live goroutine, in `allgs` order.
    pub goroutines: Vec<SnapshotGoroutine>,
    /// In a recording: more goroutines of this snapshot follow in the next chunk (a snapshot
    /// of many goroutines spans several chunks, each under the chunk size limit; the reader
    /// joins them). Always false in a joined snapshot.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continues: bool,
}

/// Part of a [`GoroutineSnapshot`] as one recording chunk stores it: the snapshot's fields with
/// a slice of its goroutines (serialises exactly as a `GoroutineSnapshot` holding that slice).
#[derive(Debug, Serialize)]
pub struct GoroutineSnapshotPart<'a> {
    pub ts_ns: u64,
    pub read_ns: u64,
    pub allglen: u64,
    pub partial: bool,
    pub dead: u64,
    pub skipped: u64,
    pub goroutines: &'a [SnapshotGoroutine],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub continues: bool,
}

impl GoroutineSnapshot {
    /// The snapshot cut into parts of at most `per_part` goroutines (at least one part, even
    /// with no goroutines); every part but the last `continues`.
    pub fn parts(&self, per_part: usize) -> Vec<GoroutineSnapshotPart<'_>> {
        let slices: Vec<&[SnapshotGoroutine]> = if self.goroutines.is_empty() {
            vec![&[]]
        } else {
            self.goroutines.chunks(per_part.max(1)).collect()
        };
        let last = slices.len() - 1;
        slices
            .into_iter()
            .enumerate()
            .map(|(i, goroutines)| GoroutineSnapshotPart {
                ts_ns: self.ts_ns,
                read_ns: self.read_ns,
                allglen: self.allglen,
                partial: self.partial,
                dead: self.dead,
                skipped: self.skipped,
                goroutines,
                continues: i < last,
            })
            .collect()
    }
}

/// One goroutine as the runtime's `g` said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotGoroutine {
    pub goid: u64,
    /// Raw `g.atomicstatus` (decode with [`GStatus`]).
    pub status: u32,
    /// Raw `g.waitreason` (meaningful while waiting).
    pub wait_reason: u8,
    /// `g.waitsince`: CLOCK_MONOTONIC ns of the first GC that saw it blocked (the runtime sets it
    /// no earlier; 0: not known).
    pub wait_since_ns: u64,
    /// `g.gopc`: the return address of the `go` statement's call (0 for the main goroutine's
    /// start-up and some runtime goroutines).
    pub creation_pc: u64,
    /// `g.startpc`: the function it started with (since Go 1.21 often a `…gowrapN` wrapper).
    pub start_pc: u64,
    /// `g.parentGoid` (Go 1.21+; None before).
    #[serde(default)]
    pub parent_goid: Option<u64>,
    /// The id of the M it is locked to (`LockOSThread`), if any.
    #[serde(default)]
    pub locked_m: Option<i64>,
    /// For a goroutine not running: its user stack where it stopped (innermost first; return
    /// addresses, from the saved `sched.pc` and a frame-pointer walk), at most
    /// [`MAX_STACK_DEPTH`] frames. Empty for running goroutines.
    #[serde(default)]
    pub stack: Vec<u64>,
}

/// Frames kept per goroutine stack.
pub const MAX_STACK_DEPTH: usize = 32;

impl SnapshotGoroutine {
    pub fn gstatus(&self) -> GStatus {
        GStatus(self.status)
    }

    /// The base state (`None` for a value no Go version defines; readers never keep those).
    pub fn state(&self) -> Option<GState> {
        self.gstatus().state()
    }
}
