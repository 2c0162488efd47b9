//! What `goroscope inspect` reports, as plain serializable data. This is also the "probe plan"
//! that the tracer consumes. The JSON form (`goroscope inspect --json`) is these structs as serde
//! writes them; field names are part of goroscope's documented output.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inspection {
    /// The executable that was read (for `--pid`, `/proc/PID/exe`'s target).
    pub path: String,
    pub pid: Option<u32>,
    pub build: BuildInfo,
    pub binary: BinaryFacts,
    /// Every runtime function goroscope may probe, found or not, in the order of `probes::TARGETS`.
    pub functions: Vec<FunctionInfo>,
    pub layout: RuntimeLayout,
    /// Load bias of the running process's executable mapping (0 for non-PIE), with `--pid`.
    pub load_bias: Option<u64>,
    /// Things that are odd but not fatal (e.g. symtab and pclntab disagree).
    pub warnings: Vec<String>,
    /// Where the runtime's own 1-in-8 scheduling sampler is probed (the tracked
    /// runnable→running path of `runtime.casgstatus`, `sampler.rs`); None (with a warning) when
    /// the shape was not recognised. Absent from older JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampler: Option<crate::sampler::SamplerPlacement>,
}

/// From `.go.buildinfo` (present in stripped binaries).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BuildInfo {
    /// As the toolchain wrote it, e.g. "go1.27.3".
    pub go_version: String,
    /// Main package path, e.g. "example.com/cmd/server".
    pub path: Option<String>,
    pub main_module: Option<Module>,
    pub deps: Vec<Module>,
    /// `build` lines of the module info: "-ldflags", "CGO_ENABLED", "GOARCH", ..., in the
    /// binary's order. JSON: an object {"CGO_ENABLED": "0", ...}.
    #[serde(with = "settings_as_object")]
    pub settings: Vec<(String, String)>,
}

/// Build settings are unique keys in a meaningful order: a JSON object reads better than pairs.
mod settings_as_object {
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(v.len()))?;
        for (k, val) in v {
            map.serialize_entry(k, val)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        let map = serde_json::Map::deserialize(d)?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub sum: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BinaryFacts {
    pub pie: bool,
    pub has_dwarf: bool,
    pub has_symtab: bool,
    /// Built with cgo (CGO_ENABLED=1 setting and the binary calls into C).
    pub cgo: bool,
    /// Linked by the external (system) linker rather than Go's own.
    pub external_linker: bool,
    pub go_build_id: Option<String>,
    pub gnu_build_id: Option<String>,
    /// `.gopclntab` format: "1.18" (Go 1.18–1.19) or "1.20" (Go 1.20+).
    pub pclntab_format: String,
    pub pclntab_functions: usize,
    /// Start of Go text (before load bias): the pclntab header's textStart, or moduledata.text
    /// where the header holds 0 (Go 1.26+, and externally linked binaries).
    pub text_start: u64,
}

/// A runtime function goroscope may probe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FunctionInfo {
    /// Name without the "runtime." prefix for runtime functions, as listed in `probes::TARGETS`.
    pub name: String,
    /// Full symbol name as in pclntab, e.g. "runtime.casgstatus".
    pub symbol: String,
    pub found: bool,
    /// Virtual address of the entry (from pclntab), before load bias.
    pub entry: u64,
    /// One past the last byte.
    pub end: u64,
    /// File offset of the entry: what a uprobe attaches by.
    pub file_offset: u64,
    /// Bytes from entry to the first instruction after the stack-check prologue (0 if none).
    pub safe_probe_offset: u64,
    /// That instruction, in Intel syntax (e.g. "push rbp").
    pub safe_probe_instruction: String,
    /// Whether the kernel emulates that instruction rather than single-stepping it (cheaper).
    pub safe_probe_emulated: bool,
    /// Whether a stack-check prologue was recognised.
    pub has_stack_check: bool,
    /// Offsets from entry of every RET instruction.
    pub ret_offsets: Vec<u64>,
    /// Direct calls this function makes to other functions goroscope probes (a probe on such a
    /// CALL, which the kernel emulates, sees the callee's arguments in their registers).
    #[serde(default)]
    pub call_sites: Vec<CallSite>,
    /// Inlined copies elsewhere in the binary (calls a probe on the symbol would miss).
    pub inlined_copies: u32,
    /// Where the inline count came from: "dwarf", "pclntab" (inline trees), or "none".
    pub inlined_source: String,
    /// `.symtab` address when present, as a cross-check.
    pub symtab_entry: Option<u64>,
}

/// A direct CALL instruction inside a function.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CallSite {
    /// Offset of the CALL from the caller's entry.
    pub offset: u64,
    /// The called function's pclntab name.
    pub callee: String,
}

/// Offsets and constants of the runtime's data structures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RuntimeLayout {
    /// "dwarf", or "table:go1.N" for the per-version table, or
    /// "table:go1.N (nearest to go1.X, forced)" with `--force-nearest-layout`.
    pub source: String,
    /// "runtime.g" → size and fields (only those goroscope needs).
    pub structs: BTreeMap<String, StructLayout>,
    pub constants: Constants,
    /// Address of the `runtime.sched` global (before load bias), from DWARF or `.symtab`;
    /// None in stripped binaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sched_address: Option<u64>,
    /// Address of the `runtime.gomaxprocs` global (an int32; before load bias), from `.symtab`
    /// or, in stripped binaries, from the code of `runtime.stopTheWorldWithSema`
    /// (`globals.rs`). Always written (null when not found); absent in older JSON.
    #[serde(default)]
    pub gomaxprocs_address: Option<u64>,
    /// Address of `runtime.memstats` (a `runtime.mstats`; before load bias), from symbols or, in
    /// stripped binaries, from the code of `runtime.gcMarkTermination` (`globals.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memstats_address: Option<u64>,
    /// Address of `runtime.allm` (the head of the list of every M; before load bias), from
    /// symbols only: None in stripped binaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allm_address: Option<u64>,
    /// Address of `runtime.allgs` (a `[]*g`: pointer, length, capacity; before load bias), from
    /// DWARF or `.symtab` or, in stripped binaries, the code of `runtime.allgadd` (`allgs.rs`).
    /// Absent from the JSON when unknown (and in older JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allgs_address: Option<u64>,
    /// Address of `runtime.allglen` (a uintptr: `len(allgs)`, stored atomically), found like
    /// `allgs_address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allglen_address: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StructLayout {
    pub size: u64,
    /// Field name → byte offset. Missing fields are absent (e.g. g.parentGoid before Go 1.21).
    pub fields: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Constants {
    /// "_Grunning" → 2, ...
    pub g_status: BTreeMap<String, u64>,
    /// "_Pidle" → 0, ...
    pub p_status: BTreeMap<String, u64>,
    /// Indexed by value; name is the Go constant without "waitReason", string is what Go prints.
    pub wait_reasons: Vec<NamedValue>,
    /// stwReason values (Go 1.21+; empty for 1.19).
    pub stw_reasons: Vec<NamedValue>,
    /// The constants that shape a `timeHistogram` ("timeHistSubBucketBits" → 2, ...): which
    /// exist depends on the version (1.19: `timeHistNumSuperBuckets`; 1.20+:
    /// `timeHistMinBucketBits`/`timeHistMaxBucketBits`). Empty in older JSON.
    #[serde(default)]
    pub time_histogram: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NamedValue {
    pub value: u64,
    pub name: String,
    pub string: String,
}
