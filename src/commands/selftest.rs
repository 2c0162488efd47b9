//! `goroscope selftest`: proves that this machine can run goroscope's BPF programs. It loads the
//! self-test program, puts a uprobe on a marker function of goroscope's own executable, calls it
//! a known number of times and checks the count, then counts its own context switches through
//! `tp_btf/sched_switch`. Prints a short report; any failure is an error (exit status 1).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _, Result};
use goinspect::elf::ElfImage;
use goroscope_bpf::{ObjectStorage, Selftest, SystemFacts};

/// How many times the marker is called under the uprobe.
const MARKER_CALLS: u64 = 1000;
/// The marker's symbol name, for the cross-check against `.symtab`.
const MARKER_SYMBOL: &str = "goroscope_selftest_marker";

/// The uprobe target. `no_mangle` keeps it findable by name in `.symtab`; `inline(never)` and
/// the opaque body make sure every call really executes its first instruction.
#[no_mangle]
#[inline(never)]
pub extern "C" fn goroscope_selftest_marker(value: u64) -> u64 {
    std::hint::black_box(value).wrapping_add(1)
}

pub fn run() -> Result<()> {
    let pid = std::process::id();
    let exe = std::fs::read_link("/proc/self/exe").context("reading /proc/self/exe")?;
    let marker = locate_marker(&exe)?;

    let mut storage = ObjectStorage::new();
    let mut probe = Selftest::load(&mut storage, pid)?;
    let programs = probe.program_ids()?;

    probe.attach_uprobe(&exe, marker.file_offset, Some(pid))?;
    // Called through an opaque pointer so the compiler cannot fold or elide the calls.
    let marker_fn: extern "C" fn(u64) -> u64 = std::hint::black_box(goroscope_selftest_marker);
    for i in 0..MARKER_CALLS {
        std::hint::black_box(marker_fn(std::hint::black_box(i)));
    }
    let after_calls = probe.counts()?;
    ensure!(
        after_calls.uprobe_hits == MARKER_CALLS,
        "the uprobe on {MARKER_SYMBOL} (file offset {:#x} of {}) counted {} hits for {MARKER_CALLS} \
         calls",
        marker.file_offset,
        exe.display(),
        after_calls.uprobe_hits
    );
    ensure!(
        after_calls.last_uprobe_tgid == pid,
        "the uprobe recorded process {} as the caller, but this process is {pid}",
        after_calls.last_uprobe_tgid
    );

    probe.attach_sched_switch()?;
    // Each sleep switches this thread out and, to return, back in.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(2));
    }
    let counts = probe.counts()?;
    ensure!(
        counts.switched_out > 0 && counts.switched_in > 0,
        "sched_switch counted {} switches out and {} in of this process (pid {pid}) while it \
         slept: expected both > 0",
        counts.switched_out,
        counts.switched_in
    );

    let report = render_report(
        probe.system_facts(),
        &programs,
        &exe,
        &marker,
        after_calls.uprobe_hits,
        &counts,
    );
    drop(probe); // detaches and unloads before we claim success
    print!("{report}");
    Ok(())
}

/// Where the marker function lives in the executable file.
struct MarkerLocation {
    file_offset: u64,
    /// How the offset was confirmed, for the report.
    cross_check: &'static str,
}

/// Finds the marker's file offset from its run-time address and this process's mappings (works
/// even when the binary is stripped), then cross-checks it with `.symtab` when there is one.
fn locate_marker(exe: &Path) -> Result<MarkerLocation> {
    let address = goroscope_selftest_marker as *const () as usize as u64;
    let maps = std::fs::read_to_string("/proc/self/maps").context("reading /proc/self/maps")?;
    let file_offset = file_offset_of(&maps, address).with_context(|| {
        format!("the marker function's address {address:#x} is in no file mapping")
    })?;

    let data = std::fs::read(exe).with_context(|| format!("reading {}", exe.display()))?;
    let elf = ElfImage::parse(&data).with_context(|| format!("parsing {}", exe.display()))?;
    let cross_check = match elf.symbol_address(MARKER_SYMBOL) {
        None => "no .symtab to cross-check",
        Some(vaddr) => {
            let from_symtab = elf.vaddr_to_file_offset(vaddr).with_context(|| {
                format!("{MARKER_SYMBOL} at {vaddr:#x} is outside the file's segments")
            })?;
            if from_symtab != file_offset {
                bail!(
                    "{MARKER_SYMBOL}: /proc/self/maps gives file offset {file_offset:#x}, .symtab \
                     gives {from_symtab:#x}"
                );
            }
            "matches .symtab"
        }
    };
    Ok(MarkerLocation {
        file_offset,
        cross_check,
    })
}

/// File offset of `address` from /proc/<pid>/maps text
/// (`start-end perms offset dev inode path`).
fn file_offset_of(maps: &str, address: u64) -> Option<u64> {
    maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let start = u64::from_str_radix(start, 16).ok()?;
        let end = u64::from_str_radix(end, 16).ok()?;
        let offset = u64::from_str_radix(fields.nth(1)?, 16).ok()?;
        if (start..end).contains(&address) {
            offset.checked_add(address - start)
        } else {
            None
        }
    })
}

fn render_report(
    facts: &SystemFacts,
    programs: &[(String, u32)],
    exe: &Path,
    marker: &MarkerLocation,
    hits: u64,
    counts: &goroscope_bpf::SelftestCounts,
) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let programs = programs
        .iter()
        .map(|(name, id)| format!("{name} (id {id})"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = String::new();
    let _ = writeln!(out, "goroscope selftest: OK");
    let _ = writeln!(out, "  kernel        {}", facts.kernel_release);
    let _ = writeln!(
        out,
        "  kernel BTF    {} ({})",
        yes_no(facts.kernel_btf),
        goroscope_bpf::preflight::KERNEL_BTF
    );
    let _ = writeln!(
        out,
        "  privileges    uid {}, CAP_SYS_ADMIN {}, CAP_BPF {}, CAP_PERFMON {}",
        facts.effective_uid,
        yes_no(facts.cap_sys_admin),
        yes_no(facts.cap_bpf),
        yes_no(facts.cap_perfmon)
    );
    let _ = writeln!(out, "  programs      {programs}");
    let _ = writeln!(
        out,
        "  uprobe        {}+{:#x} ({MARKER_SYMBOL}, {}): {hits} hits for {MARKER_CALLS} calls, \
         from pid {}",
        exe.display(),
        marker.file_offset,
        marker.cross_check,
        counts.last_uprobe_tgid
    );
    let _ = writeln!(
        out,
        "  sched_switch  pid {}: switched out {} times, in {} times",
        std::process::id(),
        counts.switched_out,
        counts.switched_in
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
5555a000-5555b000 r--p 00000000 08:01 42 /usr/bin/goroscope
5555b000-5555f000 r-xp 00001000 08:01 42 /usr/bin/goroscope
7fff0000-7fff1000 rw-p 00000000 00:00 0 [stack]
";

    #[test]
    fn maps_address_to_file_offset() {
        assert_eq!(file_offset_of(MAPS, 0x5555b010), Some(0x1010));
        assert_eq!(file_offset_of(MAPS, 0x5555a000), Some(0));
        assert_eq!(file_offset_of(MAPS, 0x5555f000), None);
    }
}
