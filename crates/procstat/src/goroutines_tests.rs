//! Goroutine snapshots on synthetic memory: a fake target with text, globals and a heap of gs
//! and stacks laid out like Go 1.27's, changed between reads to tear them.

use std::cell::{Cell, RefCell};

use super::*;

const TEXT: u64 = 0x40_0000;
const DATA: u64 = 0x50_0000;
const HEAP: u64 = 0xc0_0000_0000;
const ALLGS: u64 = DATA;
const ALLGLEN: u64 = DATA + 0x100;
/// Waiting on "chan receive" in this fake version (of 40 reasons).
const CHAN_RECEIVE: u8 = 14;

/// Go 1.27.3's offsets (crates/goinspect/src/tables/go1.27.json).
fn offsets() -> GOffsets {
    GOffsets {
        stack_lo: 0,
        stack_hi: 8,
        sched_sp: 56,
        sched_pc: 64,
        sched_bp: 96,
        atomicstatus: 144,
        goid: 152,
        waitsince: 168,
        waitreason: 176,
        lockedm: 208,
        parent_goid: Some(280),
        gopc: 288,
        startpc: 304,
        m_id: 232,
    }
}

type Mutation = Box<dyn FnOnce(&mut Fake)>;

/// Regions of bytes; `read_pieces` calls are counted, and a mutation can run before a given
/// call (the target moving on between two reads), or every call after one can fail (it exited).
struct Fake {
    regions: Vec<(u64, Vec<u8>, bool)>,
}

struct FakeMemory {
    fake: RefCell<Fake>,
    calls: Cell<usize>,
    before_call: RefCell<Option<(usize, Mutation)>>,
    gone_from_call: Option<usize>,
}

