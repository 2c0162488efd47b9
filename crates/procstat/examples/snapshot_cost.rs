//! `snapshot_cost PID [ROUNDS]`: reads every goroutine of a running Go program ROUNDS times (10)
//! with procstat's `GoroutineReader`, as a recording session does, and prints what one snapshot
//! costs this process — wall time, CPU time (user + system, from getrusage) — its peak RSS, and
//! the size of the snapshot's JSON in a recording (before compression).
//! Run by bench/snapshot_cost.sh (as root, or as the target's owner with ptrace rights).

use std::time::Instant;

use procstat::{AllgsAddresses, GOffsets, GoroutineReader, ProcessMemory};

fn cpu_and_maxrss() -> (f64, i64) {
    // SAFETY: getrusage writes into the struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_maxrss)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pid: u32 = args
        .first()
        .ok_or("usage: snapshot_cost PID [ROUNDS]")?
        .parse()?;
    let rounds: u32 = args.get(1).map_or(Ok(10), |r| r.parse())?;
    let insp = goinspect::inspect_pid(pid, &goinspect::InspectOptions::default())?;
    let reader = GoroutineReader::new(
        ProcessMemory::new(pid)?,
        AllgsAddresses::at_load_bias(&insp, insp.load_bias.unwrap_or(0))?,
        GOffsets::from_layout(&insp.layout)?,
        insp.layout.constants.wait_reasons.len() as u64,
    )?;
    let epoch = Instant::now();
    let now = || epoch.elapsed().as_nanos() as u64;
    let (cpu_before, _) = cpu_and_maxrss();
    let started = Instant::now();
    let mut last = None;
    for _ in 0..rounds {
        last = Some(reader.snapshot(&now)?);
    }
    let wall = started.elapsed().as_secs_f64() / f64::from(rounds);
    let (cpu_after, maxrss_kb) = cpu_and_maxrss();
    let cpu = (cpu_after - cpu_before) / f64::from(rounds);
    let snap = last.ok_or("no rounds")?;
    let stacks: usize = snap.goroutines.iter().map(|g| g.stack.len()).sum();
    println!(
        "goroutines={} skipped={} stack_frames={} rounds={rounds} wall_ms_per_snapshot={:.2} \
         cpu_ms_per_snapshot={:.2} peak_rss_mb={:.1} json_mb={:.1}",
        snap.goroutines.len(),
        snap.skipped,
        stacks,
        wall * 1e3,
        cpu * 1e3,
        maxrss_kb as f64 / 1024.0,
        json_bytes(&snap)? as f64 / 1e6,
    );
    Ok(())
}

/// The size of the snapshot's JSON (as a recording stores it, before compression), counted
/// without keeping it.
fn json_bytes(snap: &goroscope_events::GoroutineSnapshot) -> serde_json::Result<usize> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, snap)?;
    Ok(count.0)
}
