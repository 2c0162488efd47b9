//! Where goroscope probes the runtime's own 1-in-8 scheduling sampler (goinspect's sampler.rs),
//! on every inspectee fixture present (Go 1.19 and 1.21–1.27; normal, stripped, PIE, cgo): the
//! probed instruction is the tracked runnable→running path's `CALL
//! runtime.(*timeHistogram).record` (Go 1.20+) or, where Go 1.19 inlines `record`, the `Jcc` that
//! starts it, with gp in a register and the offsets of `g.tracking`/`g.runnableTime` read from the
//! code. Checked against the bytes of the file itself and against the toolchain's own
//! disassembler (`go tool objdump`), which prints the source line of each instruction: the probe
//! must sit on the line of `sched.timeToRun.record(gp.runnableTime)` in proc.go (or, in 1.19,
//! inside histogram.go's inlined `record` on that path), and the same offsets must come out of a
//! stripped build, which has no symbols or DWARF.
//! Whether the probe then fires for tracked transitions only is tests/record_sampler.rs.

use std::collections::BTreeMap;
use std::process::Command;

use goinspect::elf::ElfImage;
use goinspect::pclntab::Pclntab;
use goinspect::sampler::SamplerShape;
use goinspect::{inspect_file, InspectOptions};

#[test]
fn the_sampler_is_found_on_every_fixture_by_its_own_instructions() {
    let mut by_version: BTreeMap<String, Vec<(String, u64, u64, u64)>> = BTreeMap::new();
    for f in testsupport::inspectee_fixtures() {
        let label = f.label();
        let insp = inspect_file(&f.path, &InspectOptions::default())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let p = insp
            .sampler
            .as_ref()
            .unwrap_or_else(|| panic!("{label}: no sampler placement: {:?}", insp.warnings));
        let want = if f.minor() >= 20 {
            SamplerShape::CallRecord
        } else {
            SamplerShape::InlinedRecordJcc
        };
        assert_eq!(p.shape, want, "{label}: {p:?}");
        assert_eq!(p.gp_register, "rdi", "{label}: {p:?}");
        let data = f.bytes();
        let elf = ElfImage::parse(&data).unwrap();
        let pcln = Pclntab::parse(&elf).unwrap();
        let cas = pcln.find_func("runtime.casgstatus").unwrap();
        assert!(
            p.offset < cas.end - cas.entry,
            "{label}: outside casgstatus"
        );
        let at = elf.vaddr_to_file_offset(cas.entry).unwrap() + p.offset;
        assert_eq!(at, p.file_offset, "{label}: file offset");
        let bytes = &data[at as usize..at as usize + 6];
        match p.shape {
            SamplerShape::CallRecord => {
                assert_eq!(bytes[0], 0xe8, "{label}: not a call rel32: {bytes:x?}");
                let rel = i32::from_le_bytes(bytes[1..5].try_into().unwrap());
                let target = (cas.entry + p.offset + 5).wrapping_add_signed(rel.into());
                let record = pcln.find_func("runtime.(*timeHistogram).record").unwrap();
                assert_eq!(target, record.entry, "{label}: the call is not to record");
                assert_eq!(
                    p.latency_register, "rbx",
                    "{label}: record's duration argument"
                );
            }
            SamplerShape::InlinedRecordJcc => {
                let jcc = (0x70..=0x7f).contains(&bytes[0])
                    || (bytes[0] == 0x0f && (0x80..=0x8f).contains(&bytes[1]));
                assert!(jcc, "{label}: not a conditional jump: {bytes:x?}");
            }
        }
        // The variants of one version share the runtime's struct layout.
        by_version.entry(f.version.clone()).or_default().push((
            f.variant.clone(),
            p.g_tracking,
            p.g_runnable_time,
            p.offset,
        ));
    }
    for (version, rows) in &by_version {
        let first = &rows[0];
        for r in rows {
            assert_eq!((r.1, r.2), (first.1, first.2), "go{version}: {rows:?}");
        }
        // Stripping only removes symbols: the code, so the probe offset, is the same.
        let offset = |v: &str| rows.iter().find(|r| r.0 == v).map(|r| r.3);
        if let (Some(n), Some(s)) = (offset("normal"), offset("stripped")) {
            assert_eq!(n, s, "go{version}: normal and stripped differ");
        }
    }
}

/// The toolchain's own disassembler names the source line of the probed instruction.
#[test]
fn the_toolchains_objdump_puts_the_probe_on_the_record_line() {
    for f in testsupport::inspectee_fixtures() {
        if f.variant != "normal" || !f.go().is_file() {
            continue;
        }
        let label = f.label();
        let insp = inspect_file(&f.path, &InspectOptions::default()).unwrap();
        let p = insp.sampler.as_ref().unwrap();
        let data = f.bytes();
        let elf = ElfImage::parse(&data).unwrap();
        let pcln = Pclntab::parse(&elf).unwrap();
        let addr = pcln.find_func("runtime.casgstatus").unwrap().entry + p.offset;
        let out = Command::new(f.go())
            .args(["tool", "objdump", "-s", "^runtime.casgstatus$"])
            .arg(&f.path)
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("go tool objdump");
        assert!(out.status.success(), "{label}: objdump failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find(|l| l.contains(&format!("{addr:#x}")))
            .unwrap_or_else(|| panic!("{label}: {addr:#x} not in objdump's listing"));
        if f.minor() >= 20 {
            assert!(
                line.contains("CALL runtime.(*timeHistogram).record(SB)"),
                "{label}: {line}"
            );
        } else {
            assert!(line.contains("histogram.go:"), "{label}: {line}");
            assert!(line.contains("\tJ"), "{label}: {line}");
        }
        // The two instructions before it: `MOVB $0x0, tracking(DI)` ... `MOVQ runnableTime(DI), R`.
        let idx = text.lines().position(|l| l == line).unwrap();
        let before: Vec<&str> = text.lines().take(idx).collect();
        let window = before[before.len().saturating_sub(4)..].join("\n");
        assert!(
            window.contains(&format!("MOVB $0x0, {:#x}(DI)", p.g_tracking)),
            "{label}: {window}"
        );
        assert!(
            window.contains(&format!("MOVQ {:#x}(DI)", p.g_runnable_time)),
            "{label}: {window}"
        );
    }
}
