//! The one place raw ABI records become typed events: ring-buffer bytes → a checked
//! `goroscope_abi` struct (length, type tag, declared size), a [`Record`] → a
//! `goroscope_events::Event`. Nothing downstream sees the ABI structs.
//!
//! The bytes come from our own BPF programs, but are still checked like untrusted input: a short
//! record, an unknown type, a size that disagrees with the type or an impossible value is a
//! [`DecodeError`], never a panic. Format: crates/abi/include/goroscope.h.

// Re-exported so users of the tracer name these types without depending on the crates.
pub use goroscope_abi as abi;
use goroscope_abi::EventType;
pub use goroscope_events as events;
use goroscope_events::{Event, EventKind};

/// A record from the ring buffer, checked and typed, still in ABI form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    GoCreate(abi::GoCreate),
    GoStatus(abi::GoStatus),
    GoStart(abi::GoStart),
    GoPark(abi::GoPark),
    GoReady(abi::GoReady),
    GoYield(abi::GoYield),
    GoExit(abi::GoExit),
    MStart(abi::MEvent),
    MExit(abi::MEvent),
    ThreadFork(abi::ThreadFork),
    ThreadExit(abi::ThreadExit),
    Switch(abi::Switch),
    Wakeup(abi::Wakeup),
    /// One of the scheduler events that share `struct gs_ev_sched` (the type says which).
    Sched(EventType, abi::Sched),
    KernelSyscall(abi::KernelSyscall),
    /// `SignalGenerate` or `SignalDeliver`.
    Signal(EventType, abi::Signal),
    MPark(abi::MEvent),
    GoSample(abi::GoSample),
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record of {0} bytes is shorter than an event header")]
    Short(usize),
    #[error("unknown event type {0}")]
    UnknownType(u16),
    #[error("{kind:?} record: header says {declared} bytes, the type has {expected}, got {got}")]
    BadSize {
        kind: EventType,
        declared: u16,
        expected: usize,
        got: usize,
    },
    #[error("{kind:?} record: {field} = {value} is out of range")]
    BadValue {
        kind: EventType,
        field: &'static str,
        value: u64,
    },
}

/// Decodes one ring-buffer record into an event.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    to_event(&decode_record(bytes)?)
}

