//! What a recording captured: the tracer [`Level`] it was made at and, per kind of fact, whether
//! the stream holds every occurrence, a sample, snapshots read from memory, or nothing
//! ([`Capabilities`]). Sections of the report decide "captured / not captured, and why" from
//! these instead of comparing level names; [`Level::capabilities`] is the one table that maps a
//! level to them (the probes behind it are in crates/bpf/src/tracer/plan.rs).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much the tracer captures, trading detail for cost (each level includes the ones before).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Low-frequency runtime decisions only (GOMAXPROCS, stop-the-world, GC starts, sysmon's
    /// preemption requests and P hand-offs, LockOSThread, M start/exit) plus thread and signal
    /// tracepoints: cheap enough to leave on. No per-goroutine stream.
    Monitor,
    /// Monitor plus the scheduling episodes the runtime itself samples (one goroutine switch in
    /// 8: who waited to run, how long, where it had stopped; sampled creations), and the
    /// kernel's aggregates (issue 11 part 2). No per-event stream: estimates with intervals.
    #[default]
    Default,
    /// Every event: every goroutine's life and scheduling (create, run, park, ready, yield,
    /// exit, steals, async preemption, syscalls through the runtime and the kernel), context
    /// switches, every status change (`casgstatus`) and the user stack at each park. This is
    /// what the default level captured in recording formats up to 3 (plus the old full level).
    Full,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Monitor, Level::Default, Level::Full];

    /// The name `--level` takes and recordings store.
    pub fn name(self) -> &'static str {
        match self {
            Level::Monitor => "monitor",
            Level::Default => "default",
            Level::Full => "full",
        }
    }

    /// `None` for an empty or unknown name.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Every level's name, lowest first (the values `--level` accepts).
    pub fn names() -> [&'static str; 3] {
        Level::ALL.map(Level::name)
    }

    /// What a recording made at this level holds. The one table of the mapping: a row per
    /// fact, a column per level ("-" absent, "all" complete, "mem" snapshots read from the
    /// target's memory, whatever the level).
    ///
    /// | fact                   | monitor | default | full |
    /// |------------------------|---------|---------|------|
    /// | goroutine_scheduling   | -       | -       | all  |
    /// | status_changes         | -       | -       | all  |
    /// | park_stacks            | -       | -       | all  |
    /// | runtime_syscalls       | -       | -       | all  |
    /// | kernel_syscalls        | -       | -       | all  |
    /// | context_switches       | -       | -       | all  |
    /// | idle_ms                | -       | -       | all  |
    /// | preempt_requests       | all     | all     | all  |
    /// | p_handoffs             | all     | all     | all  |
    /// | lock_os_thread         | all     | all     | all  |
    /// | m_lifecycle            | all     | all     | all  |
    /// | gomaxprocs             | all     | all     | all  |
    /// | stop_the_world         | all     | all     | all  |
    /// | gc                     | all     | all     | all  |
    /// | threads                | all     | all     | all  |
    /// | signals                | all     | all     | all  |
    /// | sched_counters         | mem     | mem     | mem  |
    /// | goroutine_states       | mem     | mem     | mem  |
    /// | runtime_metrics        | mem     | mem     | mem  |
    /// | sampled_scheduling     | -       | 1/8     | 1/8  |
    /// | kernel_aggregates      | -       | all     | all  |
    pub fn capabilities(self) -> Capabilities {
        use Capability::{Absent, Complete, Snapshot};
        let from = |lowest: Level| if self >= lowest { Complete } else { Absent };
        let mut c = Capabilities::unknown();
        for fact in Fact::ALL {
            let capability = match fact {
                Fact::GoroutineScheduling
                | Fact::RuntimeSyscalls
                | Fact::KernelSyscalls
                | Fact::ContextSwitches
                | Fact::IdleMs
                | Fact::StatusChanges
                | Fact::ParkStacks => from(Level::Full),
                // The runtime's own sampler: about one switch in gTrackingPeriod.
                Fact::SampledScheduling if self >= Level::Default => Capability::Sampled {
                    one_in: G_TRACKING_PERIOD,
                },
                Fact::SampledScheduling => Absent,
                // Kernel-side aggregates in BPF maps (exact counters of every thread).
                Fact::KernelAggregates => from(Level::Default),
                Fact::PreemptRequests
                | Fact::PHandoffs
                | Fact::LockOsThread
                | Fact::MLifecycle
                | Fact::Gomaxprocs
                | Fact::StopTheWorld
                | Fact::Gc
                | Fact::Threads
                | Fact::Signals => from(Level::Monitor),
                // Read by the session from the target's memory at every level.
                Fact::SchedCounters | Fact::GoroutineStates | Fact::RuntimeMetrics => Snapshot,
            };
            c.set(fact, capability);
        }
        c
    }

    /// What a recording in format version 3 or older made at this level captured: the same
    /// as today except that its `default` was today's `full` without status changes and park
    /// stacks, and no level had sampled episodes.
    pub fn legacy_capabilities(self) -> Capabilities {
        let mut c = match self {
            Level::Default => {
                let mut c = Level::Full.capabilities();
                c.set(Fact::StatusChanges, Capability::Absent);
                c.set(Fact::ParkStacks, Capability::Absent);
                c
            }
            other => other.capabilities(),
        };
        c.set(Fact::SampledScheduling, Capability::Absent);
        c.set(Fact::KernelAggregates, Capability::Absent);
        c
    }

    /// The lowest level that captures `fact` (`None` if no level does).
    pub fn lowest_capturing(fact: Fact) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.capabilities().get(fact).captures())
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The runtime's `gTrackingPeriod` (proc.go): a goroutine's scheduling is tracked on one
/// transition out of running in this many, the same in every supported Go version.
pub const G_TRACKING_PERIOD: u32 = 8;

