//! The trace's tracks: their uuids (one numbering per kind of track, so a P, a thread and a
//! goroutine never collide) and descriptors, each written once, before the first event on it.

use std::collections::HashSet;
use std::io::Write;

use goroscope_analysis::timeline::CounterKind;

use super::packets::Packets;
use crate::proto::perfetto::{
    counter_descriptor, track_descriptor, CounterDescriptor, ProcessDescriptor, ThreadDescriptor,
    TrackDescriptor,
};

/// A track of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// The traced process (parent of every other track but the threads').
    Process,
    /// A P: which goroutine it ran.
    Proc(i32),
    /// A kernel thread: on and off CPU, switches, signals.
    Thread(u32),
    /// A thread's kernel system calls (a child of its thread track: they overlap its on/off
    /// CPU slices without nesting in them).
    Syscalls(u32),
    /// A goroutine: its states, preemptions, the flows it starts and ends.
    Goroutine(u64),
    Counter(CounterKind),
    /// Process-wide events: stop-the-world, GC starts.
    Scheduler,
}

impl Track {
    pub fn uuid(self) -> u64 {
        match self {
            Track::Process => 1,
            Track::Proc(p) => (1 << 40) | u64::from(p as u32),
            Track::Thread(tid) => (2 << 40) | u64::from(tid),
            Track::Syscalls(tid) => (3 << 40) | u64::from(tid),
            Track::Counter(kind) => (4 << 40) | kind as u64,
            Track::Scheduler => 5 << 40,
            // Goids stay far below 2^56.
            Track::Goroutine(goid) => (1 << 56) | goid,
        }
    }
}

/// The tracks declared so far.
#[derive(Debug, Default)]
pub struct Tracks {
    declared: HashSet<Track>,
    pub pid: i32,
}

impl Tracks {
    /// Declares `track` if new; `name` is asked only then.
    pub fn declare<W: Write>(
        &mut self,
        out: &mut Packets<W>,
        track: Track,
        name: impl FnOnce() -> String,
    ) {
        if !self.declared.insert(track) {
            return;
        }
        let mut d = TrackDescriptor {
            uuid: Some(track.uuid()),
            ..Default::default()
        };
        match track {
            Track::Process => {
                d.process = Some(ProcessDescriptor {
                    pid: Some(self.pid),
                    cmdline: vec![],
                    process_name: Some(name()),
                });
                d.child_ordering = Some(track_descriptor::ChildTracksOrdering::Explicit as i32);
            }
            Track::Thread(tid) => {
                d.thread = Some(ThreadDescriptor {
                    pid: Some(self.pid),
                    tid: Some(tid as i32),
                    thread_name: Some(name()),
                });
            }
            Track::Counter(_) => {
                d.parent_uuid = Some(Track::Process.uuid());
                d.static_or_dynamic_name =
                    Some(track_descriptor::StaticOrDynamicName::Name(name()));
                d.counter = Some(CounterDescriptor {
                    unit: Some(counter_descriptor::Unit::Count as i32),
                    is_incremental: None,
                });
            }
            _ => {
                let (parent, rank) = match track {
                    Track::Syscalls(tid) => (Track::Thread(tid), 0),
                    Track::Scheduler => (Track::Process, 0),
                    Track::Proc(p) => (Track::Process, 1 + p),
                    // After the Ps, in goid order within i32.
                    Track::Goroutine(goid) => (
                        Track::Process,
                        100_000
                            + i32::try_from(goid)
                                .unwrap_or(i32::MAX - 100_000)
                                .min(i32::MAX - 100_000),
                    ),
                    _ => (Track::Process, 0),
                };
                d.parent_uuid = Some(parent.uuid());
                d.sibling_order_rank = Some(rank);
                d.static_or_dynamic_name =
                    Some(track_descriptor::StaticOrDynamicName::Name(name()));
            }
        }
        out.descriptor(d);
    }
}