/// Turns a checked record into the typed event.
pub fn to_event(record: &Record) -> Result<Event, DecodeError> {
    let h = record.header();
    let mut tid = h.tid;
    let kind = match *record {
        Record::GoCreate(e) => EventKind::GoCreate {
            goid: e.goid,
            parent_goid: e.parent_goid,
            creation_pc: e.creation_pc,
            start_pc: e.start_pc,
            p_id: e.p_id,
        },
        Record::GoStatus(e) => EventKind::GoStatus {
            goid: e.goid,
            from: e.old_status,
            to: e.new_status,
        },
        Record::GoStart(e) => EventKind::GoStart {
            goid: e.goid,
            p_id: e.p_id,
            m_id: e.m_id,
            inherit_time: e.flags & abi::START_INHERIT_TIME != 0,
            locked: e.flags & abi::START_LOCKED != 0,
        },
        Record::GoPark(e) => EventKind::GoPark {
            goid: e.goid,
            stack_id: u32::try_from(e.stack_id).ok(),
            wait_reason: u8::try_from(e.wait_reason).map_err(|_| DecodeError::BadValue {
                kind: EventType::GoPark,
                field: "wait_reason",
                value: e.wait_reason.into(),
            })?,
        },
        Record::GoReady(e) => EventKind::GoReady {
            goid: e.goid,
            by_goid: e.waker_goid,
            p_id: e.p_id,
            next: e.next != 0,
        },
        Record::GoYield(e) => EventKind::GoYield {
            goid: e.goid,
            preempted: match e.preempted {
                0 => Some(false),
                1 => Some(true),
                abi::PREEMPTED_UNKNOWN => None,
                other => {
                    return Err(DecodeError::BadValue {
                        kind: EventType::GoYield,
                        field: "preempted",
                        value: other.into(),
                    })
                }
            },
        },
        Record::GoExit(e) => EventKind::GoExit {
            goid: e.goid,
            locked: e.locked != 0,
        },
        Record::MStart(e) => EventKind::MStart { m_id: e.m_id },
        Record::MExit(e) => EventKind::MExit { m_id: e.m_id },
        Record::ThreadFork(e) => {
            tid = e.parent_tid;
            EventKind::ThreadFork {
                child_tid: e.child_tid,
            }
        }
        Record::ThreadExit(e) => {
            tid = e.exit_tid;
            EventKind::ThreadExit
        }
        Record::Switch(e) => EventKind::Switch {
            prev_tid: e.prev_tid,
            next_tid: e.next_tid,
            // A preempted task counts as still running (TASK_RUNNING, 0) whatever state it
            // was preparing to sleep in, as the kernel's own sched_switch format reports it.
            prev_state: if e.flags & abi::SWITCH_PREEMPT != 0 {
                0
            } else {
                e.prev_state.into()
            },
            prev_in_target: e.flags & abi::SWITCH_PREV_OURS != 0,
            next_in_target: e.flags & abi::SWITCH_NEXT_OURS != 0,
        },
        Record::Wakeup(e) => EventKind::Wakeup {
            target_tid: e.woken_tid,
            waker_tid: h.tid,
        },
        Record::Sched(kind, e) => sched_kind(kind, &e)?,
        Record::KernelSyscall(e) => EventKind::KernelSyscall {
            nr: e.nr,
            ret: e.ret,
            duration_ns: e.duration_ns,
        },
        Record::Signal(EventType::SignalGenerate, e) => EventKind::SignalSend {
            sig: e.sig,
            target_tid: e.target_tid,
            result: e.result,
        },
        Record::Signal(_, e) => EventKind::SignalDeliver { sig: e.sig },
        Record::MPark(e) => EventKind::MPark { m_id: e.m_id },
        // The stop stack's frames stay in the record: the tracer interns them into its stack
        // table (`sample_frames`) and sets `stack_id`.
        Record::GoSample(e) => EventKind::GoSample {
            goid: e.goid,
            creation_pc: e.creation_pc,
            start_pc: e.start_pc,
            runnable_ns: e.runnable_ns,
            p_id: e.p_id,
            m_id: e.m_id,
            wait_reason: u8::try_from(e.wait_reason).map_err(|_| DecodeError::BadValue {
                kind: EventType::GoSample,
                field: "wait_reason",
                value: e.wait_reason.into(),
            })?,
            first_run: e.flags & abi::SAMPLE_FIRST_RUN != 0,
            locked: e.flags & abi::SAMPLE_LOCKED != 0,
            stack_id: None,
            stack_cut: e.flags & abi::SAMPLE_STACK_CUT != 0,
        },
    };
    Ok(Event {
        ts_ns: h.ts_ns,
        cpu: h.cpu,
        tid,
        kind,
    })
}

/// The event behind a `struct gs_ev_sched` of type `kind` (field meanings: goroscope.h).
fn sched_kind(kind: EventType, e: &abi::Sched) -> Result<EventKind, DecodeError> {
    let has = |bit: u32| e.flags & bit != 0;
    let narrow = |field: &'static str| DecodeError::BadValue {
        kind,
        field,
        value: e.value,
    };
    Ok(match kind {
        EventType::Steal => EventKind::Steal {
            thief_p: e.p_id,
            victim_p: e.p_id2,
            queued: u32::try_from(e.value).map_err(|_| narrow("value"))?,
            runnext: has(abi::SCHED_RUNNEXT),
        },
        EventType::PreemptRequest => EventKind::PreemptRequest {
            goid: e.goid,
            p_id: e.p_id,
            by_sysmon: has(abi::SCHED_BY_SYSMON),
        },
        EventType::AsyncPreempt => EventKind::AsyncPreempt {
            goid: e.goid,
            stack_id: u32::try_from(e.value).ok(),
        },
        EventType::PreemptPark => EventKind::GoPreemptPark { goid: e.goid },
        EventType::SyscallEnter => EventKind::SyscallEnter {
            goid: e.goid,
            blocking: has(abi::SCHED_BLOCKING),
        },
        EventType::SyscallExit => EventKind::SyscallExit {
            goid: e.goid,
            lost_p: has(abi::SCHED_LOST_P),
        },
        EventType::Handoff => EventKind::Handoff {
            p_id: e.p_id,
            caller_goid: e.goid,
            caller_has_p: has(abi::SCHED_CALLER_HAS_P),
            caller_locked: has(abi::SCHED_CALLER_LOCKED),
        },
        EventType::LockThread => EventKind::LockOSThread { goid: e.goid },
        EventType::UnlockThread => EventKind::UnlockOSThread { goid: e.goid },
        EventType::ProcResize => EventKind::ProcResize {
            nprocs: i32::try_from(e.value as i64).map_err(|_| narrow("value"))?,
        },
        EventType::StwBegin => EventKind::StwBegin {
            reason: if has(abi::SCHED_REASON_KNOWN) {
                Some(u8::try_from(e.value).map_err(|_| narrow("value"))?)
            } else {
                None
            },
        },
        EventType::StwStopped => EventKind::StwStopped,
        EventType::StwEnd => EventKind::StwEnd,
        EventType::GcStart => EventKind::GcStart {
            trigger_kind: u32::try_from(e.value).map_err(|_| narrow("value"))?,
        },
        other => return Err(DecodeError::UnknownType(other as u16)),
    })
}