/// `"bogus".parse::<Level>()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tracer level {0:?} (expected monitor, default or full)")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Level, UnknownLevel> {
        Level::from_name(s).ok_or_else(|| UnknownLevel(s.to_string()))
    }
}

/// A kind of fact the report's sections are built from (the JSON names are the snake_case
/// variant names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fact {
    /// Goroutine creations, runs (`execute`), parks, readies, yields, exits, steals, async
    /// preemptions.
    GoroutineScheduling,
    /// Every goroutine status change (`casgstatus`).
    StatusChanges,
    /// The user stack of a goroutine at each park.
    ParkStacks,
    /// Syscalls through the runtime (`entersyscall`/`exitsyscall`).
    RuntimeSyscalls,
    /// Syscalls as the kernel sees them (`raw_syscalls` tracepoints).
    KernelSyscalls,
    /// Thread context switches and wake-ups (`sched_switch`, `sched_wakeup`).
    ContextSwitches,
    /// Ms going idle (`stopm`).
    IdleMs,
    /// sysmon's preemption requests (`preemptone`).
    PreemptRequests,
    /// P hand-offs (`handoffp`).
    PHandoffs,
    /// `LockOSThread`/`UnlockOSThread` calls (the ones the compiler did not inline).
    LockOsThread,
    /// M starts and exits (`mstart1`, `mexit`).
    MLifecycle,
    /// GOMAXPROCS changes (`procresize`).
    Gomaxprocs,
    /// Stop-the-world pauses.
    StopTheWorld,
    /// GC cycle starts (`gcStart`).
    Gc,
    /// Thread creations and exits (`sched_process_fork`/`exit`).
    Threads,
    /// Signals sent and delivered (SIGURG preemption).
    Signals,
    /// The scheduler's own counters (`sched.npidle`, `nmspinning`, run queue, GOMAXPROCS).
    SchedCounters,
    /// Every goroutine's state, wait reason, creation site and stack, from `runtime.allgs`
    /// (goroutine snapshots).
    GoroutineStates,
    /// The runtime's own statistics (`runtime/metrics`' scheduler histograms, mutex wait,
    /// goroutines created, threads, GC cycles), read about once a second and at the end.
    RuntimeMetrics,
    /// The runtime's own 1-in-8 scheduling sampler: tracked runnable→running transitions with
    /// the runtime's measured wait, the goroutine's site, start function and stop stack
    /// (`go_sample` events).
    SampledScheduling,
    /// Per-thread on/off-CPU time, switches and kernel run-queue delay, and syscalls by thread
    /// and number, aggregated in BPF maps (`KernelAggregates`, read about once a second).
    KernelAggregates,
}

