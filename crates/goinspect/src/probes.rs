//! The runtime functions goroscope probes, with the Go versions each exists in. The set comes from
//! `go-runtime-internals.md` (measured on every supported toolchain) and what the tracer needs.
//! A function outside its version range is reported as not found without a warning; one inside
//! its range that is missing or inlined is a warning, because a probe on it would miss events.

use crate::version::GoVersion;

#[derive(Debug, Clone, Copy)]
pub struct ProbeTarget {
    /// pclntab name, e.g. "runtime.casgstatus" ("runtime.asyncPreempt" is ABI0 assembly).
    pub symbol: &'static str,
    /// First Go minor version that has it (1.x).
    pub since: u32,
    /// Last Go minor version that has it, if it was removed or always inlined later.
    pub until: Option<u32>,
    /// What goroscope learns from it.
    pub why: &'static str,
}

const fn t(symbol: &'static str, since: u32, until: Option<u32>, why: &'static str) -> ProbeTarget {
    ProbeTarget {
        symbol,
        since,
        until,
        why,
    }
}

pub const TARGETS: &[ProbeTarget] = &[
    // goroutine lifecycle
    t(
        "runtime.newproc1",
        19,
        None,
        "goroutine created: new g, parent g, go statement PC",
    ),
    t(
        "runtime.casgstatus",
        19,
        None,
        "every G status change that goes through the runtime's CAS",
    ),
    t(
        "runtime.execute",
        19,
        None,
        "goroutine starts running on this M/P",
    ),
    t(
        "runtime.gopark",
        19,
        None,
        "goroutine parks, with its wait reason",
    ),
    t("runtime.park_m", 19, None, "parking completes on g0"),
    t(
        "runtime.ready",
        19,
        None,
        "goroutine made runnable (goready is inlined from 1.21)",
    ),
    t(
        "runtime.goexit1",
        19,
        None,
        "goroutine exits (on its own stack)",
    ),
    t(
        "runtime.goexit0",
        19,
        None,
        "goroutine exit completes on g0",
    ),
    t("runtime.gdestroy", 22, None, "goroutine freed (1.22+)"),
    t("runtime.Goexit", 19, None, "explicit runtime.Goexit"),
    // scheduling
    t("runtime.schedule", 19, None, "scheduler loop iteration"),
    t("runtime.findRunnable", 19, None, "looking for work"),
    t(
        "runtime.runqsteal",
        19,
        None,
        "work stealing: thief P, victim P",
    ),
    t(
        "runtime.runqgrab",
        19,
        None,
        "how many goroutines a steal took",
    ),
    t(
        "runtime.runqput",
        19,
        None,
        "goroutine put on a P's local run queue",
    ),
    t(
        "runtime.globrunqget",
        19,
        Some(24),
        "take from the global run queue (inlined from 1.25)",
    ),
    t(
        "runtime.globrunqgetbatch",
        25,
        None,
        "take a batch from the global run queue (1.25+)",
    ),
    t("runtime.stealWork", 19, None, "spinning M tries to steal"),
    t(
        "runtime.netpoll",
        19,
        None,
        "network poller returns ready goroutines",
    ),
    t(
        "runtime.injectglist",
        19,
        None,
        "goroutines from the netpoller/GC made runnable",
    ),
    t("runtime.wakep", 19, None, "an idle P is woken for new work"),
    // yielding and preemption
    t("runtime.gosched_m", 19, None, "voluntary Gosched (on g0)"),
    t(
        "runtime.goschedImpl",
        19,
        None,
        "goroutine yields or is preempted at a prologue",
    ),
    t("runtime.goschedguarded_m", 19, None, "guarded yield"),
    t(
        "runtime.newproc.func1",
        19,
        None,
        "the go statement's systemstack closure: its CALL of runqput holds the new g",
    ),
    t(
        "runtime.gopreempt_m",
        19,
        Some(25),
        "preempted at a prologue (no symbol from 1.26; goschedImpl says it from 1.22)",
    ),
    t(
        "runtime.preemptone",
        19,
        None,
        "sysmon/GC asks a P's goroutine to stop",
    ),
    t(
        "runtime.signalM",
        19,
        None,
        "SIGURG sent to a thread (preemptM is inlined)",
    ),
    t(
        "runtime.doSigPreempt",
        19,
        None,
        "SIGURG handled: async preemption point check",
    ),
    t(
        "runtime.asyncPreempt",
        19,
        None,
        "async preemption taken (ABI0 assembly)",
    ),
    t(
        "runtime.asyncPreempt2",
        19,
        None,
        "async preemption, R14 = g guaranteed",
    ),
    t(
        "runtime.preemptPark",
        19,
        None,
        "preempted goroutine parked for GC/suspend",
    ),
    t("runtime.suspendG", 19, None, "GC suspends a goroutine"),
    t("runtime.sysmon", 19, None, "the sysmon thread"),
    t(
        "runtime.retake",
        19,
        None,
        "sysmon retakes Ps from syscalls / long runners",
    ),
    // syscalls and hand-offs
    t(
        "runtime.entersyscall",
        19,
        None,
        "goroutine enters a syscall",
    ),
    t(
        "runtime.reentersyscall",
        19,
        None,
        "syscall entry, pc/sp of the caller",
    ),
    t(
        "runtime.entersyscallblock",
        19,
        None,
        "blocking syscall: P handed off at once",
    ),
    t(
        "runtime.exitsyscall",
        19,
        None,
        "goroutine returns from a syscall",
    ),
    t(
        "runtime.exitsyscallfast",
        19,
        Some(25),
        "fast syscall return path (≤1.25)",
    ),
    t(
        "runtime.exitsyscall0",
        19,
        Some(25),
        "slow syscall return, no P (≤1.25)",
    ),
    t(
        "runtime.exitsyscallTryGetP",
        26,
        None,
        "syscall return tries to get a P (1.26+)",
    ),
    t(
        "runtime.exitsyscallNoP",
        26,
        None,
        "slow syscall return, no P (1.26+)",
    ),
    t(
        "runtime.handoffp",
        19,
        None,
        "P handed off from a blocked M",
    ),
    // threads (M) and Ps
    t("runtime.newm", 19, None, "new M requested"),
    t("runtime.newosproc", 19, None, "OS thread created for an M"),
    t("runtime.mstart1", 19, None, "new M starts on its thread"),
    t(
        "runtime.mexit",
        19,
        None,
        "M exits (e.g. goroutine exited while locked)",
    ),
    t(
        "runtime.startm",
        19,
        None,
        "idle M woken or created to run a P",
    ),
    t("runtime.stopm", 19, None, "M parks idle"),
    t("runtime.acquirep", 19, None, "M takes a P"),
    t("runtime.releasep", 19, None, "M gives up its P"),
    t(
        "runtime.stoplockedm",
        19,
        None,
        "locked M waits for its goroutine",
    ),
    t("runtime.startlockedm", 19, None, "hand the P to a locked M"),
    t(
        "runtime.LockOSThread",
        19,
        None,
        "goroutine wires itself to its thread",
    ),
    t(
        "runtime.UnlockOSThread",
        19,
        None,
        "unlock (often inlined into callers)",
    ),
    t("runtime.unlockOSThread", 19, None, "internal unlock"),
    // GOMAXPROCS, stop-the-world, GC
    t("runtime.procresize", 19, None, "GOMAXPROCS takes effect"),
    t(
        "runtime.GOMAXPROCS",
        19,
        None,
        "user call to runtime.GOMAXPROCS",
    ),
    t(
        "runtime.stopTheWorldWithSema",
        19,
        None,
        "stop-the-world begins (reason from 1.21)",
    ),
    t(
        "runtime.startTheWorldWithSema",
        19,
        None,
        "stop-the-world ends",
    ),
    t("runtime.gcStart", 19, None, "GC cycle starts"),
];

impl ProbeTarget {
    /// Short name: "casgstatus" for "runtime.casgstatus".
    pub fn short_name(&self) -> &'static str {
        self.symbol.strip_prefix("runtime.").unwrap_or(self.symbol)
    }

    /// Whether this Go version's runtime should have the function as its own symbol.
    pub fn expected_in(&self, v: &GoVersion) -> bool {
        v.major == 1 && v.minor >= self.since && self.until.is_none_or(|u| v.minor <= u)
    }
}

/// Looks a target up by short or full name.
pub fn target(name: &str) -> Option<&'static ProbeTarget> {
    TARGETS
        .iter()
        .find(|t| t.symbol == name || t.short_name() == name)
}
