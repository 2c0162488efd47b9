//! `goroscope inspect --json` on every fixture present (each Go version × normal, stripped, pie,
//! cgo, cgo-stripped-pie), checked against ground truth that does not share goroscope's code:
//! the Go oracle (Go's own debug/gosym, debug/buildinfo, debug/dwarf), the fixture's own output
//! when run, the matching toolchain's `go tool nm` / `go tool objdump` (GNU objdump for stripped
//! binaries), and the ELF program headers read with the `object` crate.
//!
//! Each test checks every fixture and reports all mismatches at once.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::oracle::{self, Insn, Oracle};
use common::{Fixture, KillOnDrop};
use goinspect::Inspection;

/// One fixture with goroscope's inspection of it and the oracle's reading.
struct Case {
    fx: Fixture,
    inspection: Result<Inspection, String>,
    oracle: Oracle,
}

/// Inspects every fixture once per test binary (the tests share the results).
fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        common::inspectee_fixtures()
            .into_iter()
            .map(|fx| {
                let inspection = common::inspect_path(&fx.path);
                // Ask the oracle for exactly the struct fields goroscope reports.
                let wanted: BTreeMap<String, Vec<String>> = inspection
                    .as_ref()
                    .map(|i| {
                        i.layout
                            .structs
                            .iter()
                            .map(|(s, l)| (s.clone(), l.fields.keys().cloned().collect()))
                            .collect()
                    })
                    .unwrap_or_default();
                let oracle = oracle::run_oracle(&fx.path, &wanted);
                Case {
                    fx,
                    inspection,
                    oracle,
                }
            })
            .collect()
    })
}