impl Fact {
    pub const ALL: [Fact; 21] = [
        Fact::GoroutineScheduling,
        Fact::StatusChanges,
        Fact::ParkStacks,
        Fact::RuntimeSyscalls,
        Fact::KernelSyscalls,
        Fact::ContextSwitches,
        Fact::IdleMs,
        Fact::PreemptRequests,
        Fact::PHandoffs,
        Fact::LockOsThread,
        Fact::MLifecycle,
        Fact::Gomaxprocs,
        Fact::StopTheWorld,
        Fact::Gc,
        Fact::Threads,
        Fact::Signals,
        Fact::SchedCounters,
        Fact::GoroutineStates,
        Fact::RuntimeMetrics,
        Fact::SampledScheduling,
        Fact::KernelAggregates,
    ];

    /// The key in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Fact::GoroutineScheduling => "goroutine_scheduling",
            Fact::StatusChanges => "status_changes",
            Fact::ParkStacks => "park_stacks",
            Fact::RuntimeSyscalls => "runtime_syscalls",
            Fact::KernelSyscalls => "kernel_syscalls",
            Fact::ContextSwitches => "context_switches",
            Fact::IdleMs => "idle_ms",
            Fact::PreemptRequests => "preempt_requests",
            Fact::PHandoffs => "p_handoffs",
            Fact::LockOsThread => "lock_os_thread",
            Fact::MLifecycle => "m_lifecycle",
            Fact::Gomaxprocs => "gomaxprocs",
            Fact::StopTheWorld => "stop_the_world",
            Fact::Gc => "gc",
            Fact::Threads => "threads",
            Fact::Signals => "signals",
            Fact::SchedCounters => "sched_counters",
            Fact::GoroutineStates => "goroutine_states",
            Fact::RuntimeMetrics => "runtime_metrics",
            Fact::SampledScheduling => "sampled_scheduling",
            Fact::KernelAggregates => "kernel_aggregates",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The fact events of kind `name` (an [`EventKind::NAMES`](crate::EventKind::NAMES) entry)
    /// are part of; `None` for `lost` (the pipeline's own) and unknown names.
    pub fn of_event_kind(name: &str) -> Option<Fact> {
        Some(match name {
            "go_create" | "go_start" | "go_park" | "go_ready" | "go_yield" | "go_exit"
            | "steal" | "async_preempt" | "go_preempt_park" => Fact::GoroutineScheduling,
            "go_status" => Fact::StatusChanges,
            "m_start" | "m_exit" => Fact::MLifecycle,
            "thread_fork" | "thread_exit" => Fact::Threads,
            "switch" | "wakeup" => Fact::ContextSwitches,
            "preempt_request" => Fact::PreemptRequests,
            "signal_send" | "signal_deliver" => Fact::Signals,
            "syscall_enter" | "syscall_exit" => Fact::RuntimeSyscalls,
            "handoff" => Fact::PHandoffs,
            "kernel_syscall" => Fact::KernelSyscalls,
            "lock_os_thread" | "unlock_os_thread" => Fact::LockOsThread,
            "m_park" => Fact::IdleMs,
            "proc_resize" => Fact::Gomaxprocs,
            "stw_begin" | "stw_stopped" | "stw_end" => Fact::StopTheWorld,
            "gc_start" => Fact::Gc,
            "sched_sample" => Fact::SchedCounters,
            "go_sample" | "sampler_gate" => Fact::SampledScheduling,
            _ => return None,
        })
    }
}

