//! Everything one harness run measured, as kept for the tables and written by --json.

use serde::Serialize;

use crate::sample::{Sample, TracerSample};
use crate::summary::{self, VariantSummary};
use crate::workload::{Kind, RecordCapabilities, Variant, Workload};

#[derive(Debug, Serialize)]
pub struct Report {
    pub environment: Environment,
    pub workloads: Vec<WorkloadRuns>,
    pub big_attach: Option<BigAttach>,
}

/// Where and how the figures were taken.
#[derive(Debug, Serialize)]
pub struct Environment {
    pub kernel: String,
    pub cpus: usize,
    pub go: String,
    pub goroscope: String,
    pub record_capabilities: RecordCapabilities,
    /// Whether a profile pass ran with kernel.bpf_stats_enabled=1 (the measured rounds always
    /// run with it off).
    pub bpf_stats_profile_pass: bool,
    pub rounds: u32,
    pub measured_seconds_per_run: f64,
    pub tracer_cpu_method: &'static str,
    pub tracer_rss_method: &'static str,
}

#[derive(Debug, Serialize)]
pub struct WorkloadRuns {
    pub name: &'static str,
    pub unit: &'static str,
    #[serde(skip)]
    pub kind: Kind,
    pub variants: Vec<VariantRuns>,
}

#[derive(Debug, Serialize)]
pub struct VariantRuns {
    pub label: String,
    #[serde(skip)]
    pub variant: Variant,
    /// runtime/trace cannot be switched on in a program we do not build (gobuild).
    pub not_applicable: bool,
    pub samples: Vec<Sample>,
    /// The profile pass's run (BPF statistics on): its BPF figures only, not in the ratios.
    pub profile: Vec<Sample>,
    pub failures: Vec<String>,
    pub summary: Option<VariantSummary>,
}

impl WorkloadRuns {
    pub fn new(workload: &Workload, variants: &[Variant]) -> WorkloadRuns {
        WorkloadRuns {
            name: workload.name,
            unit: workload.unit,
            kind: workload.kind,
            variants: variants
                .iter()
                .map(|v| VariantRuns {
                    label: v.label(),
                    variant: v.clone(),
                    not_applicable: workload.kind == Kind::GoBuild && *v == Variant::GoTrace,
                    samples: Vec::new(),
                    profile: Vec::new(),
                    failures: Vec::new(),
                    summary: None,
                })
                .collect(),
        }
    }

    /// Fills in each variant's summary, ratios against the untraced median.
    pub fn summarize(&mut self) {
        let untraced = self
            .variants
            .iter()
            .find(|v| v.variant == Variant::Untraced)
            .and_then(|v| summary::summarize(&v.samples, &[], None))
            .map(|s| s.ns_per_op.median);
        for v in &mut self.variants {
            v.summary = summary::summarize(&v.samples, &v.profile, untraced);
        }
    }
}

/// Attach time on a large stripped binary: `goroscope record -d 1s -- BIG --version`.
#[derive(Debug, Serialize)]
pub struct BigAttach {
    pub binary: String,
    pub size_bytes: u64,
    pub args: Vec<String>,
    /// The program alone: wall ms per run.
    pub untraced_wall_ms: Vec<f64>,
    pub variants: Vec<BigAttachVariant>,
}

#[derive(Debug, Serialize)]
pub struct BigAttachVariant {
    pub label: String,
    pub wall_ms: Vec<f64>,
    pub tracer: Vec<TracerSample>,
    pub failures: Vec<String>,
}
