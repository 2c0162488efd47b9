//! Compiles every BPF program `src/bpf/<name>.bpf.c` with clang and generates its libbpf-rs
//! skeleton as `$OUT_DIR/<name>.skel.rs` (pulled in by `src/bpf_skel.rs`).
//!
//! Headers: `src/bpf/include/vmlinux_subset.h` (our own CO-RE kernel types) and libbpf's
//! `<bpf/bpf_helpers.h>` & co., which libbpf-cargo extracts from libbpf-sys and puts on the include
//! path itself, so they are never vendored here. Set `CLANG` to use another clang than the one on
//! PATH.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use libbpf_cargo::SkeletonBuilder;

const BPF_DIR: &str = "src/bpf";
/// The event ABI header (goroscope.h), shared with the Rust mirror in crates/abi.
const ABI_INCLUDE_DIR: &str = "../abi/include";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let bpf_dir = manifest_dir.join(BPF_DIR);
    let include_dir = bpf_dir.join("include");

    // A directory makes cargo rerun on any change below it: new programs and header edits too.
    println!("cargo:rerun-if-changed={BPF_DIR}");
    println!("cargo:rerun-if-changed={ABI_INCLUDE_DIR}");
    println!("cargo:rerun-if-env-changed=CLANG");

    let clang = env::var_os("CLANG").unwrap_or_else(|| OsString::from("clang"));
    for (name, source) in bpf_programs(&bpf_dir) {
        let skel = out_dir.join(format!("{name}.skel.rs"));
        let result = SkeletonBuilder::new()
            .source(&source)
            .obj(out_dir.join(format!("{name}.bpf.o")))
            .clang(&clang)
            .clang_args([
                OsString::from("-I"),
                include_dir.clone().into_os_string(),
                OsString::from("-I"),
                manifest_dir.join(ABI_INCLUDE_DIR).into_os_string(),
                // Warnings would otherwise be swallowed by the build script: make them errors.
                OsString::from("-Wall"),
                OsString::from("-Werror"),
            ])
            .build_and_generate(&skel);
        if let Err(err) = result {
            panic!(
                "building BPF program {}: {err:#}\n(needs clang on PATH or in $CLANG; on Debian: \
                 apt-get install clang)",
                source.display()
            );
        }
    }
}

/// `(name, path)` of every `<name>.bpf.c` under `dir`, sorted so builds are reproducible.
fn bpf_programs(dir: &Path) -> Vec<(String, PathBuf)> {
    let entries = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("reading BPF source directory").path());
    let mut programs: Vec<(String, PathBuf)> = entries
        .filter_map(|path| {
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".bpf.c")?
                .to_owned();
            Some((name, path))
        })
        .collect();
    programs.sort();
    programs
}
