//! Where each tracer uprobe goes: from goinspect's function table to `(program, file offset)`
//! pairs. Entry probes sit at `file_offset + safe_probe_offset` (after the stack-check prologue:
//! cheaper, registers intact, no double hit through morestack); the probe that needs a return
//! value (newproc1's new g) sits on every RET instruction, never on a uretprobe, which
//! would crash the Go program when its stack moves. Pure data: unit-tested without BPF.

use goinspect::{FunctionInfo, Inspection};

/// How much the tracer captures. Defined with what each level captures (its capabilities) in
/// goroscope_events; this file maps each level to the probes that capture it (`PROBES`, and the
/// tracepoints in `Tracer::attach`).
pub use goroscope_events::Level;

/// Whether the tracer keeps kernel-side aggregates in BPF maps at `level` (the scheduler and
/// syscall tracepoints then update `kagg_*`, tracer_kagg.bpf.h): when the level captures
/// [`Fact::KernelAggregates`](goroscope_events::Fact::KernelAggregates).
pub fn kernel_aggregates(level: Level) -> bool {
    level
        .capabilities()
        .get(goroscope_events::Fact::KernelAggregates)
        .captures()
}

/// Whether the scheduler and syscall tracepoints emit one record per context switch, wake-up
/// and system call at `level`: when the level captures them one by one.
pub fn kernel_records(level: Level) -> bool {
    let c = level.capabilities();
    [
        goroscope_events::Fact::ContextSwitches,
        goroscope_events::Fact::KernelSyscalls,
    ]
    .into_iter()
    .any(|f| c.get(f).captures())
}

/// A BPF program of tracer.bpf.c that attaches to a Go function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UprobeProgram {
    NewprocRunqput,
    NewprocRet,
    Casgstatus,
    Execute,
    Gopark,
    Ready,
    Gosched,
    GoschedM,
    GopreemptM,
    Goexit1,
    Mstart1,
    Mexit,
    Stopm,
    Runqsteal,
    Preemptone,
    AsyncPreempt2,
    PreemptPark,
    Reentersyscall,
    Entersyscallblock,
    Exitsyscall,
    Handoffp,
    LockOSThread,
    UnlockOSThread,
    Procresize,
    StwBegin,
    StwStopped,
    StwEnd,
    GcStart,
    /// casgstatus's tracked runnable→running path (the runtime's 1-in-8 sampler).
    Sample,
}

/// Where in its function a program probes: the entry (after the prologue), each RET, or each
/// direct CALL of another function (a `call rel32`, which the kernel emulates: cheap, unlike the
/// single-stepped RET; the callee's arguments are in their registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Entry,
    EachRet,
    CallTo(&'static str),
    /// The instruction goinspect's `sampler.rs` found on casgstatus's tracked
    /// runnable→running path (`Inspection::sampler`).
    Sampler,
}

/// One row of the probe table.
struct Probe {
    symbol: &'static str,
    program: UprobeProgram,
    placement: Placement,
    /// The lowest level that attaches it.
    level: Level,
    /// Go minor versions it applies to (inclusive); the function may exist outside them but
    /// another probe covers its events there.
    since: u32,
    until: u32,
    /// Used instead when this one finds no site in the binary.
    fallback: Option<&'static Probe>,
}

const fn probe(
    symbol: &'static str,
    program: UprobeProgram,
    placement: Placement,
    level: Level,
) -> Probe {
    Probe {
        symbol,
        program,
        placement,
        level,
        since: 0,
        until: u32::MAX,
        fallback: None,
    }
}

const fn or_else(p: Probe, fallback: &'static Probe) -> Probe {
    Probe {
        fallback: Some(fallback),
        ..p
    }
}

const fn versions(p: Probe, since: u32, until: u32) -> Probe {
    Probe { since, until, ..p }
}

use Level::{Default as D, Full as F, Monitor as M};
use Placement::{CallTo, EachRet, Entry, Sampler};
use UprobeProgram as P;

