//! Unit tests of the recording format: round trips, truncation at every offset, corruption.

use std::io::Cursor;

use goroscope_events::{
    Capability, CpuLimit, CpuStat, Event, EventKind, EventSource, Fact, Level, LossReason,
};

use crate::*;

fn ev(ts_ns: u64, kind: EventKind) -> Event {
    Event {
        ts_ns,
        cpu: (ts_ns % 3) as u32,
        tid: 1000 + (ts_ns % 5) as u32,
        kind,
    }
}

/// One event of every kind, with extreme values where the encoding could clip them.
fn every_kind() -> Vec<Event> {
    let kinds = vec![
        EventKind::GoCreate {
            goid: 7,
            parent_goid: 1,
            creation_pc: 0x4a_1234,
            start_pc: u64::MAX,
            p_id: -1,
        },
        EventKind::GoCreate {
            goid: 8,
            parent_goid: 1,
            creation_pc: 1,
            start_pc: 2,
            p_id: i32::MAX,
        },
        EventKind::GoStatus {
            goid: 7,
            from: 0x1004,
            to: u32::MAX,
        },
        EventKind::GoStart {
            goid: 7,
            p_id: -1,
            m_id: i64::MIN,
            inherit_time: true,
            locked: false,
        },
        EventKind::GoStart {
            goid: 8,
            p_id: i32::MAX,
            m_id: 3,
            inherit_time: false,
            locked: true,
        },
        EventKind::GoPark {
            goid: 7,
            wait_reason: 255,
            stack_id: None,
        },
        EventKind::GoReady {
            goid: 7,
            by_goid: 0,
            p_id: i32::MIN,
            next: true,
        },
        EventKind::GoYield {
            goid: 7,
            preempted: None,
        },
        EventKind::GoYield {
            goid: 7,
            preempted: Some(false),
        },
        EventKind::GoYield {
            goid: 7,
            preempted: Some(true),
        },
        EventKind::GoExit {
            goid: u64::MAX,
            locked: true,
        },
        EventKind::Steal {
            thief_p: 0,
            victim_p: i32::MAX,
            queued: u32::MAX,
            runnext: true,
        },
        EventKind::PreemptRequest {
            goid: 9,
            p_id: -1,
            by_sysmon: true,
        },
        EventKind::AsyncPreempt {
            goid: 9,
            stack_id: Some(u32::MAX),
        },
        EventKind::AsyncPreempt {
            goid: 9,
            stack_id: None,
        },
        EventKind::GoPark {
            goid: 9,
            wait_reason: 2,
            stack_id: Some(3),
        },
        EventKind::GoPreemptPark { goid: 9 },
        EventKind::SignalSend {
            sig: 23,
            target_tid: u32::MAX,
            result: i32::MIN,
        },
        EventKind::SignalDeliver { sig: 23 },
        EventKind::SyscallEnter {
            goid: 9,
            blocking: true,
        },
        EventKind::SyscallExit {
            goid: 9,
            lost_p: true,
        },
        EventKind::Handoff {
            p_id: 1,
            caller_goid: 0,
            caller_has_p: true,
            caller_locked: true,
        },
        EventKind::KernelSyscall {
            nr: -1,
            ret: i64::MIN,
            duration_ns: u64::MAX,
        },
        EventKind::LockOSThread { goid: 9 },
        EventKind::UnlockOSThread { goid: 9 },
        EventKind::MPark { m_id: -1 },
        EventKind::ProcResize { nprocs: i32::MAX },
        EventKind::StwBegin { reason: None },
        EventKind::StwBegin { reason: Some(255) },
        EventKind::StwStopped,
        EventKind::StwEnd,
        EventKind::GcStart { trigger_kind: 2 },
        EventKind::GoSample {
            goid: 42,
            creation_pc: 0x4a_0001,
            start_pc: 0x4b_0000,
            runnable_ns: -3,
            p_id: -1,
            m_id: 65_534,
            wait_reason: 255,
            first_run: true,
            locked: false,
            stack_id: Some(1 << 24),
            stack_cut: true,
        },
        EventKind::GoSample {
            goid: 43,
            creation_pc: 0,
            start_pc: 0,
            runnable_ns: 12_345,
            p_id: 1,
            m_id: 3,
            wait_reason: 0,
            first_run: false,
            locked: true,
            stack_id: None,
            stack_cut: false,
        },
        EventKind::SamplerGate {
            paused: true,
            rate_per_s: 312_345,
            window_ns: 20_400_000,
        },
        EventKind::SamplerGate {
            paused: false,
            rate_per_s: 0,
            window_ns: 0,
        },
        EventKind::SchedSample {
            npidle: -1,
            nmspinning: i32::MAX,
            global_runq: i32::MIN,
            gomaxprocs: 2,
        },
        EventKind::MStart { m_id: -5 },
        EventKind::MExit { m_id: i64::MAX },
        EventKind::ThreadFork {
            child_tid: u32::MAX,
        },
        EventKind::ThreadExit,
        EventKind::Switch {
            prev_tid: 1,
            next_tid: 2,
            prev_state: u64::MAX,
            prev_in_target: true,
            next_in_target: false,
        },
        EventKind::Switch {
            prev_tid: 3,
            next_tid: 4,
            prev_state: 0,
            prev_in_target: false,
            next_in_target: true,
        },
        EventKind::Wakeup {
            target_tid: 9,
            waker_tid: 10,
        },
    ];
    let mut events: Vec<Event> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, k)| ev(i as u64 * 10 + 1, k))
        .collect();
    for (i, reason) in LossReason::ALL.into_iter().enumerate() {
        events.push(ev(
            500 + i as u64,
            EventKind::Lost {
                reason,
                count: u64::MAX - i as u64,
            },
        ));
    }
    events
}

