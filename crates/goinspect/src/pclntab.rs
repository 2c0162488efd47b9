//! Our own reader of Go's `.gopclntab` (function table, names, pc→file/line, inline trees) for the
//! Go 1.18 format (magic 0xfffffff0, Go 1.18–1.19) and the Go 1.20 format (0xfffffff1, Go 1.20+).
//! Sources: Go's runtime/symtab.go, cmd/link/internal/ld/pcln.go, debug/gosym/pclntab.go.

use crate::elf::ElfImage;
use crate::error::{Error, Result};

/// A function as pclntab records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Func {
    pub name: String,
    /// Virtual address (before load bias).
    pub entry: u64,
    /// One past the last byte (the next function's entry, or the end of text).
    pub end: u64,
}

/// A parsed pclntab. Holds borrowed bytes of the image.
pub struct Pclntab<'data> {
    _elf: std::marker::PhantomData<&'data ()>,
}

impl<'data> Pclntab<'data> {
    /// Finds and parses the pclntab (section `.gopclntab`, or `.data.rel.ro.gopclntab`, or by
    /// magic scan). No pclntab → `Error::NotGo`; a damaged one → `Error::Malformed`.
    pub fn parse(_elf: &ElfImage<'data>) -> Result<Self> {
        Err(Error::NotGo("pclntab reader not implemented yet".into()))
    }

    /// "1.18" or "1.20".
    pub fn format(&self) -> &'static str {
        "unknown"
    }

    /// The pclntab header's textStart (before load bias).
    pub fn text_start(&self) -> u64 {
        0
    }

    pub fn funcs(&self) -> Vec<Func> {
        Vec::new()
    }

    /// Exact-name lookup, e.g. "runtime.casgstatus".
    pub fn find_func(&self, _name: &str) -> Option<Func> {
        None
    }

    /// The function containing `pc`.
    pub fn func_at(&self, _pc: u64) -> Option<Func> {
        None
    }

    /// Source file and line of `pc` (for a goroutine's creation site, a `go` statement's PC).
    pub fn line_at(&self, _pc: u64) -> Option<(String, u32)> {
        None
    }

    /// For every function name that appears as an inlined call in some function's inline tree,
    /// how many inlined copies exist (distinct (outer function, inline-tree entry) pairs).
    /// None when the inline trees cannot be located (e.g. moduledata not found).
    pub fn inlined_call_counts(&self) -> Option<std::collections::HashMap<String, u32>> {
        None
    }
}
