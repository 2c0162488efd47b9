//! The inspectee fixtures `scripts/build-fixtures.sh` builds: one binary per Go version and
//! build variant, at `<fixtures>/go<version>/inspectee/<variant>`.

use std::path::PathBuf;

use crate::paths::fixtures_dir;
use crate::toolchains::go_binary;

/// The build variants `scripts/build-fixtures.sh` makes of each program, in its order.
pub const VARIANTS: &[&str] = &["normal", "stripped", "pie", "cgo", "cgo-stripped-pie"];

/// One built fixture binary: `<fixtures>/go<version>/inspectee/<variant>`.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Toolchain version as in the directory name, e.g. "1.27.3".
    pub version: String,
    pub variant: String,
    pub path: PathBuf,
}

impl Fixture {
    /// The Go minor version: 27 for "1.27.3".
    pub fn minor(&self) -> u32 {
        self.version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }
    pub fn stripped(&self) -> bool {
        self.variant.contains("stripped")
    }
    pub fn pie(&self) -> bool {
        self.variant.contains("pie")
    }
    pub fn cgo(&self) -> bool {
        self.variant.starts_with("cgo")
    }
    /// "go1.27.3/pie", for assertion messages.
    pub fn label(&self) -> String {
        format!("go{}/{}", self.version, self.variant)
    }
    /// The `go` binary of the toolchain that built it.
    pub fn go(&self) -> PathBuf {
        go_binary(&self.version)
    }
    /// The binary's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/build-fixtures.sh (GOROSCOPE_GO_VERSIONS=all for every \
                 version)",
                self.path.display()
            )
        })
    }
}

/// Where the fixture of a version ("1.27.3") and variant is (whether built or not).
pub fn fixture_path(version: &str, variant: &str) -> PathBuf {
    fixtures_dir().join(format!("go{version}/inspectee/{variant}"))
}

/// The fixture of a version and variant; panics saying what to run when it is not built.
pub fn fixture(version: &str, variant: &str) -> Fixture {
    let path = fixture_path(version, variant);
    assert!(
        path.is_file(),
        "no fixture go{version}/{variant} at {}: run scripts/build-fixtures.sh \
         (GOROSCOPE_GO_VERSIONS=all for every version)",
        path.display()
    );
    Fixture {
        version: version.to_string(),
        variant: variant.to_string(),
        path,
    }
}

/// Every inspectee fixture present, sorted by version then variant. Panics (with what to run)
/// when there is none: the tests need at least one Go version.
pub fn inspectee_fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name.strip_prefix("go") else {
            continue;
        };
        for variant in VARIANTS {
            let path = entry.path().join("inspectee").join(variant);
            if path.is_file() {
                out.push(Fixture {
                    version: version.to_string(),
                    variant: variant.to_string(),
                    path,
                });
            }
        }
    }
    assert!(
        !out.is_empty(),
        "no Go fixtures under {}: run scripts/build-fixtures.sh (GOROSCOPE_GO_VERSIONS=all for \
         every toolchain)",
        dir.display()
    );
    out.sort_by_key(|f| (version_key(&f.version), variant_rank(&f.variant)));
    out
}

/// "1.27.3" → [1, 27, 3], so versions sort numerically (1.9 before 1.19).
fn version_key(v: &str) -> Vec<u32> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

fn variant_rank(v: &str) -> usize {
    VARIANTS.iter().position(|x| *x == v).unwrap_or(usize::MAX)
}

/// Fixture `program` (testdata/go/<program>) built by the Go version whose number starts with
/// `minor` ("1.19", "1.27"), in `variant`, if it is built.
pub fn find_program_fixture(program: &str, minor: &str, variant: &str) -> Option<PathBuf> {
    let prefix = format!("go{minor}.");
    std::fs::read_dir(fixtures_dir())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .map(|d| d.join(program).join(variant))
        .find(|p| p.is_file())
}

/// [`find_program_fixture`], panicking with the command that builds it when missing.
pub fn program_fixture(program: &str, minor: &str, variant: &str) -> PathBuf {
    match find_program_fixture(program, minor, variant) {
        Some(p) => p,
        None => panic!(
            "the {program} fixture for Go {minor} ({variant}) is missing under {}: run \
             GOROSCOPE_GO_VERSIONS=\"{minor}\" scripts/build-fixtures.sh {program}",
            fixtures_dir().display()
        ),
    }
}

/// The ground truth a fixture prints about itself: the JSON of its `GROUND_TRUTH {json}` line
/// (testdata/go/sched and others). Panics, naming `label`, without one.
pub fn ground_truth(stdout: &str, label: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("GROUND_TRUTH "))
        .unwrap_or_else(|| panic!("{label}: no GROUND_TRUTH line in {stdout:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{label}: ground truth {line:?}: {e}"))
}