fn header() -> Header {
    Header {
        goroscope_version: "0.1.0".into(),
        target: Target {
            path: "/bin/spawner".into(),
            pid: 42,
            mode: "launch".into(),
            go_version: "go1.27.3".into(),
            ..Default::default()
        },
        command_line: vec!["goroscope".into(), "record".into()],
        clock: ClockBase {
            monotonic_ns: 1,
            realtime_ns: 2,
        },
        wait_reasons: [(14u8, "chan receive".to_string())].into_iter().collect(),
        stw_reasons: [(1u8, "GC mark termination".to_string())]
            .into_iter()
            .collect(),
        level: "default".into(),
        capabilities: Some(Level::Default.capabilities()),
        cpu_limit: Some(CpuLimit {
            quota_cpus: Some(0.5),
            ..CpuLimit::default()
        }),
    }
}

fn symbols() -> Vec<SymbolEntry> {
    vec![SymbolEntry {
        pc: 0x4a_1233,
        function: "main.spawnAll".into(),
        file: "/src/main.go".into(),
        line: 88,
        wrapper: None,
        inlined_into: Vec::new(),
    }]
}

/// A small complete file: header, symbols, events in two chunks, stats, stacks, end.
fn small_file(events: &[Event]) -> Vec<u8> {
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_symbols(&symbols()).unwrap();
    let half = events.len() / 2;
    w.write_events(&events[..half]).unwrap();
    w.write_stats(&StatsRecord {
        ts_ns: 5,
        submitted: 3,
        recorded: 3,
        drops: [("ring_buffer_full".to_string(), 4)].into_iter().collect(),
    })
    .unwrap();
    w.write_events(&events[half..]).unwrap();
    w.write_stacks(&[StackEntry {
        id: 3,
        frames: symbols(),
    }])
    .unwrap();
    w.write_end(&EndRecord {
        ts_ns: 9,
        reason: "target exited".into(),
        target_exit: Some("exit status: 0".into()),
        events: events.len() as u64,
        cpu_stat: Some(CpuStat {
            nr_throttled: 3,
            ..CpuStat::default()
        }),
    })
    .unwrap();
    w.into_inner()
}

/// Reads every event (the loss events the reader adds at the end are filtered out).
fn read_all(bytes: &[u8]) -> Result<(Vec<Event>, ReadSummary), Error> {
    let mut r = Reader::new(Cursor::new(bytes))?;
    let mut events = Vec::new();
    while let Some(chunk) = r.next_chunk()? {
        if let Chunk::Events(mut e) = chunk {
            events.append(&mut e);
        }
    }
    Ok((events, r.summary().clone()))
}

#[test]
fn stacks_reach_the_metadata() {
    let bytes = small_file(&every_kind());
    let mut r = Reader::new(Cursor::new(&bytes[..])).unwrap();
    while r.next_chunk().unwrap().is_some() {}
    let meta = r.meta();
    let frames = meta.stacks.get(&3).expect("stack 3");
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].function.as_str(), frames[0].line),
        ("main.spawnAll", 88)
    );
}

