//! The compact binary form of [`Event`]s inside event chunks: one fixed-size 56-byte
//! little-endian record per event (layout table in docs/recording-format.md).
//!
//! ```text
//! 0  ts_ns u64 | 8 cpu u32 | 12 tid u32 | 16 kind u8 | 17 flags u8 | 18 reserved [u8; 6]
//! 24 a u64     | 32 b u64  | 40 c u64   | 48 d u64
//! ```
//! What a..d and the flag bits mean depends on the kind (see `encode_one`).

use goroscope_events::{Event, EventKind, LossReason};

use crate::Error;

/// Bytes per encoded event.
pub const EVENT_SIZE: usize = 56;

// Flag bits.
const FLAG_PREEMPT_KNOWN: u8 = 1;
const FLAG_PREEMPTED: u8 = 2;
const FLAG_PREV_IN_TARGET: u8 = 1;
const FLAG_NEXT_IN_TARGET: u8 = 2;

/// Appends the encoding of `events` to `out`.
pub fn encode_events(events: &[Event], out: &mut Vec<u8>) {
    out.reserve(events.len() * EVENT_SIZE);
    for event in events {
        encode_one(event, out);
    }
}

fn encode_one(e: &Event, out: &mut Vec<u8>) {
    let (kind, flags, a, b, c, d): (u8, u8, u64, u64, u64, u64) = match e.kind {
        EventKind::GoCreate {
            goid,
            parent_goid,
            creation_pc,
            start_pc,
        } => (0, 0, goid, parent_goid, creation_pc, start_pc),
        EventKind::GoStatus { goid, from, to } => (1, 0, goid, from.into(), to.into(), 0),
        // Signed ids are stored as their two's complement bit pattern.
        EventKind::GoStart { goid, p_id, m_id } => {
            (2, 0, goid, i64::from(p_id) as u64, m_id as u64, 0)
        }
        EventKind::GoPark { goid, wait_reason } => (3, 0, goid, wait_reason.into(), 0, 0),
        EventKind::GoReady { goid, by_goid } => (4, 0, goid, by_goid, 0, 0),
        EventKind::GoYield { goid, preempted } => {
            let flags = match preempted {
                None => 0,
                Some(false) => FLAG_PREEMPT_KNOWN,
                Some(true) => FLAG_PREEMPT_KNOWN | FLAG_PREEMPTED,
            };
            (5, flags, goid, 0, 0, 0)
        }
        EventKind::GoExit { goid } => (6, 0, goid, 0, 0, 0),
        EventKind::MStart { m_id } => (7, 0, m_id as u64, 0, 0, 0),
        EventKind::MExit { m_id } => (8, 0, m_id as u64, 0, 0, 0),
        EventKind::ThreadFork { child_tid } => (9, 0, child_tid.into(), 0, 0, 0),
        EventKind::ThreadExit => (10, 0, 0, 0, 0, 0),
        EventKind::Switch {
            prev_tid,
            next_tid,
            prev_state,
            prev_in_target,
            next_in_target,
        } => {
            let mut flags = 0;
            if prev_in_target {
                flags |= FLAG_PREV_IN_TARGET;
            }
            if next_in_target {
                flags |= FLAG_NEXT_IN_TARGET;
            }
            (11, flags, prev_tid.into(), next_tid.into(), prev_state, 0)
        }
        EventKind::Wakeup {
            target_tid,
            waker_tid,
        } => (12, 0, target_tid.into(), waker_tid.into(), 0, 0),
        EventKind::Lost { reason, count } => (13, 0, loss_code(reason), count, 0, 0),
    };
    out.extend_from_slice(&e.ts_ns.to_le_bytes());
    out.extend_from_slice(&e.cpu.to_le_bytes());
    out.extend_from_slice(&e.tid.to_le_bytes());
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&[0; 6]);
    for v in [a, b, c, d] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Decodes a whole event chunk payload; any damage is an error (the chunk's checksum passed,
/// so damage here means a writer bug or a forged file).
pub fn decode_events(bytes: &[u8], out: &mut Vec<Event>) -> Result<(), Error> {
    if bytes.len() % EVENT_SIZE != 0 {
        return Err(Error::Malformed(format!(
            "event chunk of {} bytes is not a multiple of {EVENT_SIZE}",
            bytes.len()
        )));
    }
    out.reserve(bytes.len() / EVENT_SIZE);
    for record in bytes.chunks_exact(EVENT_SIZE) {
        out.push(decode_one(record)?);
    }
    Ok(())
}

fn u64_at(r: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = r.get(at..at + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

fn u32_at(r: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = r.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

fn narrow<T: TryFrom<u64>>(v: u64, what: &str) -> Result<T, Error> {
    T::try_from(v).map_err(|_| Error::Malformed(format!("{what} {v:#x} out of range")))
}

fn decode_one(r: &[u8]) -> Result<Event, Error> {
    let ts_ns = u64_at(r, 0);
    let cpu = u32_at(r, 8);
    let tid = u32_at(r, 12);
    let kind = r.get(16).copied().unwrap_or(u8::MAX);
    let flags = r.get(17).copied().unwrap_or(0);
    let (a, b, c, d) = (u64_at(r, 24), u64_at(r, 32), u64_at(r, 40), u64_at(r, 48));
    let kind = match kind {
        0 => EventKind::GoCreate {
            goid: a,
            parent_goid: b,
            creation_pc: c,
            start_pc: d,
        },
        1 => EventKind::GoStatus {
            goid: a,
            from: narrow(b, "status")?,
            to: narrow(c, "status")?,
        },
        2 => EventKind::GoStart {
            goid: a,
            p_id: i32::try_from(b as i64)
                .map_err(|_| Error::Malformed(format!("p id {b:#x} out of range")))?,
            m_id: c as i64,
        },
        3 => EventKind::GoPark {
            goid: a,
            wait_reason: narrow(b, "wait reason")?,
        },
        4 => EventKind::GoReady {
            goid: a,
            by_goid: b,
        },
        5 => EventKind::GoYield {
            goid: a,
            preempted: (flags & FLAG_PREEMPT_KNOWN != 0).then_some(flags & FLAG_PREEMPTED != 0),
        },
        6 => EventKind::GoExit { goid: a },
        7 => EventKind::MStart { m_id: a as i64 },
        8 => EventKind::MExit { m_id: a as i64 },
        9 => EventKind::ThreadFork {
            child_tid: narrow(a, "tid")?,
        },
        10 => EventKind::ThreadExit,
        11 => EventKind::Switch {
            prev_tid: narrow(a, "tid")?,
            next_tid: narrow(b, "tid")?,
            prev_state: c,
            prev_in_target: flags & FLAG_PREV_IN_TARGET != 0,
            next_in_target: flags & FLAG_NEXT_IN_TARGET != 0,
        },
        12 => EventKind::Wakeup {
            target_tid: narrow(a, "tid")?,
            waker_tid: narrow(b, "tid")?,
        },
        13 => EventKind::Lost {
            reason: loss_from_code(a)?,
            count: b,
        },
        other => return Err(Error::Malformed(format!("unknown event kind {other}"))),
    };
    Ok(Event {
        ts_ns,
        cpu,
        tid,
        kind,
    })
}

fn loss_code(reason: LossReason) -> u64 {
    match reason {
        LossReason::RingBufferFull => 0,
        LossReason::UserMemoryUnreadable => 1,
        LossReason::MalformedRecord => 2,
        LossReason::TruncatedRecording => 3,
        LossReason::Other => 4,
    }
}

fn loss_from_code(code: u64) -> Result<LossReason, Error> {
    Ok(match code {
        0 => LossReason::RingBufferFull,
        1 => LossReason::UserMemoryUnreadable,
        2 => LossReason::MalformedRecord,
        3 => LossReason::TruncatedRecording,
        4 => LossReason::Other,
        _ => return Err(Error::Malformed(format!("unknown loss reason {code}"))),
    })
}
