//! Ground-truth test of the `.go.buildinfo` reader: for every fixture, what we read, written out
//! the way `go version -m` prints it (runtime/debug.BuildInfo.String), equals the output of
//! `go version -m` of the toolchain that built it.

mod readers_common;

use goinspect::elf::ElfImage;
use goinspect::{buildinfo, Error};
use readers_common::*;

/// strconv.Quote for the ASCII values build settings hold.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_quote(s: &str) -> bool {
    s.contains([' ', '\t', '\r', '\n', '"', '`'])
}

#[test]
fn buildinfo_matches_go_version_m() {
    for f in fixtures() {
        let data = f.bytes();
        let elf = ElfImage::parse(&data).unwrap();
        let info = buildinfo::read(&elf).unwrap_or_else(|e| panic!("{}: {e}", f.label()));

        let mut ours = format!("{}: {}\n", f.path.display(), info.go_version);
        if let Some(p) = &info.path {
            ours += &format!("\tpath\t{p}\n");
        }
        let module = |kind: &str, m: &goinspect::Module| {
            format!(
                "\t{kind}\t{}\t{}\t{}\n",
                m.path,
                m.version,
                m.sum.as_deref().unwrap_or("")
            )
        };
        if let Some(m) = &info.main_module {
            ours += &module("mod", m);
        }
        for d in &info.deps {
            ours += &module("dep", d);
        }
        for (k, v) in &info.settings {
            let k = if needs_quote(k) || k.contains('=') {
                go_quote(k)
            } else {
                k.clone()
            };
            let v = if needs_quote(v) {
                go_quote(v)
            } else {
                v.clone()
            };
            ours += &format!("\tbuild\t{k}={v}\n");
        }

        let mut c = go_command(&f.go());
        c.args(["version", "-m"]).arg(&f.path);
        assert_eq!(ours, run(c), "{}", f.label());

        assert_eq!(info.go_version, format!("go{}", f.version), "{}", f.label());
        if f.stripped() {
            assert!(
                info.settings
                    .iter()
                    .any(|(k, v)| k == "-ldflags" && v == "-s -w"),
                "{}: {:?}",
                f.label(),
                info.settings
            );
        }
    }
}

#[test]
fn buildinfo_found_by_scan_without_section_headers() {
    // Zero the section header table fields (e_shoff, e_shnum, e_shstrndx) so only program
    // headers remain: the reader must find the magic in writable data, as debug/buildinfo does.
    for variant in ["stripped", "cgo-stripped-pie"] {
        let f = fixture(NEWEST, variant);
        let good = f.bytes();
        let expected = buildinfo::read(&ElfImage::parse(&good).unwrap()).unwrap();
        let mut data = good.clone();
        data[0x28..0x30].fill(0); // e_shoff
        data[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
        let elf = ElfImage::parse(&data).unwrap();
        assert!(!elf.has_section(".go.buildinfo"));
        assert_eq!(buildinfo::read(&elf).unwrap(), expected, "{}", f.label());
    }
}

#[test]
fn non_go_elf_is_not_go() {
    let data = std::fs::read("/bin/true").expect("/bin/true");
    let elf = ElfImage::parse(&data).unwrap();
    let err = buildinfo::read(&elf).unwrap_err();
    assert!(
        matches!(&err, Error::NotGo(m) if m.contains("no .go.buildinfo section")),
        "{err}"
    );
}

#[test]
fn damaged_buildinfo_never_panics() {
    let f = fixture(NEWEST, "stripped");
    let good = f.bytes();
    let s = ElfImage::parse(&good)
        .unwrap()
        .section(".go.buildinfo")
        .unwrap();
    let (start, len) = (s.file_offset as usize, s.data.len());
    for p in 0..len.min(400) {
        for x in [0xff, 0x80, 0x02] {
            let mut data = good.clone();
            data[start + p] ^= x;
            let elf = ElfImage::parse(&data).unwrap();
            match buildinfo::read(&elf) {
                Ok(_)
                | Err(Error::Malformed { .. } | Error::NotGo(_) | Error::UnsupportedArch(_)) => {}
                Err(e) => panic!("byte {p} ^ {x:#x}: unexpected {e}"),
            }
        }
    }
}