#[test]
fn capabilities_reach_the_metadata() {
    let bytes = small_file(&every_kind());
    let r = Reader::new(Cursor::new(&bytes[..])).unwrap();
    let meta = r.meta();
    assert_eq!(meta.level, Some(Level::Default));
    assert_eq!(meta.capabilities, Level::Default.capabilities());
}

#[test]
fn every_event_kind_round_trips() {
    let events = every_kind();
    let mut covered: Vec<usize> = events.iter().map(|e| e.kind.index()).collect();
    covered.sort_unstable();
    covered.dedup();
    assert_eq!(covered, (0..EventKind::NAMES.len()).collect::<Vec<_>>());
    let mut raw = Vec::new();
    encode_events(&events, &mut raw);
    assert_eq!(raw.len(), events.len() * EVENT_SIZE);
    let mut back = Vec::new();
    decode_events(&raw, &mut back).unwrap();
    assert_eq!(back, events);

    let file = small_file(&events);
    let (read, summary) = read_all(&file).unwrap();
    assert_eq!(read, events);
    assert!(!summary.truncated);
    assert_eq!(summary.complete_chunks, 6);
    assert_eq!(summary.end.as_ref().unwrap().reason, "target exited");
    assert!(summary.warnings().is_empty());
}

#[test]
fn reader_is_an_event_source_with_symbols_and_losses() {
    let events = every_kind();
    let file = small_file(&events);
    let mut r = Reader::new(Cursor::new(&file)).unwrap();
    assert_eq!(r.header(), &header());
    let mut out = Vec::new();
    while r.next_batch(&mut out).unwrap() {}
    // The recorded events, then one Lost event per reason of the last stats chunk.
    assert_eq!(&out[..events.len()], &events[..]);
    assert_eq!(
        out[events.len()..]
            .iter()
            .map(|e| e.kind.clone())
            .collect::<Vec<_>>(),
        vec![EventKind::Lost {
            reason: LossReason::RingBufferFull,
            count: 4
        }]
    );
    let meta = r.meta();
    assert_eq!(meta.go_version, "go1.27.3");
    assert_eq!(meta.wait_reasons.describe(14), "chan receive");
    let loc = meta.symbolizer.resolve(0x4a_1233).unwrap();
    assert_eq!((loc.function.as_str(), loc.line), ("main.spawnAll", 88));
}

#[test]
fn truncated_at_every_offset_reads_a_prefix() {
    let events = every_kind();
    let file = small_file(&events);
    let header_end = MAGIC.len() + 12 + serde_json::to_vec(&header()).unwrap().len();
    let mut last_chunks = 0;
    for cut in 0..file.len() {
        let part = &file[..cut];
        match read_all(part) {
            Ok((read, summary)) => {
                assert!(cut >= header_end, "cut {cut}: header accepted");
                assert_eq!(&read[..], &events[..read.len()], "cut {cut}: not a prefix");
                assert!(summary.end.is_none(), "cut {cut}");
                // Cut at a chunk boundary: not "truncated", but still no end chunk.
                assert!(summary.complete_chunks >= last_chunks);
                last_chunks = summary.complete_chunks;
                assert!(!summary.warnings().is_empty(), "cut {cut}: no warning");
            }
            Err(e) => {
                assert!(cut < header_end, "cut {cut}: {e}");
                let msg = e.to_string();
                assert!(
                    msg.contains("truncated") || msg.contains("not a goroscope recording"),
                    "cut {cut}: {msg}"
                );
            }
        }
    }
    assert_eq!(last_chunks, 5);
}

#[test]
fn a_truncated_file_is_a_finite_event_source() {
    let events = every_kind();
    let file = small_file(&events);
    let cut = &file[..file.len() - 3]; // inside the end chunk
    let mut r = Reader::new(Cursor::new(cut)).unwrap();
    let mut out = Vec::new();
    while r.next_batch(&mut out).unwrap() {}
    assert_eq!(&out[..events.len()], &events[..]);
    assert!(r.summary().truncated);
    assert_eq!(r.summary().complete_chunks, 5);
    assert!(r.summary().warnings()[0].starts_with("truncated after 5 complete chunks"));
    assert!(!r.next_batch(&mut out).unwrap(), "stays exhausted");
}

/// The byte offset of the first chunk of `small_file`.
fn first_chunk_offset() -> usize {
    MAGIC.len() + 12 + serde_json::to_vec(&header()).unwrap().len()
}

