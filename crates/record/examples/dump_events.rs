//! Prints every event of a recording, one per line (a debugging aid):
//! `cargo run -p goroscope-record --example dump_events -- FILE [TID]`.
use goroscope_events::EventSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: dump_events FILE [TID]")?;
    let tid: Option<u32> = args.next().map(|t| t.parse()).transpose()?;
    let mut reader = goroscope_record::Reader::open(std::path::Path::new(&path))?;
    let mut batch = Vec::new();
    loop {
        batch.clear();
        let more = reader.next_batch(&mut batch)?;
        for e in &batch {
            let involves = |t: u32| {
                e.tid == t
                    || matches!(e.kind, goroscope_events::EventKind::Switch { prev_tid, next_tid, .. } if prev_tid == t || next_tid == t)
                    || matches!(e.kind, goroscope_events::EventKind::ThreadFork { child_tid } if child_tid == t)
            };
            if tid.is_none_or(involves) {
                println!("{} cpu{} tid{} {:?}", e.ts_ns, e.cpu, e.tid, e.kind);
            }
        }
        if !more {
            eprintln!("{:?}", reader.summary().stats);
            return Ok(());
        }
    }
}
