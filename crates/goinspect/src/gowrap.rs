//! The function a `go` statement really starts. Since Go 1.21 the compiler turns `go f(x)` into
//! `go <caller>.gowrapN()`, a closure that calls `f(x)` (cmd/compile/internal/escape, "wrapGoDefer"),
//! so a goroutine's `startpc` names the wrapper. Its body is that one call: when `f` is inlined
//! into it, the wrapper's inline tree names `f` (the outermost inlined call); otherwise its code
//! is a short prologue, argument loads from the closure context and one direct CALL of `f` (plus
//! the runtime's `morestack` at the end), so the first direct call to a function outside the
//! runtime is `f`. A wrapper that calls through a function value or an interface names neither:
//! it keeps its own name.

use crate::disasm;
use crate::elf::ElfImage;
use crate::pclntab::{Func, Pclntab};

/// Whether `name` is a `go` statement wrapper: `….gowrapN` (N digits), possibly a closure's
/// (`main.main.func1.gowrap2`).
pub fn is_go_wrapper(name: &str) -> bool {
    name.rsplit_once(".gowrap")
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The function a `go` statement wrapper calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    pub name: String,
    /// A pc of its body: its entry, or where the wrapper's inlined copy of it starts (the
    /// linker drops a function only ever inlined).
    pub pc: u64,
}

/// The function a wrapper calls, or None for a function that is not a wrapper or whose call is
/// indirect. `func` is the wrapper's pclntab entry.
pub fn wrapped_function(elf: &ElfImage, pcln: &Pclntab, func: &Func) -> Option<Wrapped> {
    if !is_go_wrapper(&func.name) {
        return None;
    }
    if let Some((name, inlined_pc)) = pcln.first_inlined_call(func.entry) {
        let pc = pcln.find_func(&name).map_or(inlined_pc, |f| f.entry);
        return Some(Wrapped { name, pc });
    }
    let code = elf.bytes_at(func.entry, func.end.checked_sub(func.entry)?)?;
    disasm::analyze(code, func.entry)
        .calls
        .iter()
        .filter_map(|&(_, target)| pcln.func_at(target))
        .find(|callee| callee.entry != func.entry && !callee.name.starts_with("runtime."))
        .map(|callee| Wrapped {
            name: callee.name,
            pc: callee.entry,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_wrapper_names() {
        assert!(is_go_wrapper("main.main.gowrap1"));
        assert!(is_go_wrapper("main.(*S).run.func2.gowrap12"));
        assert!(!is_go_wrapper("main.gowrapper"));
        assert!(!is_go_wrapper("main.main.gowrap"));
        assert!(!is_go_wrapper("main.worker"));
    }
}
