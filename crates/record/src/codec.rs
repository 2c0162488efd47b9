//! The compact binary form of [`Event`]s inside event chunks: one fixed-size 56-byte
//! little-endian record per event (layout table in docs/recording-format.md).
//!
//! ```text
//! 0  ts_ns u64 | 8 cpu u32 | 12 tid u32 | 16 kind u8 | 17 flags u8 | 18 reserved u16 | 20 e u32
//! 24 a u64     | 32 b u64  | 40 c u64   | 48 d u64
//! ```
//! What a..e and the flag bits mean depends on the kind (see `encode_one`); signed values are
//! stored as their two's complement bit pattern. A `go_sample` (format 4) also uses the reserved
//! u16 and packs ids into its pcs' top bits (`encode_sample`).

use goroscope_events::{Event, EventKind, LossReason};

use crate::Error;

/// Bytes per encoded event.
pub const EVENT_SIZE: usize = 56;

// Flag bits.
const FLAG_PREEMPT_KNOWN: u8 = 1;
const FLAG_PREEMPTED: u8 = 2;
const FLAG_PREV_IN_TARGET: u8 = 1;
const FLAG_NEXT_IN_TARGET: u8 = 2;
const FLAG_INHERIT_TIME: u8 = 1;
const FLAG_LOCKED: u8 = 2;
const FLAG_NEXT: u8 = 1;
const FLAG_BLOCKING: u8 = 1;
const FLAG_RUNNEXT: u8 = 1;
const FLAG_BY_SYSMON: u8 = 1;
const FLAG_CALLER_HAS_P: u8 = 1;
const FLAG_CALLER_LOCKED: u8 = 2;
const FLAG_REASON_KNOWN: u8 = 1;
const FLAG_LOST_P: u8 = 1;
const FLAG_HAS_STACK: u8 = 1;
const FLAG_FIRST_RUN: u8 = 2;
const FLAG_STACK_CUT: u8 = 4;
// go_sample: FLAG_LOCKED (2) would clash with FIRST_RUN, so its own bit.
const FLAG_SAMPLE_LOCKED: u8 = 8;

/// The record kind of a `go_sample` (format 4).
const KIND_GO_SAMPLE: u8 = 33;
/// The record kind of a `sampler_gate` (format 5).
const KIND_SAMPLER_GATE: u8 = 34;
const FLAG_PAUSED: u8 = 1;
/// A go_sample packs its M and P ids (plus one, 0: unknown) in the top 16 bits of its pcs:
/// user-space code addresses on x86-64 are below 2^47.
const PC_BITS: u32 = 48;
const PC_MASK: u64 = (1 << PC_BITS) - 1;

fn flag(on: bool, bit: u8) -> u8 {
    if on {
        bit
    } else {
        0
    }
}

/// An i32 as the u64 slot's bit pattern (sign-extended, so it reads back with `as i64`).
fn s32(v: i32) -> u64 {
    i64::from(v) as u64
}

/// Appends the encoding of `events` to `out`.
pub fn encode_events(events: &[Event], out: &mut Vec<u8>) {
    out.reserve(events.len() * EVENT_SIZE);
    for event in events {
        encode_one(event, out);
    }
}

/// One fixed-size record.
#[allow(clippy::too_many_arguments)]
fn push_record(
    e: &Event,
    kind: u8,
    flags: u8,
    reserved: u16,
    x: u32,
    [a, b, c, d]: [u64; 4],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(&e.ts_ns.to_le_bytes());
    out.extend_from_slice(&e.cpu.to_le_bytes());
    out.extend_from_slice(&e.tid.to_le_bytes());
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&reserved.to_le_bytes());
    out.extend_from_slice(&x.to_le_bytes());
    for v in [a, b, c, d] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A `go_sample` in one record: e = stack id, reserved = wait reason, a goid,
