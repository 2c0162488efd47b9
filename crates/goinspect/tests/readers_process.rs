//! Tests of the process readers on live fixture processes (`inspectee wait` sleeps for an hour;
//! we kill it): the load bias computed from /proc/PID/maps must place `main.main` (entry from the
//! pclntab) inside an executable mapping, and the process's memory there must hold the same
//! bytes as the file at the function's file offset. ET_EXEC must have bias 0.

mod readers_common;

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::process::{Child, Command, Stdio};

use goinspect::elf::ElfImage;
use goinspect::pclntab::Pclntab;
use goinspect::process;
use goinspect::Error;
use readers_common::*;

/// A started fixture process, killed (by its own handle) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(f: &Fixture) -> Running {
    let mut child = Command::new(&f.path)
        .arg("wait")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", f.label()));
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    // It prints its version line once the runtime has done everything; then it sleeps.
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.starts_with("inspectee"), "{}: {line:?}", f.label());
    running
}

#[test]
fn load_bias_places_main_main_on_its_code() {
    for version in ["1.19.8", NEWEST] {
        for variant in ["normal", "pie", "cgo-stripped-pie"] {
            let f = fixture(version, variant);
            let data = f.bytes();
            let elf = ElfImage::parse(&data).unwrap();
            let tab = Pclntab::parse(&elf).unwrap();
            let main = tab.find_func("main.main").unwrap();

            let proc = start(&f);
            let pid = proc.0.id();
            let exe = process::process_exe(pid).unwrap();
            assert_eq!(
                std::fs::canonicalize(&exe.display_path).unwrap(),
                std::fs::canonicalize(&f.path).unwrap()
            );
            let bias = process::load_bias(pid, &elf).unwrap();
            eprintln!("{}: pid {pid} bias {bias:#x}", f.label());
            if !elf.is_pie() {
                assert_eq!(bias, 0, "{}", f.label());
            }
            let addr = bias + main.entry;
            let maps =
                process::parse_maps(&std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap());
            assert!(
                maps.iter()
                    .any(|m| m.executable && m.start <= addr && addr < m.end),
                "{}: main.main at {addr:#x} (bias {bias:#x}) not in an executable mapping",
                f.label()
            );
            let len = (main.end - main.entry) as usize;
            let mut live = vec![0u8; len];
            let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
            mem.seek(SeekFrom::Start(addr)).unwrap();
            mem.read_exact(&mut live).unwrap();
            let off = elf.vaddr_to_file_offset(main.entry).unwrap() as usize;
            assert_eq!(live, data[off..off + len], "{}: main.main bytes", f.label());
        }
    }
}

#[test]
fn exited_process_is_reported() {
    let f = fixture(NEWEST, "normal");
    let mut child = Command::new(&f.path).stdout(Stdio::null()).spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let data = f.bytes();
    let elf = ElfImage::parse(&data).unwrap();
    for err in [
        process::process_exe(pid).err(),
        process::load_bias(pid, &elf).err(),
    ] {
        assert!(
            matches!(&err, Some(Error::Process { detail, .. }) if detail.contains("no such process")),
            "{err:?}"
        );
    }
}
