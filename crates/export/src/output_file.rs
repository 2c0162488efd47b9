//! Where an export is written: never a half-written file under the output name (everything
//! goes to a temporary file beside it, renamed over the name once complete, removed on any
//! error), and never over a file that goroscope did not write unless forced — the same policy
//! as `record -o`, kept simple: an existing export of the same kind, an empty file or a device
//! may be replaced; anything else needs `--force`; the recording being exported never is.

use std::fs::File;
use std::io::{BufWriter, Read as _, Write};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

/// What kind of file an export is: how an earlier one is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Gzipped pprof profile whose gzip header comment is [`SIGNATURE`].
    Pprof,
    /// Perfetto trace whose first packet names the process track "goroscope: ...".
    Perfetto,
    /// HTML report with `<meta name="generator" content="goroscope">` at its top.
    Html,
}

/// The mark goroscope leaves at the start of every export.
pub const SIGNATURE: &str = "goroscope";

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Pprof => "pprof profile",
            Kind::Perfetto => "Perfetto trace",
            Kind::Html => "HTML report",
        }
    }

    /// Whether `path` holds an export of this kind written by goroscope.
    fn written_by_goroscope(self, path: &Path) -> Result<bool> {
        let mut head = Vec::with_capacity(1024);
        File::open(path)
            .with_context(|| format!("reading {}", path.display()))?
            .take(1024)
            .read_to_end(&mut head)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(match self {
            Kind::Pprof => {
                let mut gz = flate2::read::GzDecoder::new(head.as_slice());
                // The header is parsed by the first read.
                let _ = gz.read(&mut [0u8; 1]);
                gz.header()
                    .and_then(|h| h.comment())
                    .is_some_and(|c| c.starts_with(SIGNATURE.as_bytes()))
            }
            Kind::Perfetto => contains(&head[..head.len().min(256)], b"goroscope: "),
            Kind::Html => contains(&head, b"<meta name=\"generator\" content=\"goroscope"),
        })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An export being written: [`Write`] into it, then [`OutputFile::commit`]. Dropped without a
/// commit (an error on the way), it removes its temporary file and leaves the output name as
/// it was.
#[derive(Debug)]
pub struct OutputFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl OutputFile {
    /// Checks `path` (see the module's rules; `protected`: files it must never be, such as the
    /// recording exported) and creates the temporary file beside it.
    pub fn create(path: &Path, kind: Kind, force: bool, protected: &[&Path]) -> Result<Self> {
        check(path, kind, force, protected)?;
        let name = path
            .file_name()
            .with_context(|| format!("{} does not name a file", path.display()))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".goroscope-tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let file = File::create(&tmp).with_context(|| {
            format!(
                "cannot write the {} to {}: creating {}",
                kind.describe(),
                path.display(),
                tmp.display()
            )
        })?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Flushes, syncs and renames the temporary file to the output name.
    pub fn commit(mut self) -> Result<()> {
        let file = self.file.take().expect("an OutputFile is committed once");
        let file = file
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        std::fs::rename(&self.tmp, &self.path).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.path.display())
        })?;
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file
            .as_mut()
            .expect("written before commit")
            .write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("flushed before commit").flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn check(path: &Path, kind: Kind, force: bool, protected: &[&Path]) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("checking {}", path.display())),
    };
    if meta.is_dir() {
        bail!(
            "{} is a directory: give -o the name of the {} file",
            path.display(),
            kind.describe()
        );
    }
    let same_file = |p: &&Path| {
        std::fs::metadata(p).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    };
    if protected.iter().any(same_file) {
        bail!(
            "{} is the recording being exported: refusing to write over it (give -o another \
             file name)",
            path.display()
        );
    }
    // A device or an empty file holds nothing to lose.
    if !meta.is_file() || meta.len() == 0 || force || kind.written_by_goroscope(path)? {
        return Ok(());
    }
    bail!(
        "{} exists and is not a goroscope {}: refusing to overwrite it (give -o another file \
         name, remove it, or add --force)",
        path.display(),
        kind.describe()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.html");
        let mut out = OutputFile::create(&path, Kind::Html, false, &[]).unwrap();
        out.write_all(b"half").unwrap();
        drop(out);
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
    }

    #[test]
    fn a_committed_file_replaces_only_an_earlier_export_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.html");
        let mut out = OutputFile::create(&path, Kind::Html, false, &[]).unwrap();
        out.write_all(b"<!doctype html><meta name=\"generator\" content=\"goroscope 0.1\">")
            .unwrap();
        out.commit().unwrap();
        assert_eq!(files_in(dir.path()), ["out.html"]);
        // Ours: replaced without --force.
        OutputFile::create(&path, Kind::Html, false, &[])
            .unwrap()
            .commit()
            .unwrap();
        std::fs::write(&path, "someone's notes").unwrap();
        let err = OutputFile::create(&path, Kind::Html, false, &[]).unwrap_err();
        assert!(
            err.to_string().contains("not a goroscope HTML report"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone's notes");
        OutputFile::create(&path, Kind::Html, true, &[])
            .unwrap()
            .commit()
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        let err = OutputFile::create(&path, Kind::Html, true, &[&path]).unwrap_err();
        assert!(
            err.to_string().contains("the recording being exported"),
            "{err}"
        );
    }

    #[test]
    fn a_pprof_is_recognised_by_its_gzip_comment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.pb.gz");
        let mut gz = flate2::GzBuilder::new()
            .comment(SIGNATURE)
            .write(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"x").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert!(Kind::Pprof.written_by_goroscope(&path).unwrap());
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"x").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert!(!Kind::Pprof.written_by_goroscope(&path).unwrap());
    }

    #[test]
    fn an_unwritable_directory_is_a_clear_error() {
        let err = OutputFile::create(
            Path::new("/nonexistent-dir/out.pftrace"),
            Kind::Perfetto,
            false,
            &[],
        )
        .unwrap_err();
        assert!(
            format!("{err:#}")
                .contains("cannot write the Perfetto trace to /nonexistent-dir/out.pftrace"),
            "{err:#}"
        );
    }
}