/// b creation pc | (m id + 1) << 48, c start pc | (p id + 1) << 48, d runnable ns; flags
/// HAS_STACK, FIRST_RUN, STACK_CUT, SAMPLE_LOCKED. An id that does not fit 16 bits is stored as
/// unknown (0), a pc that does not fit 48 bits as 0.
fn encode_sample(e: &Event, out: &mut Vec<u8>) {
    let EventKind::GoSample {
        goid,
        creation_pc,
        start_pc,
        runnable_ns,
        p_id,
        m_id,
        wait_reason,
        first_run,
        locked,
        stack_id,
        stack_cut,
    } = e.kind
    else {
        return;
    };
    let flags = flag(stack_id.is_some(), FLAG_HAS_STACK)
        | flag(first_run, FLAG_FIRST_RUN)
        | flag(stack_cut, FLAG_STACK_CUT)
        | flag(locked, FLAG_SAMPLE_LOCKED);
    let id16 = |id: i64| -> u64 {
        u16::try_from(id.saturating_add(1))
            .map(u64::from)
            .unwrap_or(0)
    };
    let pc48 = |pc: u64| if pc & !PC_MASK == 0 { pc } else { 0 };
    push_record(
        e,
        KIND_GO_SAMPLE,
        flags,
        wait_reason.into(),
        stack_id.unwrap_or(0),
        [
            goid,
            pc48(creation_pc) | id16(m_id) << PC_BITS,
            pc48(start_pc) | id16(p_id.into()) << PC_BITS,
            runnable_ns as u64,
        ],
        out,
    );
}