#[test]
fn flipped_bytes_skip_one_chunk_or_fail_in_the_header() {
    let events = every_kind();
    let half = events.len() / 2;
    let file = small_file(&events);
    let first_chunk = first_chunk_offset();
    for at in 0..file.len() {
        for bit in [0x01u8, 0x80] {
            let mut damaged = file.clone();
            damaged[at] ^= bit;
            let result = read_all(&damaged);
            if at < first_chunk {
                // The one accepted flip: the version turned into another readable version
                // (3 ^ 1 = 2), which reads the same header and chunks.
                let version = u32::from_le_bytes(damaged[8..12].try_into().unwrap());
                let readable = (OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version);
                assert!(
                    result.is_err() || ((8..12).contains(&at) && readable),
                    "flip at {at} in the header accepted"
                );
                continue;
            }
            // Any flip in a chunk breaks its checksum: that chunk alone is skipped. (A flip
            // that lengthens the last chunk past the end of the file looks like a cut.)
            let (read, summary) = result.unwrap_or_else(|e| panic!("flip at {at}: {e}"));
            let cut_end = summary.truncated && summary.end.is_none();
            assert_eq!(summary.corrupt_chunks, u64::from(!cut_end), "flip at {at}");
            if cut_end {
                assert_eq!(read, events, "flip at {at}");
                continue;
            }
            assert!(
                read == events || read[..] == events[half..] || read[..] == events[..half],
                "flip at {at}: not the events minus one chunk"
            );
            if read.len() < events.len() {
                // The end chunk's count tells what the skipped chunk held.
                assert_eq!(
                    summary.corrupt_events,
                    (events.len() - read.len()) as u64,
                    "flip at {at}"
                );
            }
            assert!(summary.warnings()[0].starts_with("skipped 1 corrupt chunk ("));
        }
    }
}

#[test]
fn a_corrupt_chunk_is_skipped_counted_and_reported_as_lost_events() {
    let events = every_kind();
    let half = events.len() / 2;
    let mut file = small_file(&events);
    // The second chunk (the first events chunk, after the symbols): damage its payload.
    let symbols_len = 16 + le(&file, first_chunk_offset() + 8) as usize;
    let events_chunk = first_chunk_offset() + symbols_len;
    file[events_chunk + 30] ^= 0xff;
    let mut r = Reader::new(Cursor::new(&file)).unwrap();
    let mut out = Vec::new();
    while r.next_batch(&mut out).unwrap() {}
    assert_eq!(&out[..events.len() - half], &events[half..]);
    let lost: Vec<_> = out[events.len() - half..]
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    assert!(lost.contains(&EventKind::Lost {
        reason: LossReason::CorruptChunk,
        count: half as u64
    }));
    let summary = r.summary();
    assert_eq!(
        (summary.corrupt_chunks, summary.corrupt_events),
        (1, half as u64)
    );
    assert!(summary.end.is_some());
}

#[test]
fn bytes_after_the_end_chunk_are_ignored() {
    let events = every_kind();
    let mut file = small_file(&events);
    file.extend_from_slice(b"some garbage appended by a careless cat >>");
    let (read, summary) = read_all(&file).unwrap();
    assert_eq!(read, events);
    assert_eq!(summary.trailing_bytes, 42);
    assert_eq!(summary.corrupt_chunks, 0);
    assert_eq!(
        summary.warnings(),
        vec!["ignored 42 bytes after the end chunk (not part of the recording)".to_string()]
    );
}

#[test]
fn a_cut_events_chunk_counts_its_events_as_truncated() {
    let events = every_kind();
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_events(&events[..3]).unwrap();
    let boundary = w.into_inner().len();
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_events(&events[..3]).unwrap();
    w.write_events(&events[3..]).unwrap();
    let file = w.into_inner();
    let (read, summary) = read_all(&file[..boundary + 20]).unwrap();
    assert_eq!(read, events[..3]);
    assert!(summary.truncated);
    assert_eq!(summary.truncated_events, (events.len() - 3) as u64);
    assert_eq!(
        summary.warnings()[0],
        "truncated after 1 complete chunk: the recording was cut off; everything up to there \
         is analysed"
    );
    assert_eq!(
        summary.damage_loss_events()[0].kind,
        EventKind::Lost {
            reason: LossReason::TruncatedRecording,
            count: (events.len() - 3) as u64
        }
    );
}

