//! `goroscope inspect` on bad input: missing files, directories, non-ELF and non-Go files,
//! truncated and corrupted Go binaries, dead processes, foreign architectures and Go versions
//! without a layout. Every case must fail cleanly: non-zero exit (not Rust's panic code 101),
//! stderr starting with "goroscope: error:", a message that names the problem, and no panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use object::read::elf::{FileHeader, SectionHeader};

/// Runs `goroscope inspect ARGS` and checks it failed cleanly with all `keywords` (any of the
/// `|`-separated alternatives, case-insensitive) in its message.
fn expect_error(args: &[&str], keywords: &[&str]) -> String {
    let mut full = vec!["inspect"];
    full.extend_from_slice(args);
    let out = common::goroscope(&full);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let what = format!("goroscope {}", full.join(" "));
    assert!(
        !out.status.success(),
        "{what} succeeded; stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_ne!(out.status.code(), Some(101), "{what} panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
    assert!(
        stderr.starts_with("goroscope: error:"),
        "{what}: stderr does not start with \"goroscope: error:\": {stderr}"
    );
    let lower = stderr.to_lowercase();
    for k in keywords {
        assert!(
            k.split('|').any(|alt| lower.contains(&alt.to_lowercase())),
            "{what}: message lacks {k:?}: {stderr}"
        );
    }
    stderr
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Writes `data` to a file in this test's scratch directory.
fn scratch_file(test: &str, name: &str, data: &[u8]) -> PathBuf {
    let p = common::scratch_dir(test).join(name);
    std::fs::write(&p, data).expect("writing scratch file");
    p
}

/// File range [offset, offset+size) of a section, read with the `object` crate.
fn section_range(data: &[u8], name: &str) -> Option<(usize, usize)> {
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(data).ok()?;
    let endian = hdr.endian().ok()?;
    let sections = hdr.sections(endian, data).ok()?;
    let (_, s) = sections
        .iter()
        .enumerate()
        .find(|(_, s)| sections.section_name(endian, s).ok() == Some(name.as_bytes()))?;
    Some((s.sh_offset(endian) as usize, s.sh_size(endian) as usize))
}

#[test]
fn missing_file() {
    let p = common::workspace_root().join("target/no-such-go-binary");
    expect_error(&[path_str(&p)], &["no-such-go-binary", "no such file"]);
}

#[test]
fn directory() {
    let p = common::workspace_root().join("testdata");
    expect_error(&[path_str(&p)], &["directory"]);
}

#[test]
fn text_file() {
    let p = scratch_file("text_file", "notes.txt", b"this is not an executable\n");
    expect_error(&[path_str(&p)], &["not an elf"]);
}

#[test]
fn non_go_elf() {
    expect_error(&["/bin/ls"], &["not a go executable"]);
}

#[test]
fn truncated_go_binaries() {
    let fx = common::newest("stripped");
    let data = std::fs::read(&fx.path).unwrap();
    for (name, len) in [("first-64k", 64 * 1024), ("first-half", data.len() / 2)] {
        let p = scratch_file("truncated", name, &data[..len]);
        expect_error(&[path_str(&p)], &["malformed|truncated"]);
    }
}

#[test]
fn corrupted_pclntab_magic() {
    let fx = common::newest("stripped");
    let mut data = std::fs::read(&fx.path).unwrap();
    let (off, _) = section_range(&data, ".gopclntab").expect(".gopclntab in a stripped fixture");
    data[off..off + 4].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    let p = scratch_file("pclntab_magic", "bad-magic", &data);
    expect_error(&[path_str(&p)], &["pclntab"]);
}

#[test]
fn corrupted_function_table() {
    let fx = common::newest("stripped");
    let mut data = std::fs::read(&fx.path).unwrap();
    let (off, size) = section_range(&data, ".gopclntab").expect(".gopclntab");
    // Go 1.20 header: magic, pad, quantum, ptrsize, then 8 words; word 7 (at 8+7*8) is the
    // offset of the function table, which holds nfunc+1 (entryoff u32, funcoff u32) pairs.
    let word =
        |i: usize| u64::from_le_bytes(data[off + 8 + i * 8..off + 16 + i * 8].try_into().unwrap());
    let (nfunc, ftab) = (word(0) as usize, word(7) as usize);
    let middle = off + ftab + nfunc / 2 * 8;
    assert!(
        middle + 4096 < off + size,
        "function table inside the section"
    );
    for (i, b) in data[middle..middle + 4096].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0xa5;
    }
    let p = scratch_file("functab", "scribbled-functab", &data);
    expect_error(&[path_str(&p)], &["pclntab|function table"]);
}

#[test]
fn dead_pid() {
    let mut child = Command::new("true").spawn().expect("spawning true");
    let pid = child.id();
    child.wait().unwrap();
    let pid = pid.to_string();
    expect_error(
        &["--pid", &pid],
        &[&pid, "no such process|exited|not running"],
    );
}

#[test]
fn thirty_two_bit_elf() {
    let p = common::oracle_output("cross/386");
    expect_error(&[path_str(&p)], &["32-bit"]);
}

#[test]
fn arm64_elf() {
    let p = common::oracle_output("cross/arm64");
    expect_error(&[path_str(&p)], &["arm64|aarch64"]);
}

/// The newest stripped fixture with its Go version in `.go.buildinfo` replaced by an unknown
/// one of the same length ("go1.27.3" → "go1.99.9"), and that version.
fn unknown_version_binary() -> (PathBuf, String, common::Fixture) {
    let fx = common::newest("stripped");
    let mut data = std::fs::read(&fx.path).unwrap();
    let (off, size) = section_range(&data, ".go.buildinfo").expect(".go.buildinfo");
    let old = format!("go{}", fx.version);
    let new: String = old
        .char_indices()
        .map(|(i, c)| if i >= 4 && c.is_ascii_digit() { '9' } else { c })
        .collect();
    let section = &mut data[off..off + size];
    let at = section
        .windows(old.len())
        .position(|w| w == old.as_bytes())
        .expect("version string in .go.buildinfo");
    section[at..at + old.len()].copy_from_slice(new.as_bytes());
    (scratch_file("unknown_version", "go199", &data), new, fx)
}

#[test]
fn unknown_go_version_without_dwarf() {
    let (p, version, fx) = unknown_version_binary();
    let minor = format!("1.{}", fx.minor());
    expect_error(
        &[path_str(&p)],
        &[
            "unsupported go version",
            &version,
            &minor,
            "--force-nearest-layout",
        ],
    );

    // Forced, it uses the nearest table: the same layout the real version gets.
    let forced = common::inspect_json(&["--force-nearest-layout", path_str(&p)])
        .expect("inspect --force-nearest-layout of an unknown version");
    let real = common::inspect_path(&fx.path).expect("inspecting the unpatched fixture");
    assert_eq!(forced.build.go_version, version);
    assert!(
        forced.layout.source.contains("forced") && forced.layout.source.contains(&minor),
        "layout source {:?}",
        forced.layout.source
    );
    assert_eq!(forced.layout.structs, real.layout.structs);
    assert_eq!(forced.functions, real.functions);
}

/// Whole-file inputs the fuzzer found crashing (fuzz/regressions/inspect_bytes-*, saved by
/// scripts/fuzz-smoke.sh; the inspect_patched_go ones are patch lists, replayed by that script) must give
/// a clean error or a result from the goroscope binary — never a panic (this test binary runs
/// the debug build, where arithmetic overflow panics too).
#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = common::workspace_root().join("fuzz/regressions");
    let mut panics = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if !p.is_file()
            || !p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("inspect_")
        {
            continue;
        }
        let out = common::goroscope(&["inspect", "--json", path_str(&p)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(101) || stderr.contains("panicked") {
            panics.push(format!(
                "{}: {}",
                p.display(),
                stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
            ));
        } else if !out.status.success() {
            assert!(
                stderr.starts_with("goroscope: error:"),
                "{}: {stderr}",
                p.display()
            );
        }
    }
    assert!(
        panics.is_empty(),
        "goroscope panicked on fuzz regressions:\n  {}",
        panics.join("\n  ")
    );
}

/// A PT_LOAD whose p_offset is absurd (found by the fuzzer: address translation overflowed).
#[test]
fn load_segment_offset_beyond_the_file() {
    use object::read::elf::ProgramHeader;
    let fx = common::newest("stripped");
    let mut data = std::fs::read(&fx.path).unwrap();
    let (phoff, index) = {
        let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data).unwrap();
        let endian = hdr.endian().unwrap();
        let phdrs = hdr.program_headers(endian, &*data).unwrap();
        let index = phdrs
            .iter()
            .position(|p| {
                p.p_type(endian) == object::elf::PT_LOAD
                    && p.p_flags(endian) & object::elf::PF_X != 0
            })
            .expect("an executable PT_LOAD");
        (hdr.e_phoff.get(endian) as usize, index)
    };
    let p_offset = phoff + index * 56 + 8; // Elf64_Phdr: p_type u32, p_flags u32, p_offset u64
    data[p_offset..p_offset + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    let p = scratch_file("phdr_offset", "huge-p_offset", &data);
    expect_error(&[path_str(&p)], &["malformed|truncated|outside|beyond"]);
}
