//! Fuzz target: `goinspect::inspect_bytes` on arbitrary bytes. Any panic is a bug: untrusted
//! executables must produce a typed error. Seeds (scripts/fuzz-smoke.sh): a stripped Go fixture,
//! its `.gopclntab` section alone, and its first 4 KiB.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = goinspect::InspectOptions::default();
    let _ = goinspect::inspect_bytes(data, "fuzz-input", &opts);
    let forced = goinspect::InspectOptions {
        force_nearest_layout: true,
    };
    let _ = goinspect::inspect_bytes(data, "fuzz-input", &forced);
});
