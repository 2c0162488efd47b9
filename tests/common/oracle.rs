//! The ground truth the inspector is compared with: the Go oracle (`testdata/go/oracle`, which
//! uses Go's own debug/gosym, debug/buildinfo and debug/dwarf), and the matching toolchain's
//! `go tool nm` / `go tool objdump` (GNU objdump for stripped binaries, which Go's cannot read).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use super::Fixture;

#[derive(Debug, Clone, Deserialize)]
pub struct OracleFunction {
    pub name: String,
    pub entry: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OracleStruct {
    pub size: u64,
    pub fields: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Oracle {
    pub go_version: String,
    pub main_path: String,
    pub settings: Vec<(String, String)>,
    pub pie: bool,
    pub has_dwarf: bool,
    pub has_symtab: bool,
    pub text_start: u64,
    pub text_start_source: String,
    pub functions: Vec<OracleFunction>,
    #[serde(default)]
    pub structs: Option<BTreeMap<String, OracleStruct>>,
    #[serde(default)]
    /// The runtime's `_G*`/`_P*` constants (some unrelated `_P…` ones are negative).
    pub constants: Option<BTreeMap<String, i64>>,
}

impl Oracle {
    /// Every pclntab entry of `name` (assembly functions with ABI wrappers appear twice).
    pub fn entries(&self, name: &str) -> Vec<&OracleFunction> {
        self.functions.iter().filter(|f| f.name == name).collect()
    }
}

/// Runs the oracle on `bin`, asking for DWARF offsets of `structs` (struct → field paths).
pub fn run_oracle(bin: &Path, structs: &BTreeMap<String, Vec<String>>) -> Oracle {
    let oracle = testsupport::oracle_output("oracle");
    let mut cmd = Command::new(&oracle);
    for (name, fields) in structs {
        if !fields.is_empty() {
            cmd.arg("-struct")
                .arg(format!("{name}={}", fields.join(",")));
        }
    }
    cmd.arg(bin);
    serde_json::from_str(&testsupport::run(cmd)).expect("oracle JSON")
}

/// `go <args>` with the fixture's own toolchain, offline.
fn go_tool(fx: &Fixture, args: &[&str]) -> String {
    let mut c = testsupport::go_command(&fx.go());
    c.args(args);
    testsupport::run(c)
}

/// `go tool nm`: text symbol name → address (ABI0 assembly symbols keep their ".abi0" suffix).
pub fn go_nm(fx: &Fixture) -> HashMap<String, u64> {
    let text = go_tool(fx, &["tool", "nm", fx.path.to_str().unwrap()]);
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(addr), Some(kind), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if kind.eq_ignore_ascii_case("t") {
            if let Ok(a) = u64::from_str_radix(addr, 16) {
                out.entry(name.to_string()).or_insert(a);
            }
        }
    }
    out
}

/// One disassembled instruction: address and text, mnemonic upper-cased (Go style).
#[derive(Debug, Clone)]
pub struct Insn {
    pub addr: u64,
    pub mnemonic: String,
    pub text: String,
}

impl Insn {
    pub fn is_ret(&self) -> bool {
        self.mnemonic == "RET" || self.mnemonic == "RETQ"
    }
    pub fn is_jbe(&self) -> bool {
        self.mnemonic == "JBE"
    }
    /// The stack-bound check: `CMPQ SP, 0x10(R14)` / `CMPQ R12, 0x10(R14)` in Go syntax,
    /// `cmp 0x10(%r14),%rsp` in GNU syntax.
    pub fn is_stack_check(&self) -> bool {
        let t = self.text.to_ascii_lowercase();
        self.mnemonic.starts_with("CMP") && (t.contains("0x10(r14)") || t.contains("0x10(%r14)"))
    }
}

/// Instructions of each function whose name matches one of `names` (short runtime names),
/// from `go tool objdump -s '^runtime\.(a|b|...)$'`. Keyed by the TEXT symbol as printed
/// (ABI wrappers show as a second TEXT block of the same name; they are kept apart by address).
pub fn go_objdump(fx: &Fixture, names: &[&str]) -> Vec<(String, Vec<Insn>)> {
    let re = format!("^runtime\\.({})$", names.join("|"));
    let text = go_tool(
        fx,
        &["tool", "objdump", "-s", &re, fx.path.to_str().unwrap()],
    );
    let mut out: Vec<(String, Vec<Insn>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("TEXT ") {
            let name = rest.split('(').next().unwrap_or(rest).to_string();
            out.push((name, Vec::new()));
            continue;
        }
        // "  proc.go:1290\t0x449ee0\t\t55\t\t\tPUSHQ BP"
        let fields: Vec<&str> = line.split('\t').filter(|s| !s.is_empty()).collect();
        if fields.len() < 4 {
            continue;
        }
        let Some(addr) = fields[1]
            .strip_prefix("0x")
            .and_then(|a| u64::from_str_radix(a, 16).ok())
        else {
            continue;
        };
        let asm = fields[3..].join(" ").trim().to_string();
        let mnemonic = asm.split_whitespace().next().unwrap_or("").to_string();
        if let Some((_, insns)) = out.last_mut() {
            insns.push(Insn {
                addr,
                mnemonic,
                text: asm,
            });
        }
    }
    out
}

/// GNU objdump of `[start, end)`: works on stripped binaries, which `go tool objdump` refuses.
pub fn gnu_objdump(bin: &Path, start: u64, end: u64) -> Vec<Insn> {
    let out = Command::new("objdump")
        .args([
            "-d",
            "-w",
            "--no-show-raw-insn",
            &format!("--start-address={start:#x}"),
            &format!("--stop-address={end:#x}"),
        ])
        .arg(bin)
        .output()
        .expect("running GNU objdump (binutils)");
    assert!(out.status.success(), "objdump failed on {}", bin.display());
    let mut insns = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "  449ee0:\tpush   %rbp"
        let Some((addr, rest)) = line.trim_start().split_once(":\t") else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        let text = rest.trim().to_string();
        let mnemonic = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        insns.push(Insn {
            addr,
            mnemonic,
            text,
        });
    }
    insns
}

/// What the fixture prints when run: "inspectee <runtime.Version()> cgo|nocgo".
pub fn run_fixture(fx: &Fixture) -> (String, String) {
    let out = Command::new(&fx.path)
        .output()
        .expect("running the fixture");
    assert!(out.status.success(), "{} failed", fx.label());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    assert_eq!(words.next(), Some("inspectee"), "{}: {text}", fx.label());
    (
        words.next().unwrap_or_default().to_string(),
        words.next().unwrap_or_default().to_string(),
    )
}

/// File offset of a virtual address, from the ELF program headers (PT_LOAD with file bytes).
pub fn file_offset(bin: &Path, vaddr: u64) -> Option<u64> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let data = std::fs::read(bin).ok()?;
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data).ok()?;
    let endian = hdr.endian().ok()?;
    for ph in hdr.program_headers(endian, &*data).ok()? {
        if ph.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        let (va, off, filesz) = (ph.p_vaddr(endian), ph.p_offset(endian), ph.p_filesz(endian));
        if vaddr >= va && vaddr < va + filesz {
            return Some(off + (vaddr - va));
        }
    }
    None
}
