//! Where a recording may be written: the checks [`crate::Recorder`] makes on its output path
//! before creating it. An existing recording is moved aside to `FILE.old` (as `perf record`
//! does), anything else that exists is refused unless forced, and the traced program's own
//! executable is never overwritten. The file is then written in place — not under a temporary
//! name renamed at the end — so a recorder that is killed still leaves a file readable up to its
//! last complete chunk, under the name the user gave.

use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use goroscope_record::MAGIC;

/// What to do with a file that is already at the output path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// Move an existing recording to `FILE.old`; refuse any other existing file.
    #[default]
    KeepOld,
    /// Overwrite whatever is there (`--force`), except the traced executable.
    Force,
}

/// Checks `path` before a recording is created there; `protected` are files it must never be
/// (the traced executable, by any name). Returns where an existing recording was moved.
pub(crate) fn prepare(
    path: &Path,
    protected: &[PathBuf],
    overwrite: Overwrite,
) -> Result<Option<PathBuf>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    };
    if meta.is_dir() {
        bail!(
            "{} is a directory: give -o the name of the recording file",
            path.display()
        );
    }
    let same_file = |p: &PathBuf| {
        std::fs::metadata(p).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    };
    if protected.iter().any(same_file) {
        bail!(
            "{} is the traced program's executable: refusing to write the recording over it \
             (give -o another file name)",
            path.display()
        );
    }
    // A device (/dev/null) or an empty file holds nothing to lose.
    if !meta.is_file() || meta.len() == 0 || overwrite == Overwrite::Force {
        return Ok(None);
    }
    if !is_recording(path)? {
        bail!(
            "{} exists and is not a goroscope recording: refusing to overwrite it (give -o \
             another file name, remove it, or add --force)",
            path.display()
        );
    }
    let mut old = path.as_os_str().to_owned();
    old.push(".old");
    let old = PathBuf::from(old);
    std::fs::rename(path, &old).with_context(|| {
        format!(
            "moving the existing recording {} to {}",
            path.display(),
            old.display()
        )
    })?;
    Ok(Some(old))
}

/// Whether the file at `path` starts with a recording's magic.
fn is_recording(path: &Path) -> Result<bool> {
    let mut start = [0u8; MAGIC.len()];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut n = 0;
    while n < start.len() {
        match file.read(&mut start[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    Ok(n == start.len() && start == MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_free() {
        // Removed when `tmp` drops, whatever the test did.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("a.rec");
        assert_eq!(prepare(&path, &[], Overwrite::KeepOld).unwrap(), None);
        std::fs::write(&path, b"").unwrap();
        assert_eq!(prepare(&path, &[], Overwrite::KeepOld).unwrap(), None);
    }

    #[test]
    fn an_existing_recording_moves_to_old_unless_forced() {
        // Removed when `tmp` drops, whatever the test did.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("a.rec");
        std::fs::write(&path, [&MAGIC[..], b"rest"].concat()).unwrap();
        assert_eq!(prepare(&path, &[], Overwrite::Force).unwrap(), None);
        assert!(path.exists());
        let old = prepare(&path, &[], Overwrite::KeepOld).unwrap().unwrap();
        assert_eq!(old, dir.join("a.rec.old"));
        assert!(!path.exists() && old.exists());
    }

    #[test]
    fn another_file_is_refused_unless_forced() {
        // Removed when `tmp` drops, whatever the test did.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("notes.txt");
        std::fs::write(&path, b"my notes").unwrap();
        let err = prepare(&path, &[], Overwrite::KeepOld).unwrap_err();
        assert!(
            format!("{err:#}").contains("is not a goroscope recording"),
            "{err:#}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"my notes");
        assert_eq!(prepare(&path, &[], Overwrite::Force).unwrap(), None);
        let err = prepare(dir, &[], Overwrite::Force).unwrap_err();
        assert!(format!("{err:#}").contains("is a directory"), "{err:#}");
    }

    #[test]
    fn the_traced_executable_is_never_overwritten() {
        // Removed when `tmp` drops, whatever the test did.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let exe = dir.join("prog");
        std::fs::write(&exe, b"\x7fELF...").unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&exe, &link).unwrap();
        for path in [&exe, &link] {
            let err = prepare(path, std::slice::from_ref(&exe), Overwrite::Force).unwrap_err();
            assert!(
                format!("{err:#}").contains("traced program's executable"),
                "{err:#}"
            );
        }
        assert_eq!(std::fs::read(&exe).unwrap(), b"\x7fELF...");
    }
}
