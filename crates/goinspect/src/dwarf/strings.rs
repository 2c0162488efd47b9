//! Reads a Go `[N]string` array from the executable's data, e.g. `runtime.waitReasonStrings`.
//!
//! A Go string header is (data pointer, length), 8 bytes each on amd64 (runtime/string.go
//! `stringStruct`). The array lives in `.data` and points into `.rodata`; in PIE binaries the
//! pointers are R_X86_64_RELATIVE relocations, which `ElfImage::read_ptr` resolves.

use crate::elf::ElfImage;
use crate::error::{Error, Result};

/// Longest string accepted: reason strings are a few dozen bytes; anything huge is damage.
const MAX_LEN: u64 = 4096;

/// Reads `count` strings starting at `addr`. Empty strings may have any pointer (often 0).
pub(super) fn read_string_array(
    elf: &ElfImage,
    what: &'static str,
    addr: u64,
    count: usize,
) -> Result<Vec<String>> {
    let bad = |detail: String| Error::malformed(what, detail);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let header = u64::try_from(i)
            .ok()
            .and_then(|i| i.checked_mul(16))
            .and_then(|o| addr.checked_add(o))
            .ok_or_else(|| bad(format!("element {i} address overflows")))?;
        let len_bytes = header
            .checked_add(8)
            .and_then(|a| elf.bytes_at(a, 8))
            .ok_or_else(|| bad(format!("element {i} at {header:#x} is not in the file")))?;
        let mut raw = [0u8; 8];
        raw.copy_from_slice(len_bytes);
        let len = u64::from_le_bytes(raw);
        if len == 0 {
            out.push(String::new());
            continue;
        }
        if len > MAX_LEN {
            return Err(bad(format!("element {i} claims {len} bytes")));
        }
        let ptr = elf
            .read_ptr(header)
            .ok_or_else(|| bad(format!("element {i} at {header:#x} is not in the file")))?;
        let bytes = elf
            .bytes_at(ptr, len)
            .ok_or_else(|| bad(format!("element {i} points outside the file ({ptr:#x})")))?;
        out.push(String::from_utf8_lossy(bytes).into_owned());
    }
    Ok(out)
}