/// How much of one kind of fact a recording holds. JSON: `"complete"`, `"snapshot"`,
/// `"absent"`, `"unknown"`, or `{"sampled": {"one_in": 8}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Every occurrence.
    Complete,
    /// About one occurrence in `one_in` (e.g. where the runtime itself samples, 1 in 8).
    Sampled { one_in: u32 },
    /// Values read from the target's memory at points in time, not each change.
    Snapshot,
    /// Not captured: an absence of events is no evidence.
    Absent,
    /// Not known (a recording that predates levels, or a name this build does not know).
    #[serde(other)]
    Unknown,
}

impl Capability {
    /// Whether events of this kind were captured, completely or not.
    pub fn captures(self) -> bool {
        matches!(
            self,
            Capability::Complete | Capability::Sampled { .. } | Capability::Snapshot
        )
    }
}

/// A [`Capability`] for every [`Fact`]. JSON: an object from fact name to capability, in
/// [`Fact::ALL`] order; reading ignores unknown names and takes missing ones as unknown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Capabilities {
    by_fact: [Capability; Fact::ALL.len()],
}

impl Capabilities {
    /// Nothing known (e.g. a recording without a level).
    pub fn unknown() -> Capabilities {
        Capabilities {
            by_fact: [Capability::Unknown; Fact::ALL.len()],
        }
    }

    pub fn get(&self, fact: Fact) -> Capability {
        self.by_fact[fact.index()]
    }

    pub fn set(&mut self, fact: Fact, capability: Capability) -> &mut Self {
        self.by_fact[fact.index()] = capability;
        self
    }

    /// Every fact with its capability, in [`Fact::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Fact, Capability)> + '_ {
        Fact::ALL.into_iter().map(|f| (f, self.get(f)))
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::unknown()
    }
}

impl Serialize for Capabilities {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(f, c)| (f.name(), c)))
    }
}

