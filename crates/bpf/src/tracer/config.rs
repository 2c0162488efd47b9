//! The tracer's read-only BPF configuration (`struct gs_config` in goroscope.h), built from
//! goinspect's probe plan: the runtime struct offsets the probes read, the Go version facts that
//! change what a register means, and the filter. Pure data, no BPF: unit-tested on its own.

use anyhow::{anyhow, bail, Result};
use goinspect::version::GoVersion;
use goinspect::Inspection;
use goroscope_abi as abi;

/// Default threshold at which a BPF program wakes the reader: 256 KiB queued. Below it, the
/// reader's timer poll collects the events.
pub const DEFAULT_WAKEUP_BYTES: u32 = 256 << 10;

/// Builds the configuration. `target_tgid` None means "every process that hits our uprobes"
/// (attach to a binary before it runs).
pub fn config_from_inspection(
    inspection: &Inspection,
    target_tgid: Option<u32>,
    wakeup_bytes: u32,
) -> Result<abi::Config> {
    let version = GoVersion::parse(&inspection.build.go_version).ok_or_else(|| {
        anyhow!(
            "unknown Go version {:?} in the inspection",
            inspection.build.go_version
        )
    })?;
    if version.major != 1 {
        bail!("Go {} is not supported by the tracer", version.raw);
    }
    let field = |st: &str, name: &str| -> Option<u32> {
        let off = *inspection.layout.structs.get(st)?.fields.get(name)?;
        u32::try_from(off).ok().filter(|o| *o != abi::OFFSET_NONE)
    };
    let required = |st: &str, name: &str| -> Result<u32> {
        field(st, name).ok_or_else(|| {
            anyhow!(
                "the runtime layout ({}) has no usable offset for {st}.{name}",
                inspection.layout.source
            )
        })
    };
    let mut flags = 0;
    if version.at_least(1, 22) {
        flags |= abi::CFG_YIELD_HAS_PREEMPTED;
    }
    if version.at_least(1, 21) {
        flags |= abi::CFG_STW_HAS_REASON;
    }
    if version.at_least(1, 26) {
        flags |= abi::CFG_SYSCALL_KEEPS_P;
    }
    if target_tgid.is_none() {
        flags |= abi::CFG_FOLLOW_UPROBE_HITS;
    }
    // Where a stopped g resumes: g.sched (a gobuf) .pc and .bp. Optional: without them the
    // samples have no stop stack.
    let sched_field = |name: &str| -> u32 {
        match (field("runtime.g", "sched"), field("runtime.gobuf", name)) {
            (Some(sched), Some(off)) => sched.saturating_add(off),
            _ => abi::OFFSET_NONE,
        }
    };
    // The sampler's own instructions say where gp and g.runnableTime are.
    let (g_runnable_time, sample_gp_reg) = match &inspection.sampler {
        Some(p) => (
            u32::try_from(p.g_runnable_time).unwrap_or(abi::OFFSET_NONE),
            goinspect::sampler::register_index(&p.gp_register).unwrap_or(u32::MAX),
        ),
        None => (abi::OFFSET_NONE, u32::MAX),
    };
    Ok(abi::Config {
        target_tgid: target_tgid.unwrap_or(0),
        flags,
        go_minor: version.minor,
        wakeup_bytes,
        g_goid: required("runtime.g", "goid")?,
        g_atomicstatus: required("runtime.g", "atomicstatus")?,
        g_waitreason: required("runtime.g", "waitreason")?,
        g_m: required("runtime.g", "m")?,
        g_parent_goid: field("runtime.g", "parentGoid").unwrap_or(abi::OFFSET_NONE),
        g_gopc: required("runtime.g", "gopc")?,
        g_startpc: required("runtime.g", "startpc")?,
        m_g0: required("runtime.m", "g0")?,
        m_curg: required("runtime.m", "curg")?,
        m_id: required("runtime.m", "id")?,
        m_procid: required("runtime.m", "procid")?,
        m_p: required("runtime.m", "p")?,
        p_id: required("runtime.p", "id")?,
        g_lockedm: required("runtime.g", "lockedm")?,
        m_lockedg: required("runtime.m", "lockedg")?,
        p_m: required("runtime.p", "m")?,
        p_runqhead: required("runtime.p", "runqhead")?,
        p_runqtail: required("runtime.p", "runqtail")?,
        p_runnext: required("runtime.p", "runnext")?,
        m_oldp: field("runtime.m", "oldp").unwrap_or(abi::OFFSET_NONE),
        m_syscalltick: field("runtime.m", "syscalltick").unwrap_or(abi::OFFSET_NONE),
        p_status: required("runtime.p", "status")?,
        p_syscalltick: required("runtime.p", "syscalltick")?,
        g_sched_pc: sched_field("pc"),
        g_sched_bp: sched_field("bp"),
        g_runnable_time,
        sample_gp_reg,
        pad: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use goinspect::{BinaryFacts, BuildInfo, Constants, RuntimeLayout, StructLayout};
    use std::collections::BTreeMap;

    /// Go 1.19's offsets from go-runtime-internals.md (measured with DWARF and gdb).
    fn inspection(go_version: &str, parent_goid: Option<u64>) -> Inspection {
        let st = |fields: &[(&str, u64)]| StructLayout {
            size: 0,
            fields: fields.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
        let mut g = vec![
            ("goid", 152),
            ("atomicstatus", 144),
            ("waitreason", 176),
            ("m", 48),
            ("gopc", 296),
            ("startpc", 312),
            ("lockedm", 232),
        ];
        if let Some(off) = parent_goid {
            g.push(("parentGoid", off));
        }
        let mut structs = BTreeMap::new();
        structs.insert("runtime.g".to_string(), st(&g));
        structs.insert(
            "runtime.m".to_string(),
            st(&[
                ("g0", 0),
                ("curg", 192),
                ("id", 232),
                ("procid", 72),
                ("p", 208),
                ("lockedg", 352),
            ]),
        );
        structs.insert(
            "runtime.p".to_string(),
            st(&[
                ("id", 0),
                ("status", 4),
                ("syscalltick", 12),
                ("m", 56),
                ("runqhead", 400),
                ("runqtail", 404),
                ("runnext", 2456),
            ]),
        );
        Inspection {
            path: "x".into(),
            pid: None,
            build: BuildInfo {
                go_version: go_version.into(),
                ..Default::default()
            },
            binary: BinaryFacts {
                pie: false,
                has_dwarf: true,
                has_symtab: true,
                cgo: false,
                external_linker: false,
                go_build_id: None,
                gnu_build_id: None,
                pclntab_format: "1.18".into(),
                pclntab_functions: 0,
                text_start: 0,
            },
            functions: Vec::new(),
            layout: RuntimeLayout {
                source: "test".into(),
                structs,
                constants: Constants::default(),
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
    fn go119_has_no_parent_goid_and_no_preempted_argument() {
        let cfg = config_from_inspection(&inspection("go1.19.8", None), Some(42), 4096).unwrap();
        assert_eq!(cfg.target_tgid, 42);
        assert_eq!(cfg.go_minor, 19);
        assert_eq!(cfg.flags, 0);
        assert_eq!(cfg.g_parent_goid, abi::OFFSET_NONE);
        assert_eq!(
            (cfg.g_goid, cfg.m_curg, cfg.m_p, cfg.p_id),
            (152, 192, 208, 0)
        );
    }

    #[test]
    fn newer_go_and_no_target_set_the_flags() {
        let cfg = config_from_inspection(&inspection("go1.27.3", Some(280)), None, 1).unwrap();
        assert_eq!(cfg.target_tgid, 0);
        assert_eq!(
            cfg.flags,
            abi::CFG_YIELD_HAS_PREEMPTED
                | abi::CFG_FOLLOW_UPROBE_HITS
                | abi::CFG_STW_HAS_REASON
                | abi::CFG_SYSCALL_KEEPS_P
        );
        assert_eq!(
            (cfg.p_runqhead, cfg.p_runqtail, cfg.g_lockedm),
            (400, 404, 232)
        );
        assert_eq!(cfg.g_parent_goid, 280);
    }

    #[test]
    fn a_missing_required_field_is_an_error() {
        let mut insp = inspection("go1.21.13", Some(272));
        insp.layout
            .structs
            .get_mut("runtime.m")
            .unwrap()
            .fields
            .remove("curg");
        let err = config_from_inspection(&insp, Some(1), 1).unwrap_err();
        assert!(err.to_string().contains("runtime.m.curg"), "{err}");
        assert!(config_from_inspection(&inspection("weird", None), None, 1).is_err());
    }
}