fn encode_one(e: &Event, out: &mut Vec<u8>) {
    let (kind, flags, a, b, c, d, x): (u8, u8, u64, u64, u64, u64, u32) = match e.kind {
        EventKind::GoSample { .. } => return encode_sample(e, out),
        EventKind::GoCreate {
            goid,
            parent_goid,
            creation_pc,
            start_pc,
            p_id,
        } => (0, 0, goid, parent_goid, creation_pc, start_pc, p_id as u32),
        EventKind::GoStatus { goid, from, to } => (1, 0, goid, from.into(), to.into(), 0, 0),
        EventKind::GoStart {
            goid,
            p_id,
            m_id,
            inherit_time,
            locked,
        } => {
            let flags = flag(inherit_time, FLAG_INHERIT_TIME) | flag(locked, FLAG_LOCKED);
            (2, flags, goid, s32(p_id), m_id as u64, 0, 0)
        }
        EventKind::GoPark {
            goid,
            wait_reason,
            stack_id,
        } => (
            3,
            flag(stack_id.is_some(), FLAG_HAS_STACK),
            goid,
            wait_reason.into(),
            stack_id.unwrap_or(0).into(),
            0,
            0,
        ),
        EventKind::GoReady {
            goid,
            by_goid,
            p_id,
            next,
        } => (4, flag(next, FLAG_NEXT), goid, by_goid, s32(p_id), 0, 0),
        EventKind::GoYield { goid, preempted } => {
            let flags = match preempted {
                None => 0,
                Some(false) => FLAG_PREEMPT_KNOWN,
                Some(true) => FLAG_PREEMPT_KNOWN | FLAG_PREEMPTED,
            };
            (5, flags, goid, 0, 0, 0, 0)
        }
        EventKind::GoExit { goid, locked } => (6, flag(locked, FLAG_LOCKED), goid, 0, 0, 0, 0),
        EventKind::MStart { m_id } => (7, 0, m_id as u64, 0, 0, 0, 0),
        EventKind::MExit { m_id } => (8, 0, m_id as u64, 0, 0, 0, 0),
        EventKind::ThreadFork { child_tid } => (9, 0, child_tid.into(), 0, 0, 0, 0),
        EventKind::ThreadExit => (10, 0, 0, 0, 0, 0, 0),
        EventKind::Switch {
            prev_tid,
            next_tid,
            prev_state,
            prev_in_target,
            next_in_target,
        } => {
            let flags = flag(prev_in_target, FLAG_PREV_IN_TARGET)
                | flag(next_in_target, FLAG_NEXT_IN_TARGET);
            (
                11,
                flags,
                prev_tid.into(),
                next_tid.into(),
                prev_state,
                0,
                0,
            )
        }
        EventKind::Wakeup {
            target_tid,
            waker_tid,
        } => (12, 0, target_tid.into(), waker_tid.into(), 0, 0, 0),
        EventKind::Lost { reason, count } => (13, 0, loss_code(reason), count, 0, 0, 0),
        EventKind::Steal {
            thief_p,
            victim_p,
            queued,
            runnext,
        } => (
            14,
            flag(runnext, FLAG_RUNNEXT),
            s32(thief_p),
            s32(victim_p),
            queued.into(),
            0,
            0,
        ),
        EventKind::PreemptRequest {
            goid,
            p_id,
            by_sysmon,
        } => (
            15,
            flag(by_sysmon, FLAG_BY_SYSMON),
            goid,
            s32(p_id),
            0,
            0,
            0,
        ),
        EventKind::AsyncPreempt { goid, stack_id } => (
            16,
            flag(stack_id.is_some(), FLAG_HAS_STACK),
            goid,
            stack_id.unwrap_or(0).into(),
            0,
            0,
            0,
        ),
        EventKind::GoPreemptPark { goid } => (17, 0, goid, 0, 0, 0, 0),
        EventKind::SignalSend {
            sig,
            target_tid,
            result,
        } => (18, 0, sig.into(), target_tid.into(), s32(result), 0, 0),
        EventKind::SignalDeliver { sig } => (19, 0, sig.into(), 0, 0, 0, 0),
        EventKind::SyscallEnter { goid, blocking } => {
            (20, flag(blocking, FLAG_BLOCKING), goid, 0, 0, 0, 0)
        }
        EventKind::SyscallExit { goid, lost_p } => {
            (21, flag(lost_p, FLAG_LOST_P), goid, 0, 0, 0, 0)
        }
        EventKind::Handoff {
            p_id,
            caller_goid,
            caller_has_p,
            caller_locked,
        } => {
            let flags =
                flag(caller_has_p, FLAG_CALLER_HAS_P) | flag(caller_locked, FLAG_CALLER_LOCKED);
            (22, flags, s32(p_id), caller_goid, 0, 0, 0)
        }
        EventKind::KernelSyscall {
            nr,
            ret,
            duration_ns,
        } => (23, 0, nr as u64, ret as u64, duration_ns, 0, 0),
        EventKind::LockOSThread { goid } => (24, 0, goid, 0, 0, 0, 0),
        EventKind::UnlockOSThread { goid } => (25, 0, goid, 0, 0, 0, 0),
        EventKind::MPark { m_id } => (26, 0, m_id as u64, 0, 0, 0, 0),
        EventKind::ProcResize { nprocs } => (27, 0, s32(nprocs), 0, 0, 0, 0),
        EventKind::StwBegin { reason } => (
            28,
            flag(reason.is_some(), FLAG_REASON_KNOWN),
            reason.unwrap_or(0).into(),
            0,
            0,
            0,
            0,
        ),
        EventKind::StwStopped => (29, 0, 0, 0, 0, 0, 0),
        EventKind::StwEnd => (30, 0, 0, 0, 0, 0, 0),
        EventKind::GcStart { trigger_kind } => (31, 0, trigger_kind.into(), 0, 0, 0, 0),
        EventKind::SchedSample {
            npidle,
            nmspinning,
            global_runq,
            gomaxprocs,
        } => (
            32,
            0,
            s32(npidle),
            s32(nmspinning),
            s32(global_runq),
            s32(gomaxprocs),
            0,
        ),
        EventKind::SamplerGate {
            paused,
            rate_per_s,
            window_ns,
        } => (
            KIND_SAMPLER_GATE,
            flag(paused, FLAG_PAUSED),
            rate_per_s,
            window_ns,
            0,
            0,
            0,
        ),
    };
    push_record(e, kind, flags, 0, x, [a, b, c, d], out);
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

fn decode_sample(r: &[u8], flags: u8) -> Result<EventKind, Error> {
    let (b, c) = (u64_at(r, 32), u64_at(r, 40));
    let id = |v: u64| (v >> PC_BITS) as i64 - 1;
    let reserved = r.get(18).copied().unwrap_or(0);
    Ok(EventKind::GoSample {
        goid: u64_at(r, 24),
        creation_pc: b & PC_MASK,
        start_pc: c & PC_MASK,
        runnable_ns: u64_at(r, 48) as i64,
        m_id: id(b),
        p_id: id(c) as i32,
        wait_reason: reserved,
        first_run: flags & FLAG_FIRST_RUN != 0,
        locked: flags & FLAG_SAMPLE_LOCKED != 0,
        stack_id: (flags & FLAG_HAS_STACK != 0).then(|| u32_at(r, 20)),
        stack_cut: flags & FLAG_STACK_CUT != 0,
    })
}

fn decode_one(r: &[u8]) -> Result<Event, Error> {
    let ts_ns = u64_at(r, 0);
    let cpu = u32_at(r, 8);
    let tid = u32_at(r, 12);
    let kind = r.get(16).copied().unwrap_or(u8::MAX);
    let flags = r.get(17).copied().unwrap_or(0);
    let (a, b, c, d) = (u64_at(r, 24), u64_at(r, 32), u64_at(r, 40), u64_at(r, 48));
    let x = u32_at(r, 20);
    let p = |v: u64| -> Result<i32, Error> {
        i32::try_from(v as i64).map_err(|_| Error::Malformed(format!("id {v:#x} out of range")))
    };
    let kind = match kind {
        0 => EventKind::GoCreate {
            goid: a,
            parent_goid: b,
            creation_pc: c,
            start_pc: d,
            p_id: x as i32,
        },
        1 => EventKind::GoStatus {
            goid: a,
            from: narrow(b, "status")?,
            to: narrow(c, "status")?,
        },
        2 => EventKind::GoStart {
            goid: a,
            p_id: p(b)?,
            m_id: c as i64,
            inherit_time: flags & FLAG_INHERIT_TIME != 0,
            locked: flags & FLAG_LOCKED != 0,
        },
        3 => EventKind::GoPark {
            goid: a,
            wait_reason: narrow(b, "wait reason")?,
            stack_id: if flags & FLAG_HAS_STACK != 0 {
                Some(narrow(c, "stack id")?)
            } else {
                None
            },
        },
        4 => EventKind::GoReady {
            goid: a,
            by_goid: b,
            p_id: p(c)?,
            next: flags & FLAG_NEXT != 0,
        },
        5 => EventKind::GoYield {
            goid: a,
            preempted: (flags & FLAG_PREEMPT_KNOWN != 0).then_some(flags & FLAG_PREEMPTED != 0),
        },
        6 => EventKind::GoExit {
            goid: a,
            locked: flags & FLAG_LOCKED != 0,
        },
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
        14 => EventKind::Steal {
            thief_p: p(a)?,
            victim_p: p(b)?,
            queued: narrow(c, "queue length")?,
            runnext: flags & FLAG_RUNNEXT != 0,
        },
        15 => EventKind::PreemptRequest {
            goid: a,
            p_id: p(b)?,
            by_sysmon: flags & FLAG_BY_SYSMON != 0,
        },
        16 => EventKind::AsyncPreempt {
            goid: a,
            stack_id: if flags & FLAG_HAS_STACK != 0 {
                Some(narrow(b, "stack id")?)
            } else {
                None
            },
        },
        17 => EventKind::GoPreemptPark { goid: a },
        18 => EventKind::SignalSend {
            sig: narrow(a, "signal")?,
            target_tid: narrow(b, "tid")?,
            result: p(c)?,
        },
        19 => EventKind::SignalDeliver {
            sig: narrow(a, "signal")?,
        },
        20 => EventKind::SyscallEnter {
            goid: a,
            blocking: flags & FLAG_BLOCKING != 0,
        },
        21 => EventKind::SyscallExit {
            goid: a,
            lost_p: flags & FLAG_LOST_P != 0,
        },
        22 => EventKind::Handoff {
            p_id: p(a)?,
            caller_goid: b,
            caller_has_p: flags & FLAG_CALLER_HAS_P != 0,
            caller_locked: flags & FLAG_CALLER_LOCKED != 0,
        },
        23 => EventKind::KernelSyscall {
            nr: a as i64,
            ret: b as i64,
            duration_ns: c,
        },
        24 => EventKind::LockOSThread { goid: a },
        25 => EventKind::UnlockOSThread { goid: a },
        26 => EventKind::MPark { m_id: a as i64 },
        27 => EventKind::ProcResize { nprocs: p(a)? },
        28 => EventKind::StwBegin {
            reason: if flags & FLAG_REASON_KNOWN != 0 {
                Some(narrow(a, "stw reason")?)
            } else {
                None
            },
        },
        29 => EventKind::StwStopped,
        30 => EventKind::StwEnd,
        31 => EventKind::GcStart {
            trigger_kind: narrow(a, "trigger kind")?,
        },
        KIND_GO_SAMPLE => decode_sample(r, flags)?,
        32 => EventKind::SchedSample {
            npidle: p(a)?,
            nmspinning: p(b)?,
            global_runq: p(c)?,
            gomaxprocs: p(d)?,
        },
        KIND_SAMPLER_GATE => EventKind::SamplerGate {
            paused: flags & FLAG_PAUSED != 0,
            rate_per_s: a,
            window_ns: b,
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
        LossReason::CorruptChunk => 5,
    }
}

fn loss_from_code(code: u64) -> Result<LossReason, Error> {
    Ok(match code {
        0 => LossReason::RingBufferFull,
        1 => LossReason::UserMemoryUnreadable,
        2 => LossReason::MalformedRecord,
        3 => LossReason::TruncatedRecording,
        4 => LossReason::Other,
        5 => LossReason::CorruptChunk,
        _ => return Err(Error::Malformed(format!("unknown loss reason {code}"))),
    })
}