/// Go function → program. Every one is a plain runtime symbol in Go 1.19 and 1.21–1.27
/// (go-runtime-internals.md, table 1); their arguments are listed in tracer.bpf.c.
const PROBES: &[Probe] = &[
    // A new goroutine: the go statement's closure calls runqput(pp, newg, next) right after
    // newproc1 made newg. That CALL is emulated; newproc1's RETs (the fallback) are stepped.
    or_else(
        probe(
            "runtime.newproc.func1",
            P::NewprocRunqput,
            CallTo("runtime.runqput"),
            F,
        ),
        &NEWPROC1_RETS,
    ),
    // The default level: the runtime's own sampler, one trap per 8 goroutine switches.
    probe("runtime.casgstatus", P::Sample, Sampler, D),
    probe("runtime.casgstatus", P::Casgstatus, Entry, F),
    probe("runtime.execute", P::Execute, Entry, F),
    probe("runtime.gopark", P::Gopark, Entry, F),
    probe("runtime.ready", P::Ready, Entry, F),
    // goschedImpl says whether it preempts from Go 1.22; before, its two callers do.
    versions(
        probe("runtime.goschedImpl", P::Gosched, Entry, F),
        22,
        u32::MAX,
    ),
    versions(probe("runtime.gosched_m", P::GoschedM, Entry, F), 0, 21),
    versions(probe("runtime.gopreempt_m", P::GopreemptM, Entry, F), 0, 21),
    probe("runtime.goexit1", P::Goexit1, Entry, F),
    probe("runtime.mstart1", P::Mstart1, Entry, M),
    probe("runtime.mexit", P::Mexit, Entry, M),
    probe("runtime.stopm", P::Stopm, Entry, F),
    probe("runtime.runqsteal", P::Runqsteal, Entry, F),
    probe("runtime.preemptone", P::Preemptone, Entry, M),
    probe("runtime.asyncPreempt2", P::AsyncPreempt2, Entry, F),
    probe("runtime.preemptPark", P::PreemptPark, Entry, F),
    probe("runtime.reentersyscall", P::Reentersyscall, Entry, F),
    probe("runtime.entersyscallblock", P::Entersyscallblock, Entry, F),
    probe("runtime.exitsyscall", P::Exitsyscall, Entry, F),
    probe("runtime.handoffp", P::Handoffp, Entry, M),
    probe("runtime.LockOSThread", P::LockOSThread, Entry, M),
    probe("runtime.UnlockOSThread", P::UnlockOSThread, Entry, M),
    probe("runtime.procresize", P::Procresize, Entry, M),
    probe("runtime.stopTheWorldWithSema", P::StwBegin, Entry, M),
    probe("runtime.stopTheWorldWithSema", P::StwStopped, EachRet, M),
    probe("runtime.startTheWorldWithSema", P::StwEnd, EachRet, M),
    probe("runtime.gcStart", P::GcStart, Entry, M),
];

const NEWPROC1_RETS: Probe = probe("runtime.newproc1", P::NewprocRet, EachRet, F);

/// Functions whose direct calls the compiler inlines into user code: a probe on the symbol sees
/// only the calls that were not inlined, which the report says; no warning per binary.
const OFTEN_INLINED: &[&str] = &["runtime.UnlockOSThread"];

/// Runtime API the program calls itself: the linker drops them from programs that never do,
/// and then there is nothing to see, so their absence is no warning.
const ONLY_IF_CALLED: &[&str] = &["runtime.LockOSThread", "runtime.UnlockOSThread"];

/// One uprobe to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UprobeSite {
    pub program: UprobeProgram,
    /// pclntab symbol, e.g. "runtime.casgstatus".
    pub symbol: String,
    /// ELF file offset of the probed instruction (what uprobes attach by).
    pub file_offset: u64,
}

/// The uprobes to attach at `level` for Go 1.`go_minor`, and a warning for each function that
/// cannot be probed (the events it would give are then missing from the trace).
pub fn uprobe_sites(
    inspection: &Inspection,
    level: Level,
    go_minor: u32,
) -> (Vec<UprobeSite>, Vec<String>) {
    let mut sites = Vec::new();
    let mut warnings = Vec::new();
    let wanted = PROBES
        .iter()
        .filter(|p| p.level <= level && (p.since..=p.until).contains(&go_minor));
    for probe in wanted {
        let before = sites.len();
        let mut local = Vec::new();
        place(inspection, probe, &mut sites, &mut local);
        if sites.len() == before {
            if let Some(fallback) = probe.fallback {
                tracing::debug!("{}: using {} instead", probe.symbol, fallback.symbol);
                place(inspection, fallback, &mut sites, &mut warnings);
                continue;
            }
        }
        warnings.append(&mut local);
    }
    (sites, warnings)
}