impl Fake {
    fn write(&mut self, addr: u64, bytes: &[u8]) {
        let (start, data, _) = self
            .regions
            .iter_mut()
            .find(|(s, d, _)| addr >= *s && addr + bytes.len() as u64 <= s + d.len() as u64)
            .expect("write inside a region");
        let at = (addr - *start) as usize;
        data[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn put(&mut self, addr: u64, value: u64) {
        self.write(addr, &value.to_ne_bytes());
    }
}

impl Memory for FakeMemory {
    fn read_pieces(&self, pieces: &mut [(u64, &mut [u8])]) -> Result<usize> {
        let call = self.calls.get();
        self.calls.set(call + 1);
        if self.gone_from_call.is_some_and(|c| call >= c) {
            return Err(Error::Process {
                pid: 1,
                detail: "No such process".into(),
            });
        }
        let due = matches!(&*self.before_call.borrow(), Some((c, _)) if *c == call);
        if due {
            let (_, mutate) = self.before_call.borrow_mut().take().unwrap();
            mutate(&mut self.fake.borrow_mut());
        }
        let fake = self.fake.borrow();
        for (n, (addr, buf)) in pieces.iter_mut().enumerate() {
            let region = fake
                .regions
                .iter()
                .find(|(s, d, _)| *addr >= *s && *addr + buf.len() as u64 <= s + d.len() as u64);
            let Some((start, data, _)) = region else {
                return Ok(n);
            };
            let at = (*addr - start) as usize;
            buf.copy_from_slice(&data[at..at + buf.len()]);
        }
        Ok(pieces.len())
    }

    fn mappings(&self) -> Result<Vec<Mapping>> {
        if self.gone_from_call == Some(0) {
            return Err(Error::Process {
                pid: 1,
                detail: "gone".into(),
            });
        }
        Ok(self
            .fake
            .borrow()
            .regions
            .iter()
            .map(|(s, d, exec)| Mapping {
                start: *s,
                end: s + d.len() as u64,
                readable: true,
                executable: *exec,
            })
            .collect())
    }
}

/// What one fake g holds.
struct G {
    goid: u64,
    status: u32,
    reason: u8,
    startpc: u64,
    /// Frames above the saved pc: return addresses, outermost last.
    callers: Vec<u64>,
}

const G_SIZE: u64 = 512;
const STACK_SIZE: u64 = 0x800;

/// A target whose allgs holds `gs` (plus `extra` raw pointers appended after them).
fn target(gs: &[G], extra: &[u64]) -> Fake {
    let mut fake = Fake {
        regions: vec![
            (TEXT, vec![0; 0x1_0000], true),
            (DATA, vec![0; 0x1000], false),
            (HEAP, vec![0; 0x10_0000], false),
        ],
    };
    let o = offsets();
    let array = HEAP;
    let gbase = HEAP + 0x1000;
    let stacks = HEAP + 0x8_0000;
    let n = (gs.len() + extra.len()) as u64;
    fake.put(ALLGS, array);
    fake.put(ALLGS + 8, n);
    fake.put(ALLGS + 16, n);
    fake.put(ALLGLEN, n);
    for (i, g) in gs.iter().enumerate() {
        let addr = gbase + i as u64 * G_SIZE;
        fake.put(array + i as u64 * 8, addr);
        let (lo, hi) = (
            stacks + i as u64 * STACK_SIZE,
            stacks + (i as u64 + 1) * STACK_SIZE,
        );
        fake.put(addr + o.stack_lo, lo);
        fake.put(addr + o.stack_hi, hi);
        fake.write(addr + o.atomicstatus, &g.status.to_ne_bytes());
        fake.put(addr + o.goid, g.goid);
        fake.put(addr + o.waitsince, 1_000 + g.goid);
        fake.write(addr + o.waitreason, &[g.reason]);
        fake.put(addr + o.parent_goid.unwrap(), 1);
        fake.put(addr + o.gopc, TEXT + 0x100);
        fake.put(addr + o.startpc, g.startpc);
        // Frames at the top of the stack, each [caller's bp, return address], growing down.
        let mut bp = hi - 16 * (g.callers.len() as u64 + 1);
        fake.put(addr + o.sched_sp, bp - 8);
        fake.put(addr + o.sched_pc, TEXT + 0x200);
        fake.put(addr + o.sched_bp, bp);
        for ret in &g.callers {
            fake.put(bp, bp + 16);
            fake.put(bp + 8, *ret);
            bp += 16;
        }
    }
    for (j, p) in extra.iter().enumerate() {
        fake.put(array + (gs.len() + j) as u64 * 8, *p);
    }
    fake
}

fn reader(fake: Fake) -> GoroutineReader<FakeMemory> {
    GoroutineReader::new(
        FakeMemory {
            fake: RefCell::new(fake),
            calls: Cell::new(0),
            before_call: RefCell::new(None),
            gone_from_call: None,
        },
        AllgsAddresses {
            allgs: ALLGS,
            allglen: ALLGLEN,
        },
        offsets(),
        40,
    )
    .unwrap()
}

fn clock() -> u64 {
    5_000
}

fn waiting(goid: u64) -> G {
    G {
        goid,
        status: 4,
        reason: CHAN_RECEIVE,
        startpc: TEXT + 0x300,
        callers: vec![TEXT + 0x400, TEXT + 0x500],
    }
}

#[test]
fn reads_every_live_goroutine_with_its_stack() {
    let running = G {
        goid: 2,
        status: 2,
        reason: 99, // ignored: not waiting
        startpc: TEXT + 0x300,
        callers: vec![],
    };
    let dead = G {
        goid: 3,
        status: 6,
        reason: 0,
        startpc: TEXT + 0x300,
        callers: vec![],
    };
    let snap = reader(target(&[waiting(1), running, dead], &[0]))
        .snapshot(&clock)
        .unwrap();
    assert_eq!(snap.ts_ns, 5_000);
    assert_eq!(snap.allglen, 4);
    assert_eq!(snap.dead, 1);
    assert_eq!(snap.skipped, 1, "the nil pointer");
    assert!(!snap.partial);
    let [w, r] = &snap.goroutines[..] else {
        panic!("{:?}", snap.goroutines)
    };
    assert_eq!((w.goid, w.status, w.wait_reason), (1, 4, CHAN_RECEIVE));
    assert_eq!(w.wait_since_ns, 1_001);
    assert_eq!(w.creation_pc, TEXT + 0x100);
    assert_eq!(w.start_pc, TEXT + 0x300);
    assert_eq!(w.parent_goid, Some(1));
    assert_eq!(w.stack, vec![TEXT + 0x200, TEXT + 0x400, TEXT + 0x500]);
    assert_eq!((r.goid, r.wait_reason), (2, 0));
    assert!(
        r.stack.is_empty(),
        "a running g's saved registers are stale"
    );
}

#[test]
fn torn_or_garbage_gs_are_skipped_and_counted() {
    let bad_status = G {
        status: 0x77,
        ..waiting(10)
    };
    let bad_reason = G {
        reason: 200,
        ..waiting(11)
    };
    let bad_goid = G {
        goid: 0,
        ..waiting(12)
    };
    let bad_start = G {
        startpc: DATA + 8,
        ..waiting(13)
    };
    let snap = reader(target(
        &[waiting(1), bad_status, bad_reason, bad_goid, bad_start],
        &[0xdead_0000, HEAP + 0xf_fff0],
    ))
    .snapshot(&clock)
    .unwrap();
    assert_eq!(
        snap.goroutines.iter().map(|g| g.goid).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(snap.skipped, 6);
}

#[test]
fn a_g_reused_while_being_read_is_dropped() {
    let mem = reader(target(&[waiting(1), waiting(2)], &[]));
    // Calls: 0 allgs header, 1 the array, 2 the gs; before 3 (the goid re-read) g 2 is freed
    // and reused by goroutine 77.
    let g2 = HEAP + 0x1000 + G_SIZE + offsets().goid;
    *mem.memory.before_call.borrow_mut() = Some((3, Box::new(move |f: &mut Fake| f.put(g2, 77))));
    let snap = mem.snapshot(&clock).unwrap();
    assert_eq!(
        snap.goroutines.iter().map(|g| g.goid).collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(snap.skipped, 1);
}

#[test]
fn a_stack_unwound_while_walked_ends_the_walk_without_garbage() {
    let mem = reader(target(&[waiting(1)], &[]));
    // Before the first frame read (call 4), the frame's return address is overwritten with
    // data (the goroutine ran on and reused its stack).
    let hi = HEAP + 0x8_0000 + STACK_SIZE;
    let frame = hi - 16 * 3;
    *mem.memory.before_call.borrow_mut() =
        Some((4, Box::new(move |f: &mut Fake| f.put(frame + 8, DATA + 16))));
    let snap = mem.snapshot(&clock).unwrap();
    assert_eq!(snap.goroutines[0].stack, vec![TEXT + 0x200]);
}

#[test]
fn the_target_exiting_mid_snapshot_gives_a_partial_snapshot() {
    let mut mem = reader(target(&[waiting(1), waiting(2)], &[]));
    mem.memory.gone_from_call = Some(2);
    let snap = mem.snapshot(&clock).unwrap();
    assert!(snap.partial);
    assert!(snap.goroutines.is_empty());
    // Gone before anything was read: an error, not an empty snapshot.
    let mut mem = reader(target(&[waiting(1)], &[]));
    mem.memory.gone_from_call = Some(0);
    assert!(mem.snapshot(&clock).is_err());
}

#[test]
fn an_allgs_header_that_does_not_hold_together_is_an_error() {
    let mut fake = target(&[waiting(1)], &[]);
    fake.put(ALLGS, 0x1234_0000); // the array pointer, torn
    assert!(reader(fake).snapshot(&clock).is_err());
    // allglen behind len(allgs) (read mid-append): only allglen entries are read.
    let mut fake = target(&[waiting(1), waiting(2)], &[]);
    fake.put(ALLGLEN, 1);
    let snap = reader(fake).snapshot(&clock).unwrap();
    assert_eq!(snap.goroutines.len(), 1);
}

#[test]
fn locked_goroutines_name_their_m() {
    let mut fake = target(&[waiting(1)], &[]);
    let m = HEAP + 0x9_0000;
    fake.put(m + offsets().m_id, 5);
    fake.put(HEAP + 0x1000 + offsets().lockedm, m);
    let snap = reader(fake).snapshot(&clock).unwrap();
    assert_eq!(snap.goroutines[0].locked_m, Some(5));
}

#[test]
fn offsets_come_from_every_layout_table() {
    for (minor, layout) in goinspect::tables::known() {
        let o = GOffsets::from_layout(&layout).unwrap_or_else(|e| panic!("go{minor}: {e}"));
        assert_eq!(o.parent_goid.is_some(), minor != "1.19", "go{minor}");
        assert!(o.span().1 <= 4096);
    }
}

#[test]
fn coalesced_reads_fall_back_to_each_range_across_a_hole() {
    let mem = FakeMemory {
        fake: RefCell::new(Fake {
            regions: vec![
                (0x1000, vec![1; 0x100], false),
                (0x1200, vec![2; 0x100], false),
            ],
        }),
        calls: Cell::new(0),
        before_call: RefCell::new(None),
        gone_from_call: None,
    };
    let ranges = [(0x1200, 16), (0x10f0, 16), (0x3000, 8), (0x1000, 4)];
    let read = crate::memory::read_coalesced(&mem, &ranges);
    assert_eq!(read.get(0), Some(&[2u8; 16][..]));
    assert_eq!(read.get(1), Some(&[1u8; 16][..]));
    assert_eq!(read.get(2), None);
    assert_eq!(read.get(3), Some(&[1u8; 4][..]));
    assert!(!read.cut_short);
    // The merged piece over the hole, then each of its ranges, then the lone unmapped one.
    assert!(mem.calls.get() >= 2);
}
