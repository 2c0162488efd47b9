//! `cargo xtask <task>`: developer tasks.
//!
//! - `gen-tables`: builds (or reuses) the `inspectee` fixtures of every installed toolchain
//!   (`scripts/build-fixtures.sh`, GOROSCOPE_GO_VERSIONS=all), reads the runtime layout from each
//!   `normal` fixture's DWARF, and writes `crates/goinspect/src/tables/go1.N.json`. Options:
//!   `--no-build` (use the fixtures as they are), `--fixtures DIR` (else $GOROSCOPE_FIXTURES or
//!   target/fixtures). Regenerating from the same toolchains gives byte-identical files.
//! - `dwarf-layout BINARY`: prints the DWARF-derived layout of any Go binary as a table would hold
//!   it, and how long reading the DWARF took (for checking big binaries).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen-tables") => gen_tables(&args[1..]),
        Some("dwarf-layout") if args.len() == 2 => dwarf_layout(Path::new(&args[1])),
        _ => {
            eprintln!(
                "usage: cargo xtask gen-tables [--no-build] [--fixtures DIR]\n       \
                 cargo xtask dwarf-layout BINARY"
            );
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn gen_tables(args: &[String]) -> Result<()> {
    let root = workspace_root();
    let mut build = true;
    let mut fixtures = std::env::var_os("GOROSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/fixtures"));
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--no-build" => build = false,
            "--fixtures" => {
                fixtures = PathBuf::from(it.next().context("--fixtures needs a directory")?)
            }
            other => bail!("gen-tables: unknown argument {other:?}"),
        }
    }
    let versions = all_go_versions(&root)?;
    if build {
        let status = Command::new(root.join("scripts/build-fixtures.sh"))
            .arg("inspectee")
            .env("GOROSCOPE_GO_VERSIONS", "all")
            .env("GOROSCOPE_FIXTURES", &fixtures)
            .status()
            .context("running scripts/build-fixtures.sh")?;
        if !status.success() {
            bail!("scripts/build-fixtures.sh failed ({status})");
        }
    }
    let out_dir = root.join("crates/goinspect/src/tables");
    let mut seen_minors = Vec::new();
    for v in &versions {
        let minor = minor_of(v)?;
        if seen_minors.contains(&minor) {
            bail!("two toolchains for go{minor}: keep one per minor version in go-versions.sh");
        }
        seen_minors.push(minor.clone());
        let bin = fixtures.join(format!("go{v}/inspectee/normal"));
        let data = std::fs::read(&bin).with_context(|| {
            format!(
                "{}: missing fixture; run scripts/build-fixtures.sh",
                bin.display()
            )
        })?;
        let text = goinspect::tables::generate(&data, &format!("go{v}"))
            .with_context(|| format!("layout of {}", bin.display()))?;
        let path = out_dir.join(goinspect::tables::file_name(&minor));
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old == text {
            println!("gen-tables: {} unchanged (go{v})", path.display());
        } else {
            std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            println!("gen-tables: wrote {} (go{v})", path.display());
        }
    }
    let listed: Vec<&str> = goinspect::tables::EMBEDDED
        .iter()
        .map(|(m, _)| *m)
        .collect();
    for minor in &seen_minors {
        if !listed.contains(&minor.as_str()) {
            println!(
                "gen-tables: add (\"{minor}\", include_str!(\"tables/go{minor}.json\")) to \
                 EMBEDDED in crates/goinspect/src/tables.rs"
            );
        }
    }
    Ok(())
}

fn dwarf_layout(binary: &Path) -> Result<()> {
    let data = std::fs::read(binary).with_context(|| binary.display().to_string())?;
    let elf = goinspect::elf::ElfImage::parse(&data)?;
    let started = std::time::Instant::now();
    let facts = goinspect::dwarf::read(&elf)?.context("the binary has no DWARF")?;
    let elapsed = started.elapsed();
    print!(
        "{}",
        goinspect::tables::render("(this binary)", &facts.layout)?
    );
    let inlined: u32 = facts.inlined_counts.values().sum();
    eprintln!(
        "dwarf-layout: read in {elapsed:.2?}; {} inlined functions, {inlined} inlined copies; \
         runtime.sched at {:?}",
        facts.inlined_counts.len(),
        facts.sched_address.map(|a| format!("{a:#x}"))
    );
    Ok(())
}

/// Every toolchain goroscope is tested against, from scripts/go-versions.sh.
fn all_go_versions(root: &Path) -> Result<Vec<String>> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(". scripts/go-versions.sh && goroscope_selected_go_versions")
        .current_dir(root)
        .env("GOROSCOPE_GO_VERSIONS", "all")
        .output()
        .context("reading scripts/go-versions.sh")?;
    if !out.status.success() {
        bail!(
            "scripts/go-versions.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let versions: Vec<String> = String::from_utf8(out.stdout)?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if versions.is_empty() {
        bail!("scripts/go-versions.sh lists no Go versions");
    }
    Ok(versions)
}

/// "1.27.3" → "1.27".
fn minor_of(version: &str) -> Result<String> {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) => Ok(format!("{major}.{minor}")),
        _ => bail!("unexpected Go version {version:?} in go-versions.sh"),
    }
}
