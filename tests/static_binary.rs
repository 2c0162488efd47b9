//! The goroscope binary must run on any glibc system without extra packages: libbpf, libelf and
//! zlib are linked statically (libbpf-sys `static` feature), so its DT_NEEDED entries may name only
//! glibc's libraries and libgcc_s (Rust's unwinder).

use object::read::elf::{Dyn, ElfFile64};
use object::{elf, Endianness};

/// Shared libraries the binary may need at run time.
const ALLOWED: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
];

fn needed_libraries(data: &[u8]) -> Vec<String> {
    let file = ElfFile64::<Endianness>::parse(data).expect("goroscope is a 64-bit ELF");
    let endian = file.endian();
    let sections = file.elf_section_table();
    let (dynamic, strtab_index) = sections
        .dynamic(endian, data)
        .expect("reading .dynamic")
        .expect("goroscope is dynamically linked against glibc, so it has a .dynamic section");
    let strings = sections
        .strings(endian, data, strtab_index)
        .expect("reading .dynstr");
    dynamic
        .iter()
        .filter(|d| d.d_tag(endian) as u32 == elf::DT_NEEDED)
        .map(|d| {
            let name = d.string(endian, strings).expect("DT_NEEDED name");
            String::from_utf8_lossy(name).into_owned()
        })
        .collect()
}

#[test]
fn binary_needs_only_glibc_and_libgcc() {
    let path = env!("CARGO_BIN_EXE_goroscope");
    let data = std::fs::read(path).expect("reading the goroscope binary");
    let needed = needed_libraries(&data);
    assert!(
        needed.iter().any(|n| n == "libc.so.6"),
        "expected libc.so.6 among {needed:?}"
    );
    let extra: Vec<&String> = needed
        .iter()
        .filter(|n| !ALLOWED.contains(&n.as_str()))
        .collect();
    assert!(
        extra.is_empty(),
        "{path} needs {extra:?} at run time (all: {needed:?}). libelf, zlib and libbpf must be \
         linked statically: crates/bpf enables libbpf-sys's `static` feature and \
         .cargo/config.toml sets LIBBPF_SYS_LIBRARY_PATH to where libelf.a and libz.a are \
         (Debian: libelf-dev, zlib1g-dev)"
    );
}
