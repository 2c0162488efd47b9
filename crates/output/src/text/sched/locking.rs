//! LockOSThread: calls, goroutines locked to their thread and until when, threads destroyed
//! with a goroutine that exited locked; then Ms started, exited and parked.

use std::fmt::Write as _;

use goroscope_analysis::sched::locking::LockingReport;

use crate::format::{duration, head, heading_not_captured, more, site};

pub fn render(r: &LockingReport, out: &mut String) -> std::fmt::Result {
    let l = &r.lock_os_thread;
    let title = "LockOSThread";
    if !heading_not_captured(out, title, &l.coverage)? {
        writeln!(
            out,
            "\n{title}: {} calls by {} goroutines, {} UnlockOSThread calls seen (often inlined, then unseen)",
            l.calls, l.goroutines, l.unlock_calls
        )?;
        let e = &r.exited_locked;
        if e.coverage.captured && l.goroutines > 0 {
            writeln!(
                out,
                "  {} goroutines exited locked; {} of their threads destroyed",
                e.goroutines, e.threads_destroyed
            )?;
        }
        if !l.by_goroutine.is_empty() {
            writeln!(
                out,
                "  {:>9} {:>11} {:<18} {:>9}  CREATED AT",
                "LOCKS", "LOCKED", "UNTIL", "GOID"
            )?;
        }
        for g in head(&l.by_goroutine) {
            let locked = g.locked_ns.map_or("?".to_string(), duration);
            let mut notes = String::new();
            if g.locked_before_trace {
                notes.push_str(", locked before the trace");
            }
            if let Some(d) = &g.destroyed_thread {
                let m = d.m_id.map_or(String::new(), |m| format!(" (M {m})"));
                let _ = write!(notes, ", exited locked: thread {}{m}", d.tid);
                if !(d.m_exit_seen || d.thread_exit_seen) {
                    notes.push_str(" exit not seen");
                } else {
                    notes.push_str(" destroyed");
                }
            }
            writeln!(
                out,
                "  {:>9} {:>11} {:<18} {:>9}  {}{notes}",
                g.locks,
                locked,
                g.bound,
                g.goid,
                site(&g.function, &g.file, g.line)
            )?;
        }
        more(out, head(&l.by_goroutine).len(), l.goroutines)?;
    }
    let m = &r.ms;
    if !heading_not_captured(out, "Ms", &m.coverage)? {
        let parked = m.parked.map_or("parks not captured".to_string(), |p| {
            format!("{p} parks (stopm)")
        });
        writeln!(
            out,
            "\nMs: {} started, {} exited, {parked}",
            m.started, m.exited
        )?;
    }
    Ok(())
}
