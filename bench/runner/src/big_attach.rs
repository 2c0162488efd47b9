//! Attach time on a large stripped Go binary (Debian's prometheus, ~47 MiB): runs
//! `BIG --version` alone and under `goroscope record -d 1s` at each level, interleaved, and
//! keeps the wall time, goroscope's attach_ms (--stats-json), the time to its "recording" line,
//! and its own CPU and peak RSS. The program runs only a moment: what is left is goroscope's
//! fixed cost of inspecting the binary and attaching.

use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::launch::{self, Spec};
use crate::results::{BigAttach, BigAttachVariant};
use crate::sample::{self, Setup, READY_MARKER};
use crate::workload::{self, Variant};

const ARGS: [&str; 1] = ["--version"];
const TIMEOUT: Duration = Duration::from_secs(120);

pub fn measure(
    setup: &Setup,
    binary: &Path,
    variants: &[Variant],
    runs: u32,
    interrupted: &'static AtomicBool,
) -> Result<BigAttach> {
    let size_bytes = std::fs::metadata(binary)
        .with_context(|| format!("reading {}", binary.display()))?
        .len();
    let program: Vec<OsString> = std::iter::once(binary.as_os_str().to_owned())
        .chain(ARGS.iter().map(OsString::from))
        .collect();
    let goroscope: Vec<&Variant> = variants.iter().filter(|v| v.is_goroscope()).collect();
    let mut result = BigAttach {
        binary: binary.display().to_string(),
        size_bytes,
        args: ARGS.iter().map(|s| s.to_string()).collect(),
        untraced_wall_ms: Vec::new(),
        variants: goroscope
            .iter()
            .map(|v| BigAttachVariant {
                label: v.label(),
                wall_ms: Vec::new(),
                tracer: Vec::new(),
                failures: Vec::new(),
            })
            .collect(),
    };
    let recording = setup.scratch.join("big.rec");
    let stats_file = setup.scratch.join("big-stats.json");
    for run in 1..=runs {
        if interrupted.load(Ordering::Relaxed) {
            break;
        }
        let alone = launch::run(&spec(program.clone(), false), interrupted)?;
        if sample::check_exit(&alone).is_ok() {
            result.untraced_wall_ms.push(sample::ms(alone.wall));
        }
        for (v, out) in goroscope.iter().zip(&mut result.variants) {
            let Variant::Goroscope { level } = v else {
                continue;
            };
            let _ = std::fs::remove_file(&recording);
            let _ = std::fs::remove_file(&stats_file);
            let argv = workload::goroscope_command(
                &setup.paths,
                &setup.caps,
                level.as_deref(),
                &recording,
                &stats_file,
                Some(Duration::from_secs(1)),
                program.clone(),
            );
            let finished = launch::run(&spec(argv, true), interrupted)?;
            match sample::check_exit(&finished) {
                Ok(()) => {
                    out.wall_ms.push(sample::ms(finished.wall));
                    let stats = setup.caps.stats_json.then_some(stats_file.as_path());
                    out.tracer
                        .push(sample::tracer_sample(&finished, None, &recording, stats));
                }
                Err(e) => out.failures.push(format!("{e:#}")),
            }
            eprintln!(
                "[{run}/{runs}] big-attach {:<18} {}",
                out.label,
                out.tracer
                    .last()
                    .and_then(|t| t.attach_ms.or(t.ready_ms))
                    .map_or("failed".to_string(), |ms| format!("{ms:.0} ms"))
            );
        }
    }
    let _ = std::fs::remove_file(&recording);
    let _ = std::fs::remove_file(&stats_file);
    Ok(result)
}

fn spec(argv: Vec<OsString>, traced: bool) -> Spec {
    Spec {
        argv,
        env: Vec::new(),
        cwd: None,
        probe_exit: traced,
        timeout: TIMEOUT,
        ready_marker: traced.then_some(READY_MARKER),
    }
}