fn le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn foreign_and_future_files_get_clear_errors() {
    let err = |bytes: &[u8]| {
        Reader::new(Cursor::new(bytes.to_vec()))
            .err()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        err(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
        "not a goroscope recording (bad magic)"
    );
    assert_eq!(err(b""), "empty file: not a goroscope recording");
    // A prefix of the magic is a recording cut short, not a foreign file.
    for n in 1..MAGIC.len() {
        assert_eq!(
            err(&MAGIC[..n]),
            "truncated recording: the file ends inside its header",
            "{n} bytes"
        );
    }
    let mut future = small_file(&every_kind());
    future[8..12].copy_from_slice(&99u32.to_le_bytes());
    assert!(err(&future).starts_with("unsupported format version 99"));
}

#[test]
fn threaded_writer_writes_everything_in_order() {
    // Removed when `dir` drops, even if an assertion fails.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.rec");
    let events = every_kind();
    let mut w = RecordingWriter::create(&path, &header()).unwrap();
    w.symbols(symbols()).unwrap();
    for e in &events {
        w.events(vec![e.clone()]).unwrap();
    }
    let totals = w
        .finish(EndRecord {
            reason: "duration".into(),
            events: events.len() as u64,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(totals.events, events.len() as u64);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(totals.bytes, bytes.len() as u64);
    let (read, summary) = read_all(&bytes).unwrap();
    assert_eq!(read, events);
    assert_eq!(summary.end.unwrap().reason, "duration");
}

fn snapshot(ts_ns: u64, goids: std::ops::Range<u64>) -> goroscope_events::GoroutineSnapshot {
    goroscope_events::GoroutineSnapshot {
        ts_ns,
        read_ns: 7,
        allglen: goids.end,
        goroutines: goids
            .map(|goid| goroscope_events::SnapshotGoroutine {
                goid,
                status: 4,
                wait_reason: 14,
                creation_pc: 0x4a_1234,
                start_pc: 0x4a_0000,
                stack: vec![0x4a_0010, 0x4a_0020],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Header, events, two goroutine snapshots: the second one big enough to be cut in the middle.
fn file_with_snapshots() -> (Vec<u8>, usize) {
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_events(&every_kind()).unwrap();
    w.write_goroutines(&snapshot(10, 1..4)).unwrap();
    let before_second = w.into_inner();
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_events(&every_kind()).unwrap();
    w.write_goroutines(&snapshot(10, 1..4)).unwrap();
    w.write_goroutines(&snapshot(20, 1..5000)).unwrap();
    (w.into_inner(), before_second.len())
}

#[test]
fn goroutine_snapshots_round_trip_in_their_own_chunks() {
    let (bytes, _) = file_with_snapshots();
    assert_eq!(&bytes[8..12], &FORMAT_VERSION.to_le_bytes());
    let mut r = Reader::new(Cursor::new(&bytes[..])).unwrap();
    let mut snaps = Vec::new();
    while let Some(chunk) = r.next_chunk().unwrap() {
        if let Chunk::Goroutines(s) = chunk {
            snaps.push(*s);
        }
    }
    assert_eq!(snaps, [snapshot(10, 1..4), snapshot(20, 1..5000)]);
    assert_eq!(r.summary().goroutine_snapshots, 2);
    assert_eq!(
        r.meta().capabilities.get(Fact::GoroutineStates),
        Capability::Snapshot
    );
}

#[test]
fn a_file_cut_inside_a_snapshot_keeps_the_snapshots_before_it() {
    let (bytes, second_starts) = file_with_snapshots();
    for cut in [second_starts + 3, second_starts + 40, bytes.len() - 1] {
        let mut r = Reader::new(Cursor::new(&bytes[..cut])).unwrap();
        let mut snaps = 0;
        while let Some(chunk) = r.next_chunk().unwrap() {
            snaps += matches!(chunk, Chunk::Goroutines(_)) as usize;
        }
        assert_eq!(snaps, 1, "cut at {cut}");
        assert!(r.summary().truncated);
        assert!(r.summary().warnings()[0].starts_with("truncated after 2 complete chunks"));
    }
}

/// A snapshot of more goroutines than a chunk holds is stored in parts and read back whole.
#[test]
fn a_snapshot_larger_than_a_chunk_is_stored_in_parts_and_read_whole() {
    use crate::writer::GOROUTINES_PER_CHUNK;
    let many = 2 * GOROUTINES_PER_CHUNK as u64 + 7;
    let big = snapshot(20, 1..many + 1);
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_goroutines(&snapshot(10, 1..4)).unwrap();
    w.write_goroutines(&big).unwrap();
    w.write_events(&every_kind()).unwrap();
    let chunks_written = w.chunks();
    let bytes = w.into_inner();
    let mut r = Reader::new(Cursor::new(&bytes[..])).unwrap();
    let mut snaps = Vec::new();
    let mut events = 0;
    while let Some(chunk) = r.next_chunk().unwrap() {
        match chunk {
            Chunk::Goroutines(s) => snaps.push(*s),
            Chunk::Events(e) => events += e.len(),
            _ => {}
        }
    }
    assert_eq!(snaps, [snapshot(10, 1..4), big.clone()]);
    assert_eq!(events, every_kind().len());
    assert_eq!(r.summary().goroutine_snapshots, 2);
    assert_eq!(r.summary().complete_chunks, chunks_written);

    // Cut after the first part of the big one: what was read comes back, marked partial.
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_goroutines(&big).unwrap();
    let whole = w.into_inner();
    let one_part = snapshot(20, 1..GOROUTINES_PER_CHUNK as u64 + 1);
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_goroutines(&one_part).unwrap();
    let first_part_end = w.into_inner().len();
    let mut r = Reader::new(Cursor::new(&whole[..first_part_end + 20])).unwrap();
    let Some(Chunk::Goroutines(got)) = r.next_chunk().unwrap() else {
        panic!("expected the first part")
    };
    assert!(got.partial && !got.continues);
    assert_eq!(got.goroutines, one_part.goroutines);
    assert!(r.next_chunk().unwrap().is_none());
    assert!(r.summary().truncated);
}

/// Format 3 only added chunk types: version 2 files still read, and hold neither goroutine
/// snapshots nor runtime statistics whatever their level says.
#[test]
fn version_2_files_still_read_and_hold_no_memory_chunks() {
    let mut old = small_file(&every_kind());
    assert_eq!(old[8..12], FORMAT_VERSION.to_le_bytes());
    assert_eq!(FORMAT_VERSION, 5);
    let current = Reader::new(Cursor::new(&old[..]))
        .unwrap()
        .meta()
        .capabilities;
    for fact in [Fact::GoroutineStates, Fact::RuntimeMetrics] {
        assert_eq!(current.get(fact), Capability::Snapshot, "{fact:?}");
    }
    old[8..12].copy_from_slice(&2u32.to_le_bytes());
    let (events, summary) = read_all(&old).unwrap();
    assert_eq!(events, every_kind());
    assert!(summary.end.is_some());
    let r = Reader::new(Cursor::new(&old[..])).unwrap();
    let capabilities = r.meta().capabilities;
    for fact in [Fact::GoroutineStates, Fact::RuntimeMetrics] {
        assert_eq!(
            capabilities.get(fact),
            Capability::Absent,
            "a version 2 file has no {fact:?} whatever its level says"
        );
    }
    assert_eq!(capabilities.get(Fact::Gc), Capability::Complete);
    let mut older = old.clone();
    older[8..12].copy_from_slice(&1u32.to_le_bytes());
    let e = Reader::new(Cursor::new(&older[..]))
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        "unsupported format version 1 (this goroscope reads versions 2–5)"
    );
}

fn runtime_stats(ts_ns: u64) -> goroscope_events::RuntimeStats {
    use goroscope_events::{MetricHistogram, TimeHistScheme};
    let scheme = TimeHistScheme::MinMaxBits {
        min_bucket_bits: 9,
        max_bucket_bits: 48,
        sub_bucket_bits: 2,
    };
    let mut counts = vec![0; scheme.metric_buckets()];
    counts[7] = 3;
    goroscope_events::RuntimeStats {
        ts_ns,
        scheme,
        sched_latencies: MetricHistogram { counts },
        stw_stopping_gc: None,
        stw_stopping_other: None,
        stw_total_gc: Some(MetricHistogram::default()),
        stw_total_other: None,
        mutex_wait_ns: Some(12_345),
        runtime_lock_wait_ns: None,
        runtime_lock_wait_per_m: false,
        goid_generator: 96,
        threads: 5,
        gc_cycles: Some(4),
        forced_gc_cycles: Some(1),
        gomaxprocs: 2,
    }
}

/// Runtime statistics chunks (format 3) come back whole, in place, between the events; the
/// event source skips them.
#[test]
fn runtime_stats_chunks_round_trip() {
    let events = every_kind();
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_events(&events[..3]).unwrap();
    w.write_runtime_stats(&runtime_stats(100)).unwrap();
    w.write_events(&events[3..]).unwrap();
    w.write_runtime_stats(&runtime_stats(200)).unwrap();
    let bytes = w.into_inner();
    let mut r = Reader::new(Cursor::new(bytes.clone())).unwrap();
    let mut order = Vec::new();
    while let Some(chunk) = r.next_chunk().unwrap() {
        order.push(match chunk {
            Chunk::Events(e) => format!("events:{}", e.len()),
            Chunk::RuntimeStats(s) => {
                assert_eq!(*s, runtime_stats(s.ts_ns));
                format!("runtime_stats:{}", s.ts_ns)
            }
            _ => "other".into(),
        });
    }
    let rest = events.len() - 3;
    assert_eq!(
        order,
        [
            "events:3".to_string(),
            "runtime_stats:100".into(),
            format!("events:{rest}"),
            "runtime_stats:200".into()
        ]
    );
    let (read, _) = read_all(&bytes).unwrap();
    assert_eq!(read, events);
}

/// Format 4 changed what the levels capture: a version 3 file's `default` (without stored
/// capabilities) still means every event but status changes and park stacks, and no samples.
#[test]
fn version_3_default_keeps_its_old_meaning() {
    let mut h = header();
    h.capabilities = None;
    let mut w = ChunkWriter::new(Vec::new(), &h).unwrap();
    w.write_events(&every_kind()).unwrap();
    let mut bytes = w.into_inner();
    let now = Reader::new(Cursor::new(&bytes[..]))
        .unwrap()
        .meta()
        .capabilities;
    assert_eq!(now.get(Fact::GoroutineScheduling), Capability::Absent);
    assert_eq!(
        now.get(Fact::SampledScheduling),
        Capability::Sampled { one_in: 8 }
    );
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let old = Reader::new(Cursor::new(&bytes[..]))
        .unwrap()
        .meta()
        .capabilities;
    assert_eq!(old.get(Fact::GoroutineScheduling), Capability::Complete);
    assert_eq!(old.get(Fact::KernelSyscalls), Capability::Complete);
    assert_eq!(old.get(Fact::ParkStacks), Capability::Absent);
    assert_eq!(old.get(Fact::SampledScheduling), Capability::Absent);
}

/// Format 4 added kernel-aggregate chunks: they come back whole, and a version 3 file (which
/// cannot hold them) says they are absent whatever its level says.
#[test]
fn kernel_aggregate_chunks_round_trip_and_older_files_have_none() {
    use goroscope_events::{KernelAggregates, Log2Histogram, SyscallAggregate, ThreadAggregate};
    let k = KernelAggregates {
        ts_ns: 300,
        since_ns: 100,
        threads: vec![ThreadAggregate {
            tid: 5,
            comm: "app".into(),
            ..Default::default()
        }],
        syscalls: vec![SyscallAggregate {
            tid: 5,
            nr: 0,
            count: 2,
            errors: 0,
            latency: Log2Histogram::from_dense(2, 10, &[0, 0, 2]),
        }],
        ..Default::default()
    };
    let events = every_kind();
    let mut w = ChunkWriter::new(Vec::new(), &header()).unwrap();
    w.write_events(&events).unwrap();
    w.write_kernel_aggregates(&k).unwrap();
    let mut bytes = w.into_inner();
    let mut r = Reader::new(Cursor::new(bytes.clone())).unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = r.next_chunk().unwrap() {
        if let Chunk::KernelAggregates(read) = chunk {
            got.push(*read);
        }
    }
    assert_eq!(got, vec![k]);
    let (read, _) = read_all(&bytes).unwrap();
    assert_eq!(read, events);
    assert_eq!(
        Reader::new(Cursor::new(&bytes[..]))
            .unwrap()
            .meta()
            .capabilities
            .get(Fact::KernelAggregates),
        header().capabilities().get(Fact::KernelAggregates)
    );
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let r = Reader::new(Cursor::new(&bytes[..])).unwrap();
    assert_eq!(
        r.meta().capabilities.get(Fact::KernelAggregates),
        Capability::Absent
    );
}