impl Record {
    /// The common header.
    pub fn header(&self) -> &abi::EventHeader {
        match self {
            Record::GoCreate(e) => &e.h,
            Record::GoStatus(e) => &e.h,
            Record::GoStart(e) => &e.h,
            Record::GoPark(e) => &e.h,
            Record::GoReady(e) => &e.h,
            Record::GoYield(e) => &e.h,
            Record::GoExit(e) => &e.h,
            Record::MStart(e) | Record::MExit(e) => &e.h,
            Record::ThreadFork(e) => &e.h,
            Record::ThreadExit(e) => &e.h,
            Record::Switch(e) => &e.h,
            Record::Wakeup(e) => &e.h,
            Record::Sched(_, e) => &e.h,
            Record::KernelSyscall(e) => &e.h,
            Record::Signal(_, e) => &e.h,
            Record::MPark(e) => &e.h,
            Record::GoSample(e) => &e.h,
        }
    }

    /// A sample's stop stack (innermost first; empty for other records or an unreadable one).
    pub fn sample_frames(&self) -> &[u64] {
        match self {
            Record::GoSample(e) => {
                let n = (e.nframes as usize).min(abi::SAMPLE_DEPTH);
                &e.frames[..n]
            }
            _ => &[],
        }
    }
}

/// Decodes one ring-buffer record. Trailing bytes beyond the declared size are refused too: the
/// ring buffer hands out exactly what was reserved (rounded up to 8, which every event already is).
pub fn decode_record(bytes: &[u8]) -> Result<Record, DecodeError> {
    let header: abi::EventHeader = abi::read(bytes).ok_or(DecodeError::Short(bytes.len()))?;
    let kind = EventType::from_tag(header.kind).ok_or(DecodeError::UnknownType(header.kind))?;
    let expected = kind.event_size();
    if usize::from(header.size) != expected || bytes.len() != expected {
        return Err(DecodeError::BadSize {
            kind,
            declared: header.size,
            expected,
            got: bytes.len(),
        });
    }
    // The length was checked against the type's size, so every read below succeeds.
    let short = || DecodeError::Short(bytes.len());
    Ok(match kind {
        EventType::GoCreate => Record::GoCreate(abi::read(bytes).ok_or_else(short)?),
        EventType::GoStatus => Record::GoStatus(abi::read(bytes).ok_or_else(short)?),
        EventType::GoStart => Record::GoStart(abi::read(bytes).ok_or_else(short)?),
        EventType::GoPark => Record::GoPark(abi::read(bytes).ok_or_else(short)?),
        EventType::GoReady => Record::GoReady(abi::read(bytes).ok_or_else(short)?),
        EventType::GoYield => Record::GoYield(abi::read(bytes).ok_or_else(short)?),
        EventType::GoExit => Record::GoExit(abi::read(bytes).ok_or_else(short)?),
        EventType::MStart => Record::MStart(abi::read(bytes).ok_or_else(short)?),
        EventType::MExit => Record::MExit(abi::read(bytes).ok_or_else(short)?),
        EventType::ThreadFork => Record::ThreadFork(abi::read(bytes).ok_or_else(short)?),
        EventType::ThreadExit => Record::ThreadExit(abi::read(bytes).ok_or_else(short)?),
        EventType::Switch => Record::Switch(abi::read(bytes).ok_or_else(short)?),
        EventType::Wakeup => Record::Wakeup(abi::read(bytes).ok_or_else(short)?),
        EventType::KernelSyscall => Record::KernelSyscall(abi::read(bytes).ok_or_else(short)?),
        EventType::SignalGenerate | EventType::SignalDeliver => {
            Record::Signal(kind, abi::read(bytes).ok_or_else(short)?)
        }
        EventType::MPark => Record::MPark(abi::read(bytes).ok_or_else(short)?),
        EventType::GoSample => Record::GoSample(abi::read(bytes).ok_or_else(short)?),
        // What is left is one of the scheduler events of `struct gs_ev_sched`.
        _ => Record::Sched(kind, abi::read(bytes).ok_or_else(short)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: EventType) -> abi::EventHeader {
        abi::EventHeader {
            ts_ns: 1_000,
            tgid: 77,
            tid: 78,
            cpu: 1,
            kind: kind as u16,
            size: kind.event_size() as u16,
        }
    }

    /// Bytes as the BPF side writes them, built by hand (little-endian fields in C order).
    fn go_create_bytes() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&1_000u64.to_le_bytes()); // ts_ns
        b.extend_from_slice(&77u32.to_le_bytes()); // tgid
        b.extend_from_slice(&78u32.to_le_bytes()); // tid
        b.extend_from_slice(&1u32.to_le_bytes()); // cpu
        b.extend_from_slice(&1u16.to_le_bytes()); // type GS_EV_GO_CREATE
        b.extend_from_slice(&72u16.to_le_bytes()); // size
        b.extend_from_slice(&18u64.to_le_bytes()); // goid
        b.extend_from_slice(&1u64.to_le_bytes()); // parent_goid
        b.extend_from_slice(&0x4a_1234u64.to_le_bytes()); // creation_pc
        b.extend_from_slice(&0x4a_0000u64.to_le_bytes()); // start_pc
        b.extend_from_slice(&(-1i64).to_le_bytes()); // m_id
        b.extend_from_slice(&2i32.to_le_bytes()); // p_id
        b.extend_from_slice(&0u32.to_le_bytes()); // _pad
        b
    }

    #[test]
    fn decodes_a_handmade_go_create() {
        let rec = decode_record(&go_create_bytes()).unwrap();
        let Record::GoCreate(e) = rec else {
            panic!("{rec:?}")
        };
        assert_eq!(e.h, header(EventType::GoCreate));
        assert_eq!(
            (e.goid, e.parent_goid, e.creation_pc, e.start_pc, e.m_id),
            (18, 1, 0x4a_1234, 0x4a_0000, -1)
        );
        assert_eq!(rec.header().tgid, 77);
    }

    #[test]
    fn decodes_every_type_from_its_bytes() {
        let m = abi::MEvent {
            h: header(EventType::MExit),
            m_id: 3,
            procid: 4242,
        };
        assert_eq!(decode_record(abi::bytes_of(&m)), Ok(Record::MExit(m)));
        let m = abi::MEvent {
            h: header(EventType::MStart),
            ..m
        };
        assert_eq!(decode_record(abi::bytes_of(&m)), Ok(Record::MStart(m)));
        let s = abi::Switch {
            h: header(EventType::Switch),
            prev_tid: 1,
            prev_tgid: 2,
            next_tid: 3,
            next_tgid: 4,
            prev_state: 1,
            flags: abi::SWITCH_PREV_OURS,
        };
        assert_eq!(decode_record(abi::bytes_of(&s)), Ok(Record::Switch(s)));
        let w = abi::Wakeup {
            h: header(EventType::Wakeup),
            woken_tid: 5,
            woken_tgid: 6,
            target_cpu: -1,
            flags: abi::WAKEUP_NEW,
        };
        assert_eq!(decode_record(abi::bytes_of(&w)), Ok(Record::Wakeup(w)));
        let p = abi::GoPark {
            h: header(EventType::GoPark),
            goid: 9,
            wait_reason: 14,
            stack_id: 7,
        };
        assert_eq!(decode_record(abi::bytes_of(&p)), Ok(Record::GoPark(p)));
        assert_eq!(
            decode(abi::bytes_of(&p)).map(|e| e.kind),
            Ok(EventKind::GoPark {
                goid: 9,
                wait_reason: 14,
                stack_id: Some(7)
            })
        );
        let no_stack = abi::GoPark {
            stack_id: abi::STACK_NONE,
            ..p
        };
        assert!(matches!(
            decode(abi::bytes_of(&no_stack)).map(|e| e.kind),
            Ok(EventKind::GoPark { stack_id: None, .. })
        ));
    }

    #[test]
    fn refuses_damaged_records() {
        let good = go_create_bytes();
        assert_eq!(decode_record(&good[..10]), Err(DecodeError::Short(10)));
        assert_eq!(decode_record(&[]), Err(DecodeError::Short(0)));
        // Truncated body, extra bytes, a size that disagrees with the type.
        assert!(matches!(
            decode_record(&good[..68]),
            Err(DecodeError::BadSize { .. })
        ));
        let mut longer = good.clone();
        longer.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decode_record(&longer),
            Err(DecodeError::BadSize { .. })
        ));
        let mut wrong_size = good.clone();
        wrong_size[22] = 40;
        assert!(matches!(
            decode_record(&wrong_size),
            Err(DecodeError::BadSize { declared: 40, .. })
        ));
        for tag in [0u16, 33, 0xffff] {
            let mut unknown = good.clone();
            unknown[20..22].copy_from_slice(&tag.to_le_bytes());
            assert_eq!(decode_record(&unknown), Err(DecodeError::UnknownType(tag)));
        }
    }

    #[test]
    fn never_panics_on_any_prefix_or_byte_flip() {
        let good = go_create_bytes();
        for len in 0..=good.len() {
            let _ = decode_record(&good[..len]);
        }
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xff;
            let _ = decode_record(&b);
        }
    }

    #[test]
    fn handmade_bytes_become_typed_events() {
        let ev = decode(&go_create_bytes()).unwrap();
        assert_eq!(
            ev,
            Event {
                ts_ns: 1_000,
                cpu: 1,
                tid: 78,
                kind: EventKind::GoCreate {
                    goid: 18,
                    parent_goid: 1,
                    creation_pc: 0x4a_1234,
                    start_pc: 0x4a_0000,
                    p_id: 2,
                },
            }
        );

        let preempted = abi::Switch {
            h: header(EventType::Switch),
            prev_tid: 78,
            prev_tgid: 77,
            next_tid: 0,
            next_tgid: 0,
            prev_state: 1, // TASK_INTERRUPTIBLE, but preempted before it slept
            flags: abi::SWITCH_PREEMPT | abi::SWITCH_PREV_OURS,
        };
        let kind = decode(abi::bytes_of(&preempted)).unwrap().kind;
        assert_eq!(
            kind,
            EventKind::Switch {
                prev_tid: 78,
                next_tid: 0,
                prev_state: 0,
                prev_in_target: true,
                next_in_target: false,
            }
        );
        let slept = abi::Switch {
            flags: abi::SWITCH_NEXT_OURS,
            ..preempted
        };
        assert!(matches!(
            decode(abi::bytes_of(&slept)).unwrap().kind,
            EventKind::Switch {
                prev_state: 1,
                prev_in_target: false,
                next_in_target: true,
                ..
            }
        ));

        let fork = abi::ThreadFork {
            h: header(EventType::ThreadFork),
            parent_tid: 90,
            child_tid: 91,
        };
        let ev = decode(abi::bytes_of(&fork)).unwrap();
        assert_eq!(
            (ev.tid, ev.kind),
            (90, EventKind::ThreadFork { child_tid: 91 })
        );

        let wake = abi::Wakeup {
            h: header(EventType::Wakeup),
            woken_tid: 80,
            woken_tgid: 77,
            target_cpu: 0,
            flags: 0,
        };
        let ev = decode(abi::bytes_of(&wake)).unwrap();
        assert_eq!(
            ev.kind,
            EventKind::Wakeup {
                target_tid: 80,
                waker_tid: 78
            }
        );
    }

    #[test]
    fn yield_preemption_and_park_reason_are_checked() {
        let y = |preempted| abi::GoYield {
            h: header(EventType::GoYield),
            goid: 5,
            preempted,
            pad: 0,
        };
        let kind = |p| decode(abi::bytes_of(&y(p))).map(|e| e.kind);
        assert_eq!(
            kind(abi::PREEMPTED_UNKNOWN),
            Ok(EventKind::GoYield {
                goid: 5,
                preempted: None
            })
        );
        assert_eq!(
            kind(1),
            Ok(EventKind::GoYield {
                goid: 5,
                preempted: Some(true)
            })
        );
        assert!(matches!(kind(7), Err(DecodeError::BadValue { .. })));
        let park = abi::GoPark {
            h: header(EventType::GoPark),
            goid: 5,
            wait_reason: 300,
            stack_id: abi::STACK_NONE,
        };
        assert!(matches!(
            decode(abi::bytes_of(&park)),
            Err(DecodeError::BadValue {
                field: "wait_reason",
                ..
            })
        ));
    }

    fn sched(kind: EventType, goid: u64, value: u64, p: (i32, i32), flags: u32) -> abi::Sched {
        abi::Sched {
            h: header(kind),
            goid,
            value,
            p_id: p.0,
            p_id2: p.1,
            flags,
            pad: 0,
        }
    }

    #[test]
    fn scheduler_records_become_their_events() {
        let kind = |e: abi::Sched| decode(abi::bytes_of(&e)).map(|e| e.kind);
        assert_eq!(
            kind(sched(EventType::Steal, 0, 7, (1, 0), abi::SCHED_RUNNEXT)),
            Ok(EventKind::Steal {
                thief_p: 1,
                victim_p: 0,
                queued: 7,
                runnext: true
            })
        );
        assert_eq!(
            kind(sched(
                EventType::Handoff,
                12,
                0,
                (3, -1),
                abi::SCHED_CALLER_LOCKED
            )),
            Ok(EventKind::Handoff {
                p_id: 3,
                caller_goid: 12,
                caller_has_p: false,
                caller_locked: true
            })
        );
        assert_eq!(
            kind(sched(
                EventType::StwBegin,
                0,
                2,
                (-1, -1),
                abi::SCHED_REASON_KNOWN
            )),
            Ok(EventKind::StwBegin { reason: Some(2) })
        );
        assert_eq!(
            kind(sched(EventType::StwBegin, 0, 0, (-1, -1), 0)),
            Ok(EventKind::StwBegin { reason: None })
        );
        assert_eq!(
            kind(sched(EventType::ProcResize, 0, (-3i64) as u64, (-1, -1), 0)),
            Ok(EventKind::ProcResize { nprocs: -3 })
        );
        assert!(matches!(
            kind(sched(EventType::Steal, 0, u64::MAX, (0, 1), 0)),
            Err(DecodeError::BadValue { .. })
        ));
        // A gs_ev_sched record tagged with a type that has its own struct is refused by size.
        let mut wrong = sched(EventType::GoExit, 1, 0, (0, 0), 0);
        wrong.h.size = std::mem::size_of::<abi::Sched>() as u16;
        assert!(matches!(
            decode(abi::bytes_of(&wrong)),
            Err(DecodeError::BadSize { .. })
        ));
        let sys = abi::KernelSyscall {
            h: header(EventType::KernelSyscall),
            nr: 0,
            ret: -11,
            duration_ns: 5_000,
        };
        assert_eq!(
            decode(abi::bytes_of(&sys)).map(|e| e.kind),
            Ok(EventKind::KernelSyscall {
                nr: 0,
                ret: -11,
                duration_ns: 5_000
            })
        );
        let sig = abi::Signal {
            h: header(EventType::SignalGenerate),
            sig: 23,
            target_tid: 80,
            result: 0,
            pad: 0,
        };
        assert_eq!(
            decode(abi::bytes_of(&sig)).map(|e| e.kind),
            Ok(EventKind::SignalSend {
                sig: 23,
                target_tid: 80,
                result: 0
            })
        );
        let sig = abi::Signal {
            h: header(EventType::SignalDeliver),
            ..sig
        };
        assert_eq!(
            decode(abi::bytes_of(&sig)).map(|e| e.kind),
            Ok(EventKind::SignalDeliver { sig: 23 })
        );
    }
}
