//! `goroscope inspect`: prints the probe plan for a Go executable, as text or JSON.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::Context as _;
use goinspect::{InspectOptions, Inspection};

use crate::cli::InspectArgs;

pub fn run(args: &InspectArgs) -> anyhow::Result<()> {
    let opts = InspectOptions {
        force_nearest_layout: args.force_nearest_layout,
    };
    let inspection = match (args.pid, &args.binary) {
        (Some(pid), _) => goinspect::inspect_pid(pid, &opts)?,
        (None, Some(path)) => {
            goinspect::inspect_file(path, &opts).map_err(|e| file_error(path, e))?
        }
        (None, None) => anyhow::bail!("give a Go executable's path or --pid PID"),
    };
    let out = if args.json {
        let mut s =
            serde_json::to_string_pretty(&inspection).context("serializing the inspection")?;
        s.push('\n');
        s
    } else {
        render_text(&inspection)
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// `e` about the executable at `path`, naming it once: an I/O error already does (as a plain
/// message, or its OS error would be printed twice as the cause), every other one gets it.
fn file_error(path: &std::path::Path, e: goinspect::Error) -> anyhow::Error {
    match e {
        goinspect::Error::Io { .. } | goinspect::Error::IsDirectory(_) => anyhow::anyhow!("{e}"),
        other => anyhow::anyhow!("{}: {other}", path.display()),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The human form: the facts that decide whether and how goroscope can trace, then tables.
pub fn render_text(i: &Inspection) -> String {
    let mut s = String::new();
    let b = &i.binary;
    let _ = writeln!(s, "{}", i.path);
    if let Some(pid) = i.pid {
        let _ = writeln!(
            s,
            "  process          {pid} (load bias {:#x})",
            i.load_bias.unwrap_or(0)
        );
    }
    let _ = writeln!(s, "  Go version       {}", i.build.go_version);
    if let Some(p) = &i.build.path {
        let _ = writeln!(s, "  main package     {p}");
    }
    if let Some(m) = &i.build.main_module {
        let _ = writeln!(s, "  main module      {} {}", m.path, m.version);
    }
    let _ = writeln!(
        s,
        "  PIE {}   DWARF {}   symbol table {}   cgo {}   external linker {}",
        yes_no(b.pie),
        yes_no(b.has_dwarf),
        yes_no(b.has_symtab),
        yes_no(b.cgo),
        yes_no(b.external_linker)
    );
    let _ = writeln!(
        s,
        "  pclntab          format {}, {} functions, text at {:#x}",
        b.pclntab_format, b.pclntab_functions, b.text_start
    );
    if let Some(id) = &b.go_build_id {
        let _ = writeln!(s, "  Go build ID      {id}");
    }
    let _ = writeln!(s, "  runtime layout   from {}", i.layout.source);
    if !i.build.settings.is_empty() {
        let _ = writeln!(s, "\nBuild settings");
        for (k, v) in &i.build.settings {
            // DefaultGODEBUG runs to hundreds of characters; --json has it whole.
            let _ = writeln!(s, "  {k:<16} {}", truncate(v, 72));
        }
    }

    let found = i.functions.iter().filter(|f| f.found).count();
    let _ = writeln!(
        s,
        "\nProbed runtime functions ({found} of {} present)",
        i.functions.len()
    );
    let _ = writeln!(
        s,
        "  {:<24} {:>10} {:>10} {:>5} {:<20} {:>4} {:>7}",
        "function", "entry", "file off", "safe", "safe instruction", "rets", "inlined"
    );
    for f in i.functions.iter().filter(|f| f.found) {
        let safe = if f.has_stack_check {
            format!("+{}", f.safe_probe_offset)
        } else {
            "+0".to_string()
        };
        let insn = if f.safe_probe_emulated {
            f.safe_probe_instruction.clone()
        } else {
            format!("{} (1-step)", f.safe_probe_instruction)
        };
        let _ = writeln!(
            s,
            "  {:<24} {:>#10x} {:>#10x} {:>5} {:<20} {:>4} {:>7}",
            f.name,
            f.entry,
            f.file_offset,
            safe,
            truncate(&insn, 20),
            f.ret_offsets.len(),
            f.inlined_copies
        );
    }
    let missing: Vec<&str> = i
        .functions
        .iter()
        .filter(|f| !f.found)
        .map(|f| f.name.as_str())
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(s, "  not in this binary: {}", missing.join(", "));
    }

    match &i.sampler {
        Some(p) => {
            let _ = writeln!(
                s,
                "\nThe runtime's scheduling sampler (tracked runnable→running, 1 in 8)\n  \
                 casgstatus+{} (file off {:#x}): {} [{:?}]; gp in {}, latency in {}; \
                 g.tracking at {:#x}, g.runnableTime at {:#x}",
                p.offset,
                p.file_offset,
                p.instruction,
                p.shape,
                p.gp_register,
                p.latency_register,
                p.g_tracking,
                p.g_runnable_time
            );
        }
        None => {
            let _ = writeln!(
                s,
                "\nThe runtime's scheduling sampler: not found (see the warnings)"
            );
        }
    }

    let _ = writeln!(s, "\nStruct offsets ({})", i.layout.source);
    for (name, st) in &i.layout.structs {
        let fields: Vec<String> = st
            .fields
            .iter()
            .map(|(f, off)| format!("{f}={off}"))
            .collect();
        let _ = writeln!(s, "  {name:<15} size {:<6} {}", st.size, fields.join(" "));
    }
    let c = &i.layout.constants;
    let _ = writeln!(
        s,
        "\nConstants: {} G statuses, {} P statuses, {} wait reasons, {} STW reasons",
        c.g_status.len(),
        c.p_status.len(),
        c.wait_reasons.len(),
        c.stw_reasons.len()
    );
    if !i.warnings.is_empty() {
        let _ = writeln!(s, "\nWarnings");
        for w in &i.warnings {
            let _ = writeln!(s, "  - {w}");
        }
    }
    s
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}