/// Runs `check` on every case that goroscope could inspect; collects failures (an inspection
/// that failed is one) and panics with all of them.
fn check_all(what: &str, mut check: impl FnMut(&Case, &Inspection, &mut Vec<String>)) {
    let mut failures = Vec::new();
    for case in cases() {
        match &case.inspection {
            Ok(i) => {
                let mut f = Vec::new();
                check(case, i, &mut f);
                failures.extend(f.into_iter().map(|m| format!("{}: {m}", case.fx.label())));
            }
            Err(e) => failures.push(format!("{}: {e}", case.fx.label())),
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} problem(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The unstripped build of the same version whose link matches a stripped variant: `normal`
/// for `stripped` (same addresses), `cgo` for `cgo-stripped-pie` (same runtime, same layout).
fn unstripped_twin(fx: &Fixture) -> Option<&'static Case> {
    let twin = match fx.variant.as_str() {
        "stripped" => "normal",
        "cgo-stripped-pie" => "cgo",
        _ => return None,
    };
    cases()
        .iter()
        .find(|c| c.fx.version == fx.version && c.fx.variant == twin)
}

#[test]
fn build_facts_match_the_oracle_and_the_running_binary() {
    check_all("build facts", |case, i, f| {
        let (fx, o) = (&case.fx, &case.oracle);
        let (runtime_version, cgo_word) = oracle::run_fixture(fx);
        if i.build.go_version != o.go_version || o.go_version != runtime_version {
            f.push(format!(
                "Go version: goroscope {:?}, debug/buildinfo {:?}, runtime.Version() {:?}",
                i.build.go_version, o.go_version, runtime_version
            ));
        }
        let expect_cgo_word = if fx.cgo() { "cgo" } else { "nocgo" };
        assert_eq!(cgo_word, expect_cgo_word, "{}: fixture build", fx.label());
        let b = &i.binary;
        let flags = [
            ("pie", b.pie, fx.pie(), o.pie),
            ("has_dwarf", b.has_dwarf, !fx.stripped(), o.has_dwarf),
            ("has_symtab", b.has_symtab, !fx.stripped(), o.has_symtab),
            ("cgo", b.cgo, fx.cgo(), fx.cgo()),
            ("external_linker", b.external_linker, fx.cgo(), fx.cgo()),
        ];
        for (name, got, variant, oracle) in flags {
            if got != variant || got != oracle {
                f.push(format!(
                    "{name}: goroscope {got}, variant implies {variant}, oracle {oracle}"
                ));
            }
        }
        if i.build.path.as_deref() != Some(o.main_path.as_str()) {
            f.push(format!(
                "main path {:?}, oracle {:?}",
                i.build.path, o.main_path
            ));
        }
        if i.build.settings != o.settings {
            f.push(format!(
                "build settings {:?}, oracle {:?}",
                i.build.settings, o.settings
            ));
        }
        if b.pclntab_functions != o.functions.len() {
            f.push(format!(
                "pclntab_functions {}, debug/gosym lists {}",
                b.pclntab_functions,
                o.functions.len()
            ));
        }
        // The effective start of Go text (for cgo binaries the header copy is 0 in the file).
        if b.text_start != o.text_start {
            f.push(format!(
                "text_start {:#x}, oracle {:#x} (from {})",
                b.text_start, o.text_start, o.text_start_source
            ));
        }
        // 0xfffffff0 (Go 1.18–1.19 layout) before 1.20, 0xfffffff1 from 1.20 (debug/gosym).
        let format = if fx.minor() < 20 { "1.18" } else { "1.20" };
        if b.pclntab_format != format {
            f.push(format!(
                "pclntab_format {:?}, want {format:?}",
                b.pclntab_format
            ));
        }
        if i.path != fx.path.display().to_string() {
            f.push(format!("path {:?}", i.path));
        }
    });
}

/// pclntab entry goroscope must report for `symbol`: with ABI wrappers the name has two entries
/// and the ABIInternal one (the plain `go tool nm` symbol, not `.abi0`) is the probe point.
fn expected_entry(
    case: &Case,
    symbol: &str,
    nm: &HashMap<String, HashMap<String, u64>>,
) -> Result<Option<u64>, String> {
    let entries = case.oracle.entries(symbol);
    if entries.len() <= 1 {
        return Ok(entries.first().map(|e| e.entry));
    }
    // Which of the same-named entries is the plain symbol, decided on an unstripped build.
    let (reference, ref_entries) = match unstripped_twin(&case.fx) {
        Some(twin) => (twin, twin.oracle.entries(symbol)),
        None => (case, entries.clone()),
    };
    let plain = nm
        .get(&reference.fx.label())
        .and_then(|m| m.get(symbol))
        .ok_or_else(|| format!("{symbol}: no go tool nm symbol in {}", reference.fx.label()))?;
    let index = ref_entries
        .iter()
        .position(|e| e.entry == *plain)
        .ok_or_else(|| format!("{symbol}: nm address {plain:#x} is not a pclntab entry"))?;
    Ok(entries.get(index).map(|e| e.entry))
}

#[test]
fn probed_function_entries_match_pclntab_and_go_nm() {
    let nm: HashMap<String, HashMap<String, u64>> = cases()
        .iter()
        .filter(|c| !c.fx.stripped())
        .map(|c| (c.fx.label(), oracle::go_nm(&c.fx)))
        .collect();
    check_all("function entries", |case, i, f| {
        for func in &i.functions {
            let expected = match expected_entry(case, &func.symbol, &nm) {
                Ok(e) => e,
                Err(e) => {
                    f.push(e);
                    continue;
                }
            };
            match (func.found, expected) {
                (false, None) => {}
                (true, None) => f.push(format!(
                    "{} found at {:#x} but debug/gosym has no such function",
                    func.symbol, func.entry
                )),
                (false, Some(e)) => f.push(format!(
                    "{} not found, debug/gosym has it at {e:#x}",
                    func.symbol
                )),
                (true, Some(e)) => {
                    let end = case
                        .oracle
                        .entries(&func.symbol)
                        .into_iter()
                        .find(|o| o.entry == e)
                        .map(|o| o.end);
                    if func.entry != e || Some(func.end) != end {
                        f.push(format!(
                            "{}: [{:#x}, {:#x}), debug/gosym [{e:#x}, {:#x})",
                            func.symbol,
                            func.entry,
                            func.end,
                            end.unwrap_or(0)
                        ));
                    }
                }
            }
            if !func.found {
                continue;
            }
            if let Some(syms) = nm.get(&case.fx.label()) {
                let sym = syms
                    .get(&func.symbol)
                    .or_else(|| syms.get(&format!("{}.abi0", func.symbol)));
                if sym != Some(&func.entry) {
                    f.push(format!(
                        "{}: entry {:#x}, go tool nm {sym:x?}",
                        func.symbol, func.entry
                    ));
                }
                if func.symtab_entry.is_none() {
                    f.push(format!("{}: symtab_entry missing", func.symbol));
                }
            } else if func.symtab_entry.is_some() {
                f.push(format!(
                    "{}: symtab_entry in a stripped binary",
                    func.symbol
                ));
            }
        }
    });
}

#[test]
fn version_dependent_functions_exist_exactly_where_the_toolchain_has_them() {
    // (function, first Go 1.x minor that has it) from go-runtime-internals.md §1, checked here
    // against the oracle too so a fixture built differently shows up as such.
    let since = [
        ("runtime.gdestroy", 22),
        ("runtime.globrunqgetbatch", 25),
        ("runtime.exitsyscallNoP", 26),
        ("runtime.exitsyscallTryGetP", 26),
    ];
    let until = [
        ("runtime.exitsyscall0", 25),
        ("runtime.exitsyscallfast", 25),
    ];
    check_all("versioned functions", |case, i, f| {
        let minor = case.fx.minor();
        let expectations = since
            .iter()
            .map(|(s, v)| (*s, minor >= *v))
            .chain(until.iter().map(|(s, v)| (*s, minor <= *v)));
        for (symbol, expected) in expectations {
            let in_oracle = !case.oracle.entries(symbol).is_empty();
            let found = i.functions.iter().any(|x| x.symbol == symbol && x.found);
            if found != expected || in_oracle != expected {
                f.push(format!(
                    "{symbol}: goroscope found={found}, debug/gosym has={in_oracle}, \
                     the reference table says {expected}"
                ));
            }
        }
    });
}

#[test]
fn file_offsets_follow_the_program_headers() {
    check_all("file offsets", |case, i, f| {
        for func in i.functions.iter().filter(|x| x.found) {
            let want = oracle::file_offset(&case.fx.path, func.entry);
            if want != Some(func.file_offset) {
                f.push(format!(
                    "{}: file_offset {:#x}, program headers give {want:x?}",
                    func.symbol, func.file_offset
                ));
            }
        }
    });
}

/// Representative probe targets: nosplit and not, big frames, ABI wrappers, mcall targets.
const DISASSEMBLED: &[&str] = &[
    "casgstatus",
    "execute",
    "newproc1",
    "gopark",
    "ready",
    "procresize",
    "asyncPreempt2",
    "exitsyscall",
];

#[test]
fn safe_probe_offsets_and_rets_match_the_disassembler() {
    check_all("disassembly", |case, i, f| {
        let fx = &case.fx;
        let go_listing = if fx.stripped() {
            Vec::new()
        } else {
            oracle::go_objdump(fx, DISASSEMBLED)
        };
        for name in DISASSEMBLED {
            let Some(func) = i.functions.iter().find(|x| x.name == *name && x.found) else {
                f.push(format!("{name}: not found"));
                continue;
            };
            let insns: Vec<Insn> = if fx.stripped() {
                oracle::gnu_objdump(&fx.path, func.entry, func.end)
            } else {
                go_listing
                    .iter()
                    .find(|(n, ins)| {
                        n == &func.symbol && ins.first().map(|x| x.addr) == Some(func.entry)
                    })
                    .map(|(_, ins)| ins.clone())
                    .unwrap_or_default()
            };
            if insns.first().map(|x| x.addr) != Some(func.entry) {
                f.push(format!(
                    "{name}: the disassembler has no function starting at {:#x}",
                    func.entry
                ));
                continue;
            }
            check_prologue(name, func, &insns, f);
            let rets: BTreeSet<u64> = insns
                .iter()
                .filter(|x| x.is_ret() && x.addr < func.end)
                .map(|x| x.addr - func.entry)
                .collect();
            let got: BTreeSet<u64> = func.ret_offsets.iter().copied().collect();
            if got != rets || got.len() != func.ret_offsets.len() {
                f.push(format!(
                    "{name}: ret_offsets {:x?}, disassembler RETs at {rets:x?}",
                    func.ret_offsets
                ));
            }
        }
    });
}

/// The safe probe point is an instruction boundary after the stack check's CMP and JBE (when
/// the disassembly has one), and its instruction is the one goroscope names.
fn check_prologue(name: &str, func: &goinspect::FunctionInfo, insns: &[Insn], f: &mut Vec<String>) {
    let safe = func.entry + func.safe_probe_offset;
    let Some(pos) = insns.iter().position(|x| x.addr == safe) else {
        f.push(format!(
            "{name}: safe_probe_offset {:#x} is not an instruction boundary",
            func.safe_probe_offset
        ));
        return;
    };
    // Go's prologue: [LEAQ -N(SP), R12;] CMPQ SP|R12, 0x10(R14); JBE morestack.
    let head = &insns[..insns.len().min(4)];
    let check = head.iter().position(Insn::is_stack_check);
    let jbe = check.and_then(|c| insns.get(c + 1).filter(|x| x.is_jbe()).map(|_| c + 1));
    if func.has_stack_check != jbe.is_some() {
        f.push(format!(
            "{name}: has_stack_check {}, but the disassembly starts {:?}",
            func.has_stack_check,
            head.iter().map(|x| &x.text).collect::<Vec<_>>()
        ));
    }
    if let Some(j) = jbe {
        if pos <= j {
            f.push(format!(
                "{name}: safe probe at {safe:#x} is not after the JBE at {:#x}",
                insns[j].addr
            ));
        }
    }
    let want = func
        .safe_probe_instruction
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let have = insns[pos].mnemonic.to_ascii_lowercase();
    if want.is_empty() || !have.starts_with(&want) {
        f.push(format!(
            "{name}: safe_probe_instruction {:?}, disassembler has {:?}",
            func.safe_probe_instruction, insns[pos].text
        ));
    }
}

#[test]
fn layout_matches_dwarf_and_stripped_matches_unstripped() {
    check_all("runtime layout", |case, i, f| {
        let l = &i.layout;
        for (s, field) in [("runtime.g", "goid"), ("runtime.g", "atomicstatus")] {
            if !l
                .structs
                .get(s)
                .is_some_and(|x| x.fields.contains_key(field))
            {
                f.push(format!("layout lacks {s}.{field}"));
            }
        }
        if i.binary.has_dwarf {
            if l.source != "dwarf" {
                f.push(format!("layout source {:?} with DWARF present", l.source));
            }
            let empty = BTreeMap::new();
            let dwarf = case.oracle.structs.as_ref().unwrap_or(&empty);
            for (name, got) in &l.structs {
                let Some(want) = dwarf.get(name) else {
                    f.push(format!("{name}: not a struct in debug/dwarf"));
                    continue;
                };
                if got.size != want.size || got.fields != want.fields {
                    f.push(format!(
                        "{name}: size {} fields {:?}; debug/dwarf size {} fields {:?}",
                        got.size, got.fields, want.size, want.fields
                    ));
                }
            }
            let consts = case.oracle.constants.clone().unwrap_or_default();
            for (k, v) in l.constants.g_status.iter().chain(&l.constants.p_status) {
                if consts.get(k).copied() != i64::try_from(*v).ok() {
                    f.push(format!("constant {k} = {v}, DWARF has {:?}", consts.get(k)));
                }
            }
            if !l.constants.g_status.contains_key("_Grunning") {
                f.push("constants lack _Grunning".into());
            }
        } else {
            if !l.source.starts_with("table:") {
                f.push(format!("layout source {:?} without DWARF", l.source));
            }
            match unstripped_twin(&case.fx).map(|t| &t.inspection) {
                Some(Ok(twin)) => {
                    if l.structs != twin.layout.structs {
                        f.push(format!(
                            "table layout differs from the DWARF of the unstripped build: {:?} vs {:?}",
                            l.structs, twin.layout.structs
                        ));
                    }
                    if l.constants != twin.layout.constants {
                        f.push("table constants differ from the unstripped build's DWARF".into());
                    }
                }
                Some(Err(_)) => f.push("unstripped twin could not be inspected".into()),
                None => f.push("no unstripped build of this version to compare with".into()),
            }
        }
    });
}

/// Load bias computed independently: where `/proc/PID/maps` maps file offset 0 of the executable,
/// minus the page-aligned p_vaddr of the first PT_LOAD.
fn load_bias_from_maps(pid: u32, fx: &Fixture) -> Option<u64> {
    let exe = std::fs::canonicalize(&fx.path).ok()?;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let start = maps.lines().find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols.len() >= 6 && cols[5] == exe.to_str()? && u64::from_str_radix(cols[2], 16).ok()? == 0)
            .then(|| u64::from_str_radix(cols[0].split('-').next()?, 16).ok())
            .flatten()
    })?;
    use object::read::elf::{FileHeader, ProgramHeader};
    let data = std::fs::read(&fx.path).ok()?;
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data).ok()?;
    let endian = hdr.endian().ok()?;
    let first = hdr
        .program_headers(endian, &*data)
        .ok()?
        .iter()
        .find(|p| p.p_type(endian) == object::elf::PT_LOAD)?
        .p_vaddr(endian);
    start.checked_sub(first & !0xfff)
}