/// The sites of one probe in the binary (none, with a warning, if its function is missing).
fn place(
    inspection: &Inspection,
    probe: &Probe,
    sites: &mut Vec<UprobeSite>,
    warnings: &mut Vec<String>,
) {
    let Probe {
        symbol,
        program,
        placement,
        ..
    } = probe;
    let Some(func) = inspection
        .functions
        .iter()
        .find(|f| f.symbol == *symbol && f.found)
    else {
        if !ONLY_IF_CALLED.contains(symbol) {
            warnings.push(format!(
                "{symbol} was not found in the binary: its events ({program:?}) will be missing"
            ));
        }
        return;
    };
    let offsets: Vec<u64> = match placement {
        Placement::Entry => vec![func.safe_probe_offset],
        Placement::EachRet => func.ret_offsets.clone(),
        Placement::CallTo(callee) => func
            .call_sites
            .iter()
            .filter(|c| c.callee == *callee)
            .map(|c| c.offset)
            .collect(),
        Placement::Sampler => inspection.sampler.iter().map(|p| p.offset).collect(),
    };
    if offsets.is_empty() {
        warnings.push(format!(
            "{symbol}: no {placement:?} site that goinspect could find: its events ({program:?}) \
             will be missing"
        ));
    }
    for offset in offsets {
        match func.file_offset.checked_add(offset) {
            Some(file_offset) => sites.push(site(*program, func, file_offset)),
            None => warnings.push(format!("{symbol}: probe offset overflows")),
        }
    }
    if func.inlined_copies > 0 && !OFTEN_INLINED.contains(symbol) {
        warnings.push(format!(
            "{symbol} is also inlined at {} call sites: events from those are missing",
            func.inlined_copies
        ));
    }
}

