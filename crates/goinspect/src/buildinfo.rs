//! `.go.buildinfo`: the Go version and module/build settings, which survive `-ldflags=-s -w`.
//! Format (Go 1.18+, flag bit 2 = inline strings): 16-byte header "\xff Go buildinf:" + ptrsize +
//! flags, then at offset 32 two varint-length-prefixed strings: version, then modinfo (wrapped in
//! 16-byte sentinels). Older pointer-based headers are read through `ElfImage::read_ptr`.

use crate::elf::ElfImage;
use crate::error::{Error, Result};
use crate::model::BuildInfo;

/// Reads `.go.buildinfo` (found by section name, else by scanning writable data for the magic).
/// No buildinfo at all → `Error::NotGo`.
pub fn read(_elf: &ElfImage) -> Result<BuildInfo> {
    Err(Error::NotGo("buildinfo reader not implemented yet".into()))
}
