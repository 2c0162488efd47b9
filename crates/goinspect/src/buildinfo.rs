//! `.go.buildinfo`: the Go version and module/build settings, which survive `-ldflags=-s -w`.
//!
//! Format (sources: Go's debug/buildinfo/buildinfo.go, runtime/debug/mod.go, cmd/go's
//! modload/build.go): a 32-byte header, 16-byte aligned: the 14-byte magic "\xff Go buildinf:",
//! ptrsize, flags. Flag bit 1 = big-endian, bit 2 = inline strings (Go 1.18+): then at offset 32
//! come two varint-length-prefixed strings, the version and the modinfo. Without bit 2 (Go
//! 1.13–1.17), offsets 16 and 16+ptrsize hold pointers to Go string headers {ptr, len}, read
//! through `ElfImage::read_ptr` so PIE relocations are honoured. The modinfo is wrapped in 16-byte
//! sentinels; inside are tab-separated lines `path`, `mod`, `dep`, `=>` (replacement of the line
//! before) and `build KEY=VALUE` (key and value strconv-quoted when they contain blanks/quotes).

use crate::elf::ElfImage;
use crate::error::{Error, Result};
use crate::model::{BuildInfo, Module};

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const ALIGN: u64 = 16;
/// Flag bit: strings follow the header (Go 1.18+) instead of being pointed to.
const FLAG_INLINE: u8 = 0x2;
const FLAG_BIG_ENDIAN: u8 = 0x1;
/// Sane bound for a version or modinfo string (real ones are a few KiB).
const MAX_STRING: u64 = 16 << 20;

const NO_BUILDINFO: &str =
    "no .go.buildinfo section: not built by the Go toolchain (or built before Go 1.13)";

/// The module information as Go records it, including `=>` replacements that `BuildInfo` has no
/// field for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModInfo {
    pub path: Option<String>,
    pub main: Option<Module>,
    /// Each dependency with its replacement, if any.
    pub deps: Vec<(Module, Option<Module>)>,
    pub settings: Vec<(String, String)>,
}

/// Reads `.go.buildinfo` (found by section name, else by scanning writable data for the magic).
/// No buildinfo at all → `Error::NotGo`.
pub fn read(elf: &ElfImage) -> Result<BuildInfo> {
    let (version, modinfo) = read_raw(elf)?;
    let info = parse_modinfo(&modinfo)?;
    Ok(BuildInfo {
        go_version: version,
        path: info.path,
        main_module: info.main,
        // `Module` has no field for `=>` replacements: deps are listed as required, like
        // debug.BuildInfo.Deps; `parse_modinfo` keeps the replacements.
        deps: info.deps.into_iter().map(|(dep, _)| dep).collect(),
        settings: info.settings,
    })
}

/// The raw version string and the modinfo text (sentinels removed; empty when absent).
pub fn read_raw(elf: &ElfImage) -> Result<(String, String)> {
    let (vaddr, bytes) = locate(elf).ok_or_else(|| Error::NotGo(NO_BUILDINFO.into()))?;
    let header = bytes
        .get(..HEADER_SIZE)
        .ok_or_else(|| Error::malformed(".go.buildinfo", "shorter than its 32-byte header"))?;
    let ptr_size = header[14];
    let flags = header[15];
    if flags & FLAG_BIG_ENDIAN != 0 {
        return Err(Error::UnsupportedArch("big-endian Go binary".into()));
    }
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let rest = &bytes[HEADER_SIZE..];
        let (version, used) = inline_string(rest, "version")?;
        let (modinfo, _) = inline_string(rest.get(used..).unwrap_or(&[]), "module info")?;
        (version, modinfo)
    } else {
        if ptr_size != 8 {
            return Err(Error::malformed(
                ".go.buildinfo",
                format!("pointer size {ptr_size}, expected 8"),
            ));
        }
        let version = pointed_string(elf, vaddr + 16, "version")?;
        let modinfo = pointed_string(elf, vaddr + 24, "module info")?;
        (version, modinfo)
    };
    if version.is_empty() {
        return Err(Error::malformed(".go.buildinfo", "empty Go version string"));
    }
    // The sentinels are arbitrary bytes: strip them before decoding text.
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((text(version), text(strip_sentinels(modinfo))))
}