fn site(program: UprobeProgram, func: &FunctionInfo, file_offset: u64) -> UprobeSite {
    UprobeSite {
        program,
        symbol: func.symbol.clone(),
        file_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(symbol: &str, found: bool, safe: u64, rets: &[u64]) -> FunctionInfo {
        FunctionInfo {
            name: symbol.trim_start_matches("runtime.").into(),
            symbol: symbol.into(),
            found,
            entry: 0x401000,
            end: 0x401100,
            file_offset: 0x1000,
            safe_probe_offset: safe,
            safe_probe_instruction: "push rbp".into(),
            safe_probe_emulated: true,
            has_stack_check: safe > 0,
            ret_offsets: rets.to_vec(),
            call_sites: Vec::new(),
            inlined_copies: 0,
            inlined_source: "none".into(),
            symtab_entry: None,
        }
    }

    /// An Inspection with only these functions, without going through a binary.
    fn with_functions(functions: Vec<FunctionInfo>) -> Inspection {
        Inspection {
            path: String::new(),
            pid: None,
            build: Default::default(),
            binary: goinspect::BinaryFacts {
                pie: false,
                has_dwarf: false,
                has_symtab: false,
                cgo: false,
                external_linker: false,
                go_build_id: None,
                gnu_build_id: None,
                pclntab_format: String::new(),
                pclntab_functions: 0,
                text_start: 0,
            },
            functions,
            layout: goinspect::RuntimeLayout {
                source: String::new(),
                structs: Default::default(),
                constants: Default::default(),
                sched_address: None,
                gomaxprocs_address: None,
                memstats_address: None,
                allm_address: None,
                allgs_address: None,
                allglen_address: None,
            },
            load_bias: None,
            warnings: Vec::new(),
            sampler: None,
        }
    }

    #[test]
    fn goroutine_creation_is_probed_at_the_call_of_runqput() {
        let mut closure = func("runtime.newproc.func1", true, 4, &[0x60]);
        closure.call_sites = vec![
            goinspect::CallSite {
                offset: 0x20,
                callee: "runtime.newproc1".into(),
            },
            goinspect::CallSite {
                offset: 0x40,
                callee: "runtime.runqput".into(),
            },
        ];
        let insp = with_functions(vec![closure, func("runtime.newproc1", true, 10, &[0x80])]);
        let (sites, warnings) = uprobe_sites(&insp, Level::Full, 27);
        let creation: Vec<(UprobeProgram, u64)> = sites
            .iter()
            .filter(|s| s.symbol.contains("newproc"))
            .map(|s| (s.program, s.file_offset))
            .collect();
        assert_eq!(creation, vec![(UprobeProgram::NewprocRunqput, 0x1040)]);
        assert!(
            !warnings.iter().any(|w| w.contains("newproc")),
            "{warnings:?}"
        );
    }

    #[test]
    fn entry_probes_skip_the_prologue_and_newproc1_gets_every_ret() {
        let insp = with_functions(vec![
            func("runtime.newproc1", true, 10, &[0x80, 0xf0]),
            func("runtime.casgstatus", true, 0, &[0x40]),
            func("runtime.execute", true, 6, &[0x40]),
        ]);
        let (sites, warnings) = uprobe_sites(&insp, Level::Full, 27);
        let got: Vec<(UprobeProgram, u64)> =
            sites.iter().map(|s| (s.program, s.file_offset)).collect();
        assert_eq!(
            got,
            vec![
                (UprobeProgram::NewprocRet, 0x1080),
                (UprobeProgram::NewprocRet, 0x10f0),
                (UprobeProgram::Casgstatus, 0x1000),
                (UprobeProgram::Execute, 0x1006),
            ]
        );
        // newproc.func1 is missing, so newproc1's RETs stand in for it, silently. Every other
        // function of the full level for Go 1.27 is absent from this inspection (the
        // program-called API without a warning).
        let full_127 = PROBES.iter().filter(|p| p.until >= 27).count();
        assert_eq!(
            warnings.len(),
            full_127 - 3 - ONLY_IF_CALLED.len(),
            "{warnings:?}"
        );
        // casgstatus is only attached at the full level.
        let (sites, _) = uprobe_sites(&insp, Level::Default, 27);
        assert!(sites.iter().all(|s| s.program != UprobeProgram::Casgstatus));
        let (sites, _) = uprobe_sites(&insp, Level::Monitor, 27);
        assert!(sites.is_empty(), "{sites:?}");
    }

    #[test]
    fn not_found_and_ret_less_functions_are_warnings() {
        let insp = with_functions(vec![
            func("runtime.newproc1", true, 10, &[]),
            func("runtime.gopark", false, 10, &[0x40]),
        ]);
        let (sites, warnings) = uprobe_sites(&insp, Level::Full, 27);
        assert!(sites.is_empty());
        assert!(warnings.iter().any(|w| w.contains("runtime.newproc1")));
        assert!(warnings.iter().any(|w| w.contains("runtime.gopark")));
    }
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn yields_are_probed_where_the_go_version_says_why() {
        let programs = |minor| -> Vec<UprobeProgram> {
            PROBES
                .iter()
                .filter(|p| (p.since..=p.until).contains(&minor))
                .map(|p| p.program)
                .collect()
        };
        for minor in [19, 21] {
            let got = programs(minor);
            assert!(got.contains(&UprobeProgram::GoschedM));
            assert!(got.contains(&UprobeProgram::GopreemptM));
            assert!(!got.contains(&UprobeProgram::Gosched));
        }
        for minor in [22, 26, 27] {
            let got = programs(minor);
            assert!(got.contains(&UprobeProgram::Gosched));
            assert!(!got.contains(&UprobeProgram::GopreemptM));
        }
        assert_eq!(Level::from_name("monitor"), Some(Level::Monitor));
        assert!(Level::Monitor < Level::Default && Level::Default < Level::Full);
    }
}

/// The probe table and the capabilities table (`Level::capabilities`) say the same thing.
#[cfg(test)]
mod capability_tests {
    use goroscope_events::Fact;

    use super::*;

    /// The fact each program's events are (programs that only refine another fact's events,
    /// like the yield variants, map to that fact).
    fn fact_of(program: UprobeProgram) -> Fact {
        use UprobeProgram as P;
        match program {
            P::NewprocRunqput
            | P::NewprocRet
            | P::Execute
            | P::Gopark
            | P::Ready
            | P::Gosched
            | P::GoschedM
            | P::GopreemptM
            | P::Goexit1
            | P::Runqsteal
            | P::AsyncPreempt2
            | P::PreemptPark => Fact::GoroutineScheduling,
            P::Casgstatus => Fact::StatusChanges,
            P::Mstart1 | P::Mexit => Fact::MLifecycle,
            P::Stopm => Fact::IdleMs,
            P::Preemptone => Fact::PreemptRequests,
            P::Reentersyscall | P::Entersyscallblock | P::Exitsyscall => Fact::RuntimeSyscalls,
            P::Handoffp => Fact::PHandoffs,
            P::LockOSThread | P::UnlockOSThread => Fact::LockOsThread,
            P::Procresize => Fact::Gomaxprocs,
            P::StwBegin | P::StwStopped | P::StwEnd => Fact::StopTheWorld,
            P::GcStart => Fact::Gc,
            P::Sample => Fact::SampledScheduling,
        }
    }

    #[test]
    fn a_level_captures_a_fact_exactly_when_it_attaches_its_probes() {
        for level in Level::ALL {
            let capabilities = level.capabilities();
            for probe in PROBES.iter().chain([&NEWPROC1_RETS]) {
                let fact = fact_of(probe.program);
                assert_eq!(
                    probe.level <= level,
                    capabilities.get(fact).captures(),
                    "{} at the {level} level: {fact:?}",
                    probe.symbol
                );
            }
        }
    }
}
