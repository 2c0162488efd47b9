//! Test-only helpers shared by the goroscope test suites (root `tests/` and the crates' own
//! `tests/`), so each suite does not carry its own copy: where the workspace and the Go fixtures
//! are, which Go toolchains are tested and where they live, and how to run them offline; the
//! kernel's per-thread counters of a process.
//!
//! Fixtures come from `scripts/build-fixtures.sh` and live in `$GOROSCOPE_FIXTURES` or
//! `<workspace>/target/fixtures`; the version list and toolchain locations come from
//! `scripts/go-versions.sh`, the single source of truth the scripts use too.

mod cgroup;
mod fixtures;
pub mod gotrace;
mod paths;
mod root;
pub mod sched_profile;
mod tasks;
mod toolchains;

pub use cgroup::QuotaCgroup;
pub use fixtures::{
    find_program_fixture, fixture, fixture_path, ground_truth, inspectee_fixtures, program_fixture,
    Fixture, VARIANTS,
};
pub use paths::{fixtures_dir, oracle_output, scratch_path, workspace_root};
pub use root::require_root;
pub use tasks::{idle_task_counters, switches, task_counters, TaskCounters};
pub use toolchains::{
    all_go_versions, build_go_helper, go_binary, go_command, goroot, run, selected_go_versions,
};
