//! Ties the readers together into an `Inspection`: the probe plan for one Go executable.

use std::path::Path;

use crate::elf::ElfImage;
use crate::error::{Error, Result};
use crate::model::{BinaryFacts, CallSite, FunctionInfo, Inspection};
use crate::pclntab::Pclntab;
use crate::version::GoVersion;
use crate::{buildinfo, disasm, dwarf, layout, probes, process, sampler};

#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// Use the nearest known layout table when the Go version has none and there is no DWARF.
    pub force_nearest_layout: bool,
}

/// Inspects an executable on disk.
pub fn inspect_file(path: &Path, opts: &InspectOptions) -> Result<Inspection> {
    let data = read_file(path)?;
    inspect_bytes(&data, &path.display().to_string(), opts)
}

/// Inspects the executable of a running process, and adds its load bias.
pub fn inspect_pid(pid: u32, opts: &InspectOptions) -> Result<Inspection> {
    let exe = process::process_exe(pid)?;
    let data = read_file(&exe.open_path).map_err(|e| match e {
        Error::Io { source, .. } => Error::Process {
            pid,
            detail: format!("cannot read its executable: {source}"),
        },
        other => other,
    })?;
    let mut inspection = inspect_bytes(&data, &exe.display_path, opts)?;
    let elf = ElfImage::parse(&data)?;
    inspection.pid = Some(pid);
    inspection.load_bias = Some(process::load_bias(pid, &elf)?);
    Ok(inspection)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(Error::IsDirectory(path.to_path_buf()));
    }
    std::fs::read(path).map_err(io)
}