/// The buildinfo blob: the section, else the first 16-aligned magic in writable segments (what
/// debug/buildinfo does when section headers are gone).
fn locate<'d>(elf: &ElfImage<'d>) -> Option<(u64, &'d [u8])> {
    if let Some(s) = elf.section(".go.buildinfo") {
        if s.data.starts_with(MAGIC) {
            return Some((s.vaddr, s.data));
        }
    }
    for seg in elf.segments().iter().filter(|s| s.writable) {
        let bytes = elf.segment_bytes(seg);
        let mut from = 0;
        while let Some(i) = find(bytes.get(from..)?, MAGIC) {
            let at = from + i;
            let vaddr = seg.vaddr + at as u64;
            if vaddr & (ALIGN - 1) == 0 {
                return Some((vaddr, &bytes[at..]));
            }
            from = at + 1;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A uvarint-length-prefixed string; returns it and the bytes consumed.
fn inline_string<'d>(bytes: &'d [u8], what: &str) -> Result<(&'d [u8], usize)> {
    let (len, n) = uvarint(bytes).ok_or_else(|| {
        Error::malformed(".go.buildinfo", format!("bad length varint of the {what}"))
    })?;
    let s = usize::try_from(len)
        .ok()
        .and_then(|len| bytes.get(n..n.checked_add(len)?))
        .ok_or_else(|| {
            Error::malformed(
                ".go.buildinfo",
                format!("{what} string of {len} bytes runs past the section"),
            )
        })?;
    Ok((s, n + s.len()))
}

/// Pre-1.18 form: `slot` holds a pointer to a Go string header {data ptr, len}.
fn pointed_string<'d>(elf: &ElfImage<'d>, slot: u64, what: &str) -> Result<&'d [u8]> {
    let bad = || {
        Error::malformed(
            ".go.buildinfo",
            format!("{what} pointer leads outside the file"),
        )
    };
    let header = elf.read_ptr(slot).ok_or_else(bad)?;
    let data = elf.read_ptr(header).ok_or_else(bad)?;
    let len = elf
        .read_ptr(header.checked_add(8).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    if len > MAX_STRING {
        return Err(bad());
    }
    elf.bytes_at(data, len).ok_or_else(bad)
}

/// Go's binary.Uvarint: value and bytes used; None on truncation or overflow.
pub(crate) fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return None;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The modinfo between its two 16-byte sentinels, or "" when it is not framed that way (as
/// debug/buildinfo decides: at least 33 bytes and a newline just before the end sentinel).
fn strip_sentinels(b: &[u8]) -> &[u8] {
    if b.len() >= 33 && b[b.len() - 17] == b'\n' {
        &b[16..b.len() - 16]
    } else {
        &[]
    }
}

/// Parses modinfo lines as runtime/debug.ParseBuildInfo does (minus its errors on lines it does
/// not know, which it also skips).
pub fn parse_modinfo(text: &str) -> Result<ModInfo> {
    let bad = |line: usize, detail: String| {
        Error::malformed(
            ".go.buildinfo",
            format!("module info line {line}: {detail}"),
        )
    };
    let mut info = ModInfo::default();
    // Which module a following `=>` line replaces: 0 = main, i+1 = deps[i].
    let mut last: Option<usize> = None;
    // ParseBuildInfo ignores a final line without a newline; so do we.
    let mut lines: Vec<&str> = text.split('\n').collect();
    lines.pop();
    for (n, line) in lines.into_iter().enumerate() {
        let n = n + 1;
        if let Some(p) = line.strip_prefix("path\t") {
            info.path = Some(p.to_string());
        } else if let Some(rest) = line.strip_prefix("mod\t") {
            info.main = Some(module_line(rest).map_err(|e| bad(n, e))?);
            last = Some(0);
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            info.deps
                .push((module_line(rest).map_err(|e| bad(n, e))?, None));
            last = Some(info.deps.len());
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = rest.split('\t').collect();
            if cols.len() != 3 {
                return Err(bad(
                    n,
                    format!("expected 3 columns for replacement; got {}", cols.len()),
                ));
            }
            let replacement = module(cols[0], cols[1], cols[2]);
            match last.take() {
                // A replaced main module is not something Go produces; keep the main as is.
                Some(0) => {}
                Some(i) => info.deps[i - 1].1 = Some(replacement),
                None => return Err(bad(n, "replacement with no module on previous line".into())),
            }
        } else if let Some(kv) = line.strip_prefix("build\t") {
            info.settings
                .push(build_setting(kv).map_err(|e| bad(n, e))?);
        }
    }
    Ok(info)
}

fn module(path: &str, version: &str, sum: &str) -> Module {
    Module {
        path: path.to_string(),
        version: version.to_string(),
        sum: (!sum.is_empty()).then(|| sum.to_string()),
    }
}

fn module_line(rest: &str) -> std::result::Result<Module, String> {
    let cols: Vec<&str> = rest.split('\t').collect();
    match cols.as_slice() {
        [path, version] => Ok(module(path, version, "")),
        [path, version, sum] => Ok(module(path, version, sum)),
        _ => Err(format!("expected 2 or 3 columns; got {}", cols.len())),
    }
}

/// `KEY=VALUE`, either side possibly strconv-quoted.
fn build_setting(kv: &str) -> std::result::Result<(String, String), String> {
    let (key, raw_value) = match kv.chars().next() {
        None => return Err("build line missing '='".into()),
        Some('=') => return Err("build line with missing key".into()),
        Some('"' | '`') => {
            let (key, used) = unquote_prefix(kv).ok_or("invalid quoted key in build line")?;
            let rest = &kv[used..];
            let value = rest
                .strip_prefix('=')
                .ok_or("build line missing '=' after quoted key")?;
            (key, value)
        }
        Some(_) => {
            let (k, v) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            (k.to_string(), v)
        }
    };
    let value = match raw_value.chars().next() {
        Some('"' | '`') => match unquote_prefix(raw_value) {
            Some((v, used)) if used == raw_value.len() => v,
            _ => return Err("invalid quoted value in build line".into()),
        },
        _ => raw_value.to_string(),
    };
    Ok((key, value))
}

/// strconv.QuotedPrefix + Unquote for the forms strconv.Quote writes: a backquoted raw string or
/// a double-quoted string with Go escapes. Returns the value and the bytes consumed.
fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next()?;
    if quote == '`' {
        let end = s[1..].find('`')? + 1;
        return Some((s[1..end].to_string(), end + 1));
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\n' => return None,
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '\\' | '"' | '\'' => out.push(e),
                    'x' | 'u' | 'U' => {
                        let digits = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v = 0u32;
                        for _ in 0..digits {
                            v = v * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        if e == 'x' {
                            // A byte; Go strings may hold invalid UTF-8, which we replace.
                            out.push(char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{fffd}'));
                        } else {
                            out.push(char::from_u32(v)?);
                        }
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + chars.next()?.1.to_digit(8)?;
                        }
                        out.push(char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{fffd}'));
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modinfo_lines_with_quotes_and_replacements() {
        let text = "path\texample.com/cmd\nmod\texample.com\t(devel)\t\n\
                    dep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n=>\t../sys\t(devel)\t\n\
                    build\t-ldflags=\"-s -w\"\nbuild\tCGO_ENABLED=0\n\
                    build\t\"we ird\"=`raw`\nbuild\tGOFLAGS=\"-tags=a\\tb\"\n";
        let info = parse_modinfo(text).unwrap();
        assert_eq!(info.path.as_deref(), Some("example.com/cmd"));
        assert_eq!(info.main, Some(module("example.com", "(devel)", "")));
        assert_eq!(
            info.deps,
            vec![(
                module("golang.org/x/sys", "v0.1.0", "h1:abc="),
                Some(module("../sys", "(devel)", ""))
            )]
        );
        let s: Vec<(&str, &str)> = info
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            s,
            [
                ("-ldflags", "-s -w"),
                ("CGO_ENABLED", "0"),
                ("we ird", "raw"),
                ("GOFLAGS", "-tags=a\tb")
            ]
        );
    }

    #[test]
    fn bad_modinfo_is_malformed_not_panic() {
        for text in [
            "=>\ta\tb\tc\n",
            "mod\ta\n",
            "build\t=x\n",
            "build\t\"unterminated=1\n",
            "build\tnoequals\n",
            "build\tk=\"bad\\q\"\n",
        ] {
            assert!(
                matches!(parse_modinfo(text), Err(Error::Malformed { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn uvarint_matches_go() {
        assert_eq!(uvarint(&[0x08]), Some((8, 1)));
        assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(uvarint(&[0x80]), None);
        assert_eq!(uvarint(&[]), None);
        assert_eq!(uvarint(&[0xff; 10]), None);
    }
}
