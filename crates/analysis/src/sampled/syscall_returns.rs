//! The sampled waits that came back from a system call (stop stack `syscall`), by creation
//! site of the goroutine, with the calls their stacks name: at the default level the only
//! link between a system call and the code that made it (the kernel aggregates count calls
//! by thread and number, not by goroutine). An estimate: 1 in 8 transitions are sampled, and
//! on Go 1.26+ only calls that lost their P (running↔syscall flips are not tracked).

use std::collections::{BTreeSet, HashMap};

use goroscope_events::{Location, Meta};
use serde::{Deserialize, Serialize};

use super::{Agg, StopKind};
use crate::sites::SiteKey;

/// How many sites are listed.
const TOP_SITES: usize = 10;

/// Packages whose exported wrappers are named after the system call they make.
const SYSCALL_PACKAGES: [&str; 3] = [
    "syscall.",
    "golang.org/x/sys/unix.",
    "internal/syscall/unix.",
];

/// A creation site whose sampled goroutines came back from system calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyscallReturnRow {
    pub function: String,
    pub file: String,
    pub line: u32,
    pub samples: u64,
    pub total_wait_ns: u64,
    /// The calls their stop stacks name, lowercase as the kernel names them (`fsync` from
    /// `syscall.Fsync`), sorted; empty where the stacks show only a generic `Syscall`.
    pub calls: Vec<String>,
}

/// The call a stop stack (innermost first) names: its innermost wrapper in a syscall package
/// that is not the generic `Syscall`/`RawSyscall` entry.
pub fn call_named(frames: &[Location]) -> Option<String> {
    frames.iter().find_map(|f| {
        let name = SYSCALL_PACKAGES
            .iter()
            .find_map(|p| f.function.strip_prefix(p))?;
        let lower = name.to_ascii_lowercase();
        let generic = lower.starts_with("syscall")
            || lower.starts_with("rawsyscall")
            || lower.starts_with("runtime_")
            || !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        (!generic).then_some(lower)
    })
}

/// The rows, most waited first, from the samples by (stop stack, site).
pub fn rows(
    by_stack_site: &HashMap<(Option<u32>, SiteKey), Agg>,
    meta: &Meta,
) -> Vec<SyscallReturnRow> {
    let mut by_site: HashMap<SiteKey, (Agg, BTreeSet<String>)> = HashMap::new();
    for ((stack, site), a) in by_stack_site {
        let frames: &[Location] = stack
            .and_then(|id| meta.stacks.get(&id))
            .map_or(&[], Vec::as_slice);
        if StopKind::of(frames, false) != StopKind::Syscall {
            continue;
        }
        let (sum, calls) = by_site.entry(*site).or_default();
        sum.samples += a.samples;
        sum.total_ns = sum.total_ns.saturating_add(a.total_ns);
        calls.extend(call_named(frames));
    }
    let mut rows: Vec<SyscallReturnRow> = by_site
        .into_iter()
        .map(|(site, (a, calls))| {
            let l = site.locate(meta.symbolizer.as_ref());
            SyscallReturnRow {
                function: l.function,
                file: l.file,
                line: l.line,
                samples: a.samples,
                total_wait_ns: a.total_ns,
                calls: calls.into_iter().collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.total_wait_ns, b.samples)
            .cmp(&(a.total_wait_ns, a.samples))
            .then_with(|| a.function.cmp(&b.function))
    });
    rows.truncate(TOP_SITES);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(names: &[&str]) -> Vec<Location> {
        names
            .iter()
            .map(|n| Location {
                function: n.to_string(),
                file: String::new(),
                line: 0,
            })
            .collect()
    }

    #[test]
    fn the_innermost_named_wrapper_names_the_call() {
        let f = frames(&[
            "syscall.Syscall",
            "syscall.Fsync",
            "internal/poll.(*FD).Fsync",
            "os.(*File).Sync",
        ]);
        assert_eq!(call_named(&f).as_deref(), Some("fsync"));
        let f = frames(&[
            "internal/runtime/syscall.Syscall6",
            "syscall.RawSyscall6",
            "syscall.write",
        ]);
        assert_eq!(call_named(&f).as_deref(), Some("write"));
        let f = frames(&["golang.org/x/sys/unix.Pread"]);
        assert_eq!(call_named(&f).as_deref(), Some("pread"));
        // Only the generic entry, or a closure: no name.
        assert_eq!(call_named(&frames(&["syscall.Syscall", "main.f"])), None);
        assert_eq!(call_named(&frames(&["syscall.forkExec.func1"])), None);
    }
}
