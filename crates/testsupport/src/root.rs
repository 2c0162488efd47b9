//! Tests that need root (real BPF loads, cgroups) are `#[ignore = "needs root: ..."]`, so a
//! non-root `cargo test` runs the rest and lists them as ignored; `scripts/test.sh` (and so CI,
//! as root) runs them with `--include-ignored`. Asking for one without root lands here and fails
//! loudly: such a test must never pass by skipping.

/// Fails the test unless it runs as root.
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("reading /proc/self/status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1))
        .expect("Uid line in /proc/self/status");
    assert_eq!(
        euid, "0",
        "this test loads real BPF programs and must run as root (CI does): run \
         `sudo -E cargo test -- --include-ignored` or scripts/test.sh as root"
    );
}
