//! Where things are: the workspace root, the fixtures directory and the files
//! `scripts/build-oracle.sh` puts there.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives at `<root>/crates/testsupport`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .expect("crates/testsupport sits two levels below the workspace root")
        .to_path_buf()
}

/// `$GOROSCOPE_FIXTURES`, or else `<workspace>/target/fixtures` (where the scripts build them).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/fixtures"))
}

/// A file made by `scripts/build-oracle.sh` in the fixtures dir (`oracle`, `cross/386`,
/// `cross/arm64`); panics saying what to run when it is missing.
pub fn oracle_output(rel: &str) -> PathBuf {
    let p = fixtures_dir().join(rel);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/build-oracle.sh",
        p.display()
    );
    p
}

/// `name` in a scratch folder of this test process: target/test-scratch/<suite>-<pid>/.
pub fn scratch_path(suite: &str, name: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/test-scratch")
        .join(format!("{suite}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating scratch dir");
    dir.join(name.replace('/', "-"))
}