/// Inspects an executable held in memory. `name` is only used for display.
pub fn inspect_bytes(data: &[u8], name: &str, opts: &InspectOptions) -> Result<Inspection> {
    let elf = ElfImage::parse(data)?;
    let build = buildinfo::read(&elf)?;
    let version = GoVersion::parse(&build.go_version).ok_or_else(|| {
        Error::malformed(
            ".go.buildinfo",
            format!("unrecognised Go version string {:?}", build.go_version),
        )
    })?;
    if !version.at_least(1, 18) {
        return Err(Error::GoTooOld(build.go_version.clone()));
    }
    let pcln = Pclntab::parse(&elf)?;
    let dwarf = dwarf::read(&elf)?;
    let mut layout = layout::resolve(dwarf.as_ref(), &version, opts.force_nearest_layout)?;

    let mut warnings = Vec::new();
    layout::fill_global_addresses(&mut layout, &elf, &pcln, dwarf.as_ref(), &mut warnings);
    let (inlined, inlined_source) = match (&dwarf, pcln.inlined_call_counts()) {
        (Some(d), _) => (Some(d.inlined_counts.clone()), "dwarf"),
        (None, Some(counts)) => (Some(counts), "pclntab"),
        (None, None) => {
            warnings.push(
                "inline trees not readable: inlined copies of probed functions are unknown".into(),
            );
            (None, "none")
        }
    };

    let mut functions = Vec::with_capacity(probes::TARGETS.len());
    let mut pending_calls: Vec<(usize, Vec<(u64, u64)>)> = Vec::new();
    for target in probes::TARGETS {
        let mut info = FunctionInfo {
            name: target.short_name().to_string(),
            symbol: target.symbol.to_string(),
            found: false,
            entry: 0,
            end: 0,
            file_offset: 0,
            safe_probe_offset: 0,
            safe_probe_instruction: String::new(),
            safe_probe_emulated: false,
            has_stack_check: false,
            ret_offsets: Vec::new(),
            call_sites: Vec::new(),
            inlined_copies: inlined
                .as_ref()
                .and_then(|m| m.get(target.symbol).copied())
                .unwrap_or(0),
            inlined_source: inlined_source.to_string(),
            symtab_entry: symtab_entry(&elf, target.symbol),
        };
        match pcln.find_func(target.symbol) {
            Some(func) => {
                info.found = true;
                info.entry = func.entry;
                info.end = func.end;
                let size = func.end.saturating_sub(func.entry);
                info.file_offset = elf.vaddr_to_file_offset(func.entry).ok_or_else(|| {
                    Error::malformed(
                        ".gopclntab",
                        format!(
                            "{} entry {:#x} is outside the file's segments",
                            target.symbol, func.entry
                        ),
                    )
                })?;
                let code = elf.bytes_at(func.entry, size).ok_or_else(|| {
                    Error::malformed(
                        ".text",
                        format!(
                            "{} code [{:#x}, {:#x}) is not in the file",
                            target.symbol, func.entry, func.end
                        ),
                    )
                })?;
                let facts = disasm::analyze(code, func.entry);
                info.safe_probe_offset = facts.safe_probe_offset;
                info.safe_probe_instruction = facts.safe_probe_instruction;
                info.safe_probe_emulated = facts.safe_probe_emulated;
                info.has_stack_check = facts.has_stack_check;
                info.ret_offsets = facts.ret_offsets;
                // Resolved below, once every probed function's entry is known.
                pending_calls.push((functions.len(), facts.calls));
                if let Some(sym) = info.symtab_entry {
                    if sym != func.entry {
                        warnings.push(format!(
                            "{}: pclntab says {:#x} but .symtab says {:#x}; using pclntab",
                            target.symbol, func.entry, sym
                        ));
                    }
                }
                if info.inlined_copies > 0 && target.expected_in(&version) {
                    warnings.push(format!(
                        "{} is also inlined at {} call site(s): a probe on it misses those calls",
                        target.symbol, info.inlined_copies
                    ));
                }
            }
            None if target.expected_in(&version) => warnings.push(format!(
                "{} not found in this {} binary (inlined everywhere or renamed)",
                target.symbol, version
            )),
            None => {}
        }
        functions.push(info);
    }
    let entries: std::collections::HashMap<u64, String> = functions
        .iter()
        .filter(|f| f.found)
        .map(|f| (f.entry, f.symbol.clone()))
        .collect();
    for (index, calls) in pending_calls {
        functions[index].call_sites = calls
            .into_iter()
            .filter_map(|(offset, target)| {
                let callee = entries.get(&target)?.clone();
                Some(CallSite { offset, callee })
            })
            .collect();
    }

    let settings = &build.settings;
    let setting = |k: &str| {
        settings
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    // Go's own linker writes .interp for PIE too, but never DT_NEEDED (without cgo), .comment or
    // .init: those come from the system linker.
    let external_linker = !elf.needed_libraries().is_empty()
        || elf.has_section(".comment")
        || elf.has_section(".init");
    let binary = BinaryFacts {
        pie: elf.is_pie(),
        has_dwarf: elf.has_dwarf(),
        has_symtab: elf.has_symtab(),
        cgo: setting("CGO_ENABLED") == Some("1") && external_linker,
        external_linker,
        go_build_id: go_build_id(&elf),
        gnu_build_id: gnu_build_id(&elf),
        pclntab_format: pcln.format().to_string(),
        pclntab_functions: pcln.funcs().len(),
        text_start: pcln.text_start(),
    };

    let sampler = match sampler::find(&elf, &pcln) {
        Ok(p) => Some(p),
        Err(why) => {
            warnings.push(format!(
                "the runtime's scheduling sampler cannot be probed: {why} (the default level \
                 then has no sampled episodes)"
            ));
            None
        }
    };

    Ok(Inspection {
        path: name.to_string(),
        pid: None,
        build,
        binary,
        functions,
        layout,
        load_bias: None,
        warnings,
        sampler,
    })
}

/// `.symtab` address, also under the ABI0 name that assembly functions carry there.
fn symtab_entry(elf: &ElfImage, symbol: &str) -> Option<u64> {
    elf.symbol_address(symbol)
        .or_else(|| elf.symbol_address(&format!("{symbol}.abi0")))
}

/// The Go build ID note (`.note.go.buildid`): namesz=4, descsz, type=4, "Go\0\0", id.
fn go_build_id(elf: &ElfImage) -> Option<String> {
    let note = elf.section(".note.go.buildid")?.data;
    let descsz = u32::from_le_bytes(note.get(4..8)?.try_into().ok()?) as usize;
    let desc = note.get(16..16usize.checked_add(descsz)?)?;
    Some(String::from_utf8_lossy(desc).into_owned())
}

/// The GNU build ID note, as hex.
fn gnu_build_id(elf: &ElfImage) -> Option<String> {
    use object::Object;
    let id = elf.object().build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real stripped fixture whose `.go.buildinfo` version string is replaced by `to` (same length).
    fn fixture_claiming(to: &str) -> Vec<u8> {
        let root = std::env::var_os("GOROSCOPE_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fixtures"));
        let path = root.join("go1.27.3/inspectee/stripped");
        let mut data = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-fixtures.sh", path.display()));
        // Only inside .go.buildinfo: the same string is also in .rodata (runtime.buildVersion).
        let section = ElfImage::parse(&data)
            .unwrap()
            .section(".go.buildinfo")
            .unwrap();
        let (start, len) = (section.file_offset as usize, section.data.len());
        let from = b"go1.27.3";
        let at = start
            + data[start..start + len]
                .windows(from.len())
                .position(|w| w == from)
                .expect("version string in .go.buildinfo");
        data[at..at + from.len()].copy_from_slice(to.as_bytes());
        data
    }

    #[test]
    fn go_older_than_1_18_is_refused_by_version() {
        let data = fixture_claiming("go1.17.9");
        let Err(err) = inspect_bytes(&data, "old", &InspectOptions::default()) else {
            panic!("a binary claiming go1.17.9 was accepted");
        };
        assert!(
            matches!(err, Error::GoTooOld(ref v) if v == "go1.17.9"),
            "{err}"
        );
        assert!(err.to_string().contains("Go 1.18 and later"), "{err}");
    }
}
