//! LockOSThread: calls, goroutines locked to their thread and until when, threads destroyed
//! with a goroutine that exited locked; then Ms started, exited and parked.

use std::fmt::Write as _;

use goroscope_analysis::sched::locking::LockingReport;

use crate::format::{duration, head, heading_not_captured, more, site};

pub fn render(r: &LockingReport, out: &mut String) -> std::fmt::Result {
    let l = &r.lock_os_thread;
    let title = "LockOSThread";
    if !heading_not_captured(out, title, &l.coverage)? {
        // Goroutines locked before the trace may have made no call in it: say so, or the
        // goroutines outnumber the calls.
        let without_call = l.goroutines.saturating_sub(l.goroutines_calling);
        let before = if without_call > 0 {
            format!(
                " and {without_call} locked before the trace with no call seen ({} in all)",
                l.goroutines
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "\n{title}: {} calls by {} goroutines{before}, {} UnlockOSThread calls seen (often inlined, then unseen)",
            l.calls, l.goroutines_calling, l.unlock_calls
        )?;
        let e = &r.exited_locked;
        if e.coverage.captured && l.goroutines > 0 {
            write!(
                out,
                "  {} goroutines exited locked; {} of their threads destroyed",
                e.goroutines, e.threads_destroyed
            )?;
            if e.threads_wedged > 0 {
                write!(
                    out,
                    ", {} wedged (the main thread: parked for good, alive until the process exits)",
                    e.threads_wedged
                )?;
            }
            writeln!(out)?;
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
                if d.wedged {
                    notes.push_str(" wedged (the main thread is never destroyed)");
                } else if !(d.m_exit_seen || d.thread_exit_seen) {
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
    render_threads_destroyed(r, out)?;
    let m = &r.ms;
    if !heading_not_captured(out, "Ms", &m.coverage)? {
        let parked = m.parked.map_or("parks not captured".to_string(), |p| {
            format!("{p} parks (stopm)")
        });
        let wedged = if m.wedged > 0 {
            " (and M0 wedged: the main thread is never destroyed)".to_string()
        } else {
            String::new()
        };
        writeln!(
            out,
            "\nMs: {} started, {} exited{wedged}, {parked}",
            m.started, m.exited
        )?;
    }
    Ok(())
}

/// Threads the runtime destroyed: it only does so after a goroutine exits locked to its thread
/// (every M exit but M0's), so these are exact counts at every level; the site is the locked
/// goroutine's creation site (from its samples). Printed where goroutine exits are not traced
/// (below `full`): there the line on goroutines that exited locked says it already.
fn render_threads_destroyed(r: &LockingReport, out: &mut String) -> std::fmt::Result {
    let d = &r.threads_destroyed;
    if !d.coverage.captured || d.threads == 0 || r.exited_locked.coverage.captured {
        return Ok(());
    }
    writeln!(
        out,
        "  threads destroyed (M exits: each after a goroutine exited locked): {}, {} with the locking goroutine's site known",
        d.threads, d.site_known
    )?;
    for s in head(&d.by_site) {
        writeln!(
            out,
            "  {:>9}  {}",
            s.threads,
            site(&s.function, &s.file, s.line)
        )?;
    }
    let shown: u64 = head(&d.by_site).iter().map(|s| s.threads).sum();
    if d.by_site.len() > head(&d.by_site).len() {
        writeln!(
            out,
            "  … {} more threads at other sites (see --json)",
            d.site_known.saturating_sub(shown)
        )?;
    }
    Ok(())
}
