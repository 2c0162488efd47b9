//! `goroscope selftest` end to end, as root with real BPF loads: it must succeed, count exactly
//! the marker calls it made, attribute them and the context switches to its own pid, and leave no
//! program loaded. Without the needed capabilities it must fail with advice, not a bare EPERM.

mod bpf_support;

use std::process::{Command, Stdio};

use bpf_support::{assert_no_gs_program_held_by_us, assert_unloaded, ids_in, require_root};

fn goroscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_goroscope"));
    cmd.env_remove("GOROSCOPE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn selftest_loads_attaches_counts_and_unloads() {
    require_root();
    let child = goroscope()
        .arg("selftest")
        .spawn()
        .expect("running goroscope");
    let pid = child.id();
    let out = child.wait_with_output().expect("waiting for goroscope");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "goroscope selftest failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.starts_with("goroscope selftest: OK\n"), "{stdout}");

    // The kernel facts it reports are this machine's.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no `{key}` line in:\n{stdout}"))
            .to_string()
    };
    assert!(line("kernel ").ends_with(release.trim()), "{stdout}");
    assert!(line("kernel BTF").contains("yes"), "{stdout}");

    // Exactly the calls it made, all from its own process, and its own context switches.
    let uprobe = line("uprobe");
    assert!(uprobe.contains(": 1000 hits for 1000 calls"), "{uprobe}");
    assert!(uprobe.ends_with(&format!("from pid {pid}")), "{uprobe}");
    assert!(uprobe.contains("matches .symtab"), "{uprobe}");
    assert!(
        line("sched_switch").contains(&format!("pid {pid}:")),
        "{stdout}"
    );

    let programs = line("programs");
    assert!(programs.contains("gs_uprobe_hit (id "), "{programs}");
    assert!(programs.contains("gs_sched_switch (id "), "{programs}");
    let ids = ids_in(&programs);
    assert_eq!(ids.len(), 2, "{programs}");
    assert_unloaded(&ids);
    assert_no_gs_program_held_by_us();
}

/// Root without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN (as in a restricted container): the preflight
/// check must explain what is missing and what to do.
#[test]
#[ignore = "needs root: loads BPF programs (scripts/test.sh runs it as root with --include-ignored)"]
fn selftest_without_capabilities_explains_what_to_do() {
    require_root();
    let out = Command::new("setpriv")
        .args([
            "--bounding-set=-bpf,-perfmon,-sys_admin",
            "--inh-caps=-all",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_goroscope"))
        .arg("selftest")
        .env_remove("GOROSCOPE_LOG")
        .output()
        .expect("running goroscope under setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("CAP_BPF and CAP_PERFMON"), "{stderr}");
    assert!(stderr.contains("sudo"), "{stderr}");
}