#[test]
fn pid_inspection_reports_the_load_bias() {
    let mut failures = Vec::new();
    for case in cases()
        .iter()
        .filter(|c| c.fx.variant == "normal" || c.fx.variant == "pie")
    {
        let fx = &case.fx;
        let mut child = KillOnDrop(
            Command::new(&fx.path)
                .arg("wait")
                .stdout(Stdio::piped())
                .spawn()
                .expect("starting the fixture"),
        );
        // It prints its line once the runtime paths have run, then sleeps until killed.
        let mut line = String::new();
        let stdout = child.0.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let pid = child.0.id();
        let label = fx.label();
        let i = match common::inspect_json(&["--pid", &pid.to_string()]) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        let independent = load_bias_from_maps(pid, fx);
        match (fx.pie(), i.load_bias) {
            (false, Some(0)) => {}
            (true, Some(b)) if b != 0 && b % 4096 == 0 => {}
            (_, b) => failures.push(format!("{label}: load_bias {b:x?}")),
        }
        if i.load_bias != independent {
            failures.push(format!(
                "{label}: load_bias {:x?}, /proc/{pid}/maps gives {independent:x?}",
                i.load_bias
            ));
        }
        if i.pid != Some(pid) {
            failures.push(format!("{label}: pid {:?}, want {pid}", i.pid));
        }
        match &case.inspection {
            Ok(file) if file.functions != i.functions => failures.push(format!(
                "{label}: functions differ from inspecting the file"
            )),
            _ => {}
        }
        drop(child);
    }
    assert!(
        failures.is_empty(),
        "inspect --pid: {} problem(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
