//! goinspect reads a Go executable well enough to trace it: its Go version and build settings
//! (`.go.buildinfo`), its functions (`.gopclntab`, which survives stripping), the runtime's struct
//! layouts and constants (DWARF, or per-version tables for stripped binaries), and for every
//! runtime function goroscope probes, where a uprobe can safely go (after the stack-check
//! prologue) and where each RET is (exit probes: never uretprobes).
//!
//! Input is untrusted: every reader bounds-checks and returns typed errors; nothing panics.

pub mod allgs;
pub mod buildinfo;
pub mod disasm;
pub mod dwarf;
pub mod elf;
pub mod error;
pub mod globals;
pub mod gowrap;
pub mod inspect;
pub mod layout;
pub mod model;
pub mod pclntab;
pub mod probes;
pub mod process;
pub mod sampler;
pub mod tables;
pub mod version;

pub use error::{Error, Result};
pub use inspect::{inspect_bytes, inspect_file, inspect_pid, InspectOptions};
pub use model::*;
