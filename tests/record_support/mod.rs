//! Helpers shared by the `record_*` end-to-end tests.

use std::path::Path;
use std::process::Command;

/// `goroscope report FILE --json`, which must succeed, parsed.
pub fn report_json(file: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_goroscope"))
        .arg("report")
        .arg(file)
        .arg("--json")
        .output()
        .expect("running goroscope report");
    assert!(
        out.status.success(),
        "goroscope report {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}
