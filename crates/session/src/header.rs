//! The recording header of a session: who is traced and how to read its events later (wait and
//! stop-the-world reason strings of its Go version, the tracer level, its CPU limit).

use goinspect::Inspection;
use goroscope_bpf::tracer::Level;
use goroscope_events::{Capabilities, Capability, Fact};
use goroscope_record::{ClockBase, Header, Target};

pub(crate) fn make_header(
    inspection: &Inspection,
    argv: Vec<String>,
    pid: u32,
    launched: bool,
    level: Level,
    clock: ClockBase,
) -> Header {
    Header {
        goroscope_version: env!("CARGO_PKG_VERSION").to_string(),
        target: Target {
            path: inspection.path.clone(),
            pid,
            mode: if launched { "launch" } else { "attach" }.to_string(),
            argv,
            go_version: inspection.build.go_version.clone(),
            go_build_id: inspection.binary.go_build_id.clone(),
            gnu_build_id: inspection.binary.gnu_build_id.clone(),
            pie: inspection.binary.pie,
        },
        command_line: std::env::args().collect(),
        clock,
        wait_reasons: inspection
            .layout
            .constants
            .wait_reasons
            .iter()
            .filter_map(|w| Some((u8::try_from(w.value).ok()?, w.string.clone())))
            .collect(),
        stw_reasons: inspection
            .layout
            .constants
            .stw_reasons
            .iter()
            .filter_map(|w| Some((u8::try_from(w.value).ok()?, w.string.clone())))
            .collect(),
        level: level.name().to_string(),
        capabilities: Some(capabilities(inspection, level)),
        cpu_limit: procstat::read_cpu_limit(pid).ok(),
    }
}

/// The level's capabilities, without goroutine snapshots when the binary's globals or layout do
/// not allow them (the session then warns and takes none).
fn capabilities(inspection: &Inspection, level: Level) -> Capabilities {
    let mut capabilities = level.capabilities();
    if !crate::snapshots::available(inspection) {
        capabilities.set(Fact::GoroutineStates, Capability::Absent);
    }
    capabilities
}