impl<'de> Deserialize<'de> for Capabilities {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let named = BTreeMap::<String, Capability>::deserialize(deserializer)?;
        let mut c = Capabilities::unknown();
        for fact in Fact::ALL {
            if let Some(&capability) = named.get(fact.name()) {
                c.set(fact, capability);
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_print_and_order() {
        for level in Level::ALL {
            assert_eq!(level.name().parse::<Level>(), Ok(level));
            assert_eq!(level.to_string(), level.name());
        }
        assert_eq!(Level::names(), ["monitor", "default", "full"]);
        assert_eq!(Level::from_name(""), None);
        let err = "bogus".parse::<Level>().unwrap_err();
        assert!(
            err.to_string().contains("monitor, default or full"),
            "{err}"
        );
        assert!(Level::Monitor < Level::Default && Level::Default < Level::Full);
        assert_eq!(Level::default(), Level::Default);
    }

    #[test]
    fn levels_serialize_as_their_name() {
        assert_eq!(serde_json::to_string(&Level::Full).unwrap(), r#""full""#);
        assert_eq!(
            serde_json::from_str::<Level>(r#""monitor""#).unwrap(),
            Level::Monitor
        );
        assert!(serde_json::from_str::<Level>(r#""Monitor""#).is_err());
    }

    #[test]
    fn fact_names_are_unique_and_in_index_order() {
        for (i, fact) in Fact::ALL.into_iter().enumerate() {
            assert_eq!(fact.index(), i, "{fact:?}");
        }
        let names: std::collections::BTreeSet<&str> = Fact::ALL.map(Fact::name).into();
        assert_eq!(names.len(), Fact::ALL.len());
    }

    /// The table, spelled out per level.
    #[test]
    fn each_level_captures_what_its_probes_see() {
        use Capability::{Absent, Complete, Snapshot};
        let expect = |level: Level, absent: &[Fact]| {
            let c = level.capabilities();
            for fact in Fact::ALL {
                let want = if fact == Fact::SampledScheduling {
                    if level >= Level::Default {
                        Capability::Sampled { one_in: 8 }
                    } else {
                        Absent
                    }
                } else if matches!(
                    fact,
                    Fact::SchedCounters | Fact::GoroutineStates | Fact::RuntimeMetrics
                ) {
                    Snapshot
                } else if absent.contains(&fact) {
                    Absent
                } else {
                    Complete
                };
                assert_eq!(c.get(fact), want, "{level} {fact:?}");
            }
        };
        let full_only = [
            Fact::StatusChanges,
            Fact::ParkStacks,
            Fact::GoroutineScheduling,
            Fact::RuntimeSyscalls,
            Fact::KernelSyscalls,
            Fact::ContextSwitches,
            Fact::IdleMs,
        ];
        expect(Level::Full, &[]);
        expect(Level::Default, &full_only);
        expect(
            Level::Monitor,
            &[&full_only[..], &[Fact::KernelAggregates]].concat(),
        );
        assert_eq!(
            Level::lowest_capturing(Fact::KernelSyscalls),
            Some(Level::Full)
        );
        assert_eq!(
            Level::lowest_capturing(Fact::SampledScheduling),
            Some(Level::Default)
        );
        // Format <= 3: the old default was every event but status changes and park stacks.
        let old = Level::Default.legacy_capabilities();
        assert_eq!(old.get(Fact::GoroutineScheduling), Complete);
        assert_eq!(old.get(Fact::ParkStacks), Absent);
        assert_eq!(old.get(Fact::SampledScheduling), Absent);
        assert_eq!(
            Level::Full.legacy_capabilities().get(Fact::StatusChanges),
            Complete
        );
        assert_eq!(Level::lowest_capturing(Fact::ParkStacks), Some(Level::Full));
        assert_eq!(
            Level::lowest_capturing(Fact::StopTheWorld),
            Some(Level::Monitor)
        );
    }

    #[test]
    fn capabilities_round_trip_as_a_named_map() {
        let mut c = Level::Monitor.capabilities();
        c.set(Fact::GoroutineScheduling, Capability::Sampled { one_in: 8 });
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["goroutine_scheduling"],
            serde_json::json!({"sampled": {"one_in": 8}})
        );
        assert_eq!(json["status_changes"], "absent");
        assert_eq!(json["stop_the_world"], "complete");
        assert_eq!(json["sched_counters"], "snapshot");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), Fact::ALL.len());
        assert_eq!(keys[0], "goroutine_scheduling");
        assert_eq!(serde_json::from_value::<Capabilities>(json).unwrap(), c);
    }

    #[test]
    fn reading_tolerates_other_builds() {
        let c: Capabilities = serde_json::from_str(
            r#"{"gc": "complete", "a_future_fact": "complete", "signals": "telepathic"}"#,
        )
        .unwrap();
        assert_eq!(c.get(Fact::Gc), Capability::Complete);
        assert_eq!(c.get(Fact::Signals), Capability::Unknown);
        assert_eq!(c.get(Fact::Threads), Capability::Unknown);
        assert!(!Capability::Unknown.captures() && !Capability::Absent.captures());
        assert!(Capability::Snapshot.captures());
    }

    #[test]
    fn every_event_kind_belongs_to_a_fact() {
        for name in crate::EventKind::NAMES {
            let fact = Fact::of_event_kind(name);
            assert_eq!(fact.is_none(), name == "lost", "{name}");
        }
        assert_eq!(Fact::of_event_kind("switch"), Some(Fact::ContextSwitches));
        assert_eq!(Fact::of_event_kind("bogus"), None);
    }
}
