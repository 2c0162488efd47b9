//! `goroscope inspect` on a large real-world stripped Go binary (~50 MB, e.g. Debian's
//! prometheus, fetched by `bench/inspect_timing.sh`), compared with the Go oracle. It is a
//! benchmark input, not a fixture: when absent the test says so and passes.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `$GOROSCOPE_BIG_BINARY`, else what bench/inspect_timing.sh extracts.
fn big_binary() -> Option<PathBuf> {
    let p = std::env::var_os("GOROSCOPE_BIG_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::workspace_root().join("target/big/x/usr/bin/prometheus"));
    p.is_file().then_some(p)
}

#[test]
fn inspects_a_large_stripped_binary() {
    let Some(bin) = big_binary() else {
        eprintln!(
            "skipped: no large Go binary (run bench/inspect_timing.sh to fetch one, or set \
             GOROSCOPE_BIG_BINARY)"
        );
        return;
    };
    let i = common::inspect_path(&bin).unwrap_or_else(|e| panic!("{e}"));
    let o = common::oracle::run_oracle(&bin, &BTreeMap::new());
    assert_eq!(i.build.go_version, o.go_version);
    assert_eq!(i.binary.pclntab_functions, o.functions.len());
    for func in i.functions.iter().filter(|f| f.found) {
        let entries = o.entries(&func.symbol);
        assert!(
            entries
                .iter()
                .any(|e| e.entry == func.entry && e.end == func.end),
            "{}: [{:#x}, {:#x}) is not a debug/gosym entry",
            func.symbol,
            func.entry,
            func.end
        );
    }
    let casgstatus = i.functions.iter().find(|f| f.name == "casgstatus").unwrap();
    assert!(casgstatus.found, "runtime.casgstatus not found");
    // The runtime's sampler is found from the code alone (Debian's prometheus: Go 1.19, cgo,
    // stripped), inside casgstatus.
    let sampler = i.sampler.as_ref().unwrap_or_else(|| {
        panic!("no sampler placement: {:?}", i.warnings);
    });
    assert!(
        sampler.offset < casgstatus.end - casgstatus.entry,
        "{sampler:?}"
    );
    assert_eq!(sampler.gp_register, "rdi", "{sampler:?}");
}
