//! Preemption and time slices.

use goroscope_analysis::testutil::{location, meta, StreamBuilder};
use goroscope_events::{EventKind, Level};
use goroscope_output::text::sched::preemption::render;

use super::at_level;
use crate::support::report;

const HOG_PC: u64 = 0x5000;
const MS: u64 = 1_000_000;
const SIGURG: u32 = 23;

#[test]
fn a_hog_sliced_by_async_preemptions_comes_out_on_top() {
    // A goroutine running main.hog, stopped by SIGURG every 10 ms and yielding, three times.
    let mut s = StreamBuilder::new();
    s.on(0, 100).emit(EventKind::GoCreate {
        goid: 7,
        parent_goid: 1,
        creation_pc: 0x1000,
        start_pc: HOG_PC,
        p_id: 0,
    });
    for _ in 0..3 {
        s.go_start(7, 0, 0).advance(10 * MS);
        s.emit(EventKind::AsyncPreempt {
            goid: 7,
            stack_id: None,
        });
        s.emit(EventKind::GoYield {
            goid: 7,
            preempted: Some(true),
        });
    }
    s.go_start(7, 0, 0).advance(MS).m_start(3);
    // testutil's symbolizer resolves the 5 bytes before each pc given.
    let m = meta(&[(HOG_PC + 1, location("main.hog", 10))]).with_level(Level::Full);
    let r = report(s.build(), &m).scheduler.preemption;
    let mut text = String::new();
    render(&r, &mut text).unwrap();
    assert!(text.contains("main.hog"), "{text}");
    assert!(text.contains("3 async (3 then yielded"), "{text}");
}

#[test]
fn the_monitor_level_measures_requests_but_not_slices() {
    let mut s = StreamBuilder::new();
    s.on(1, 50).emit(EventKind::PreemptRequest {
        goid: 7,
        p_id: 0,
        by_sysmon: true,
    });
    s.emit(EventKind::SignalSend {
        sig: SIGURG,
        target_tid: 100,
        result: 0,
    });
    let r = report(s.build(), &at_level("monitor")).scheduler.preemption;
    let mut text = String::new();
    render(&r, &mut text).unwrap();
    assert!(text.contains("not captured"), "{text}");
    assert!(!text.contains("async ("), "{text}");
}
