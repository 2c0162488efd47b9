//! Reading another process's memory without stopping it: [`Memory`] (batched reads, and which
//! address ranges are mapped), implemented for a live process by [`ProcessMemory`]
//! (`process_vm_readv`, `/proc/PID/maps`) and, in tests, by synthetic memory.

use crate::error::{Error, Result};

/// Most pieces one `process_vm_readv` takes (the kernel's `UIO_MAXIOV`).
pub const MAX_PIECES: usize = 1024;

/// One mapped range of the target's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub readable: bool,
    pub executable: bool,
}

/// A process's memory as goroscope reads it.
pub trait Memory {
    /// Reads each `(address, buffer)` piece in order and returns how many leading pieces were
    /// read whole: a piece that cannot be read stops the batch there (as `process_vm_readv`
    /// does), so the caller can skip it and go on. An error means nothing could be read at all
    /// (the process is gone).
    fn read_pieces(&self, pieces: &mut [(u64, &mut [u8])]) -> Result<usize>;

    /// The mapped ranges, sorted by address.
    fn mappings(&self) -> Result<Vec<Mapping>>;
}

/// The memory of a live process.
#[derive(Debug, Clone, Copy)]
pub struct ProcessMemory {
    pid: libc::pid_t,
}

impl ProcessMemory {
    pub fn new(pid: u32) -> Result<Self> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| Error::Process {
            pid,
            detail: "pid out of range".into(),
        })?;
        Ok(ProcessMemory { pid })
    }

    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Reads every piece whole, or fails naming `what` was being read.
    pub fn read_exact(&self, pieces: &mut [(u64, &mut [u8])], what: &str) -> Result<()> {
        let n = self.read_pieces(pieces)?;
        if n == pieces.len() {
            return Ok(());
        }
        Err(Error::Process {
            pid: self.pid(),
            detail: format!("reading {what}: piece {n} of {} unreadable", pieces.len()),
        })
    }
}

impl Memory for ProcessMemory {
    fn read_pieces(&self, pieces: &mut [(u64, &mut [u8])]) -> Result<usize> {
        let mut done = 0;
        for batch in pieces.chunks_mut(MAX_PIECES) {
            let n = readv(self.pid, batch)?;
            done += n;
            if n < batch.len() {
                break;
            }
        }
        Ok(done)
    }

    fn mappings(&self) -> Result<Vec<Mapping>> {
        let path = std::path::PathBuf::from(format!("/proc/{}/maps", self.pid));
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })?;
        Ok(parse_maps(&text))
    }
}

/// One `process_vm_readv` (at most [`MAX_PIECES`] pieces): how many leading pieces it read whole.
fn readv(pid: libc::pid_t, pieces: &mut [(u64, &mut [u8])]) -> Result<usize> {
    let mut local = Vec::with_capacity(pieces.len());
    let mut remote = Vec::with_capacity(pieces.len());
    for (addr, buf) in pieces.iter_mut() {
        local.push(libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        });
        remote.push(libc::iovec {
            iov_base: *addr as usize as *mut libc::c_void,
            iov_len: buf.len(),
        });
    }
    // SAFETY: every local iovec describes a live, writable buffer borrowed for this call;
    // remote iovecs are only addresses in the other process, which the kernel checks.
    let n = unsafe {
        libc::process_vm_readv(
            pid,
            local.as_ptr(),
            local.len() as libc::c_ulong,
            remote.as_ptr(),
            remote.len() as libc::c_ulong,
            0,
        )
    };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        // EFAULT on the first piece: that piece is unreadable, not the process gone.
        if err.raw_os_error() == Some(libc::EFAULT) {
            return Ok(0);
        }
        return Err(Error::Process {
            pid: pid as u32,
            detail: format!("reading memory: {err}"),
        });
    }
    // The kernel stops at the first piece it cannot read whole: count the pieces before it.
    let mut left = n as usize;
    let mut whole = 0;
    for (_, buf) in pieces.iter() {
        if left < buf.len() {
            break;
        }
        left -= buf.len();
        whole += 1;
    }
    Ok(whole)
}

/// What a batched read of many pieces did.
pub struct ReadAll {
    /// Pieces up to here were attempted (all, unless the process went away).
    pub done: usize,
    /// Indexes (ascending) of pieces that could not be read.
    pub unreadable: Vec<usize>,
    /// The process stopped answering before every piece was tried.
    pub cut_short: bool,
}

/// Reads one piece per item (`piece` says where and into what), [`MAX_PIECES`] per call,
/// skipping any piece the kernel refuses and going on after it.
pub fn read_all<T>(
    memory: &dyn Memory,
    items: &mut [T],
    piece: impl Fn(&mut T) -> (u64, &mut [u8]),
) -> ReadAll {
    let mut result = ReadAll {
        done: 0,
        unreadable: Vec::new(),
        cut_short: false,
    };
    let mut start = 0;
    while start < items.len() {
        let end = (start + MAX_PIECES).min(items.len());
        let mut pieces: Vec<(u64, &mut [u8])> = items[start..end].iter_mut().map(&piece).collect();
        match memory.read_pieces(&mut pieces) {
            Ok(n) if start + n == end => start = end,
            Ok(n) => {
                result.unreadable.push(start + n);
                start += n + 1;
            }
            Err(_) => {
                result.cut_short = true;
                result.done = start;
                return result;
            }
        }
    }
    result.done = items.len();
    result
}

/// Ranges closer than this are read as one piece (with the bytes between them).
const MERGE_GAP: u64 = 1024;
/// The largest piece a merge makes.
const MAX_MERGED: u64 = 256 * 1024;

/// Many small ranges read in few pieces: [`read_coalesced`].
#[derive(Debug, Default)]
pub struct Coalesced {
    buffers: Vec<Vec<u8>>,
    /// Per range: (buffer, offset in it), None if unreadable.
    at: Vec<Option<(usize, usize)>>,
    lens: Vec<usize>,
    /// The process stopped answering before every range was tried.
    pub cut_short: bool,
}

impl Coalesced {
    /// Range `i`'s bytes, None if it could not be read.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (buffer, offset) = (*self.at.get(i)?)?;
        self.buffers.get(buffer)?.get(offset..offset + self.lens[i])
    }
}

/// Reads `(address, length)` ranges: sorted by address, ranges less than [`MERGE_GAP`] apart
/// are read as one piece, so thousands of gs or stack tops that the runtime allocates side by side
/// cost a few hundred pieces instead of one each (each piece costs the kernel a page walk). A
/// merged piece that cannot be read (it spans a hole) is read again range by range.
pub fn read_coalesced(memory: &dyn Memory, ranges: &[(u64, usize)]) -> Coalesced {
    let mut order: Vec<usize> = (0..ranges.len()).collect();
    order.sort_unstable_by_key(|&i| ranges[i].0);
    // (start, end, members)
    let mut merged: Vec<(u64, u64, Vec<usize>)> = Vec::new();
    for i in order {
        let (start, len) = ranges[i];
        let end = start.saturating_add(len as u64);
        match merged.last_mut() {
            Some(m)
                if start <= m.1.saturating_add(MERGE_GAP) && end.max(m.1) - m.0 <= MAX_MERGED =>
            {
                m.1 = m.1.max(end);
                m.2.push(i);
            }
            _ => merged.push((start, end, vec![i])),
        }
    }
    let mut out = Coalesced {
        buffers: Vec::with_capacity(merged.len()),
        at: vec![None; ranges.len()],
        lens: ranges.iter().map(|r| r.1).collect(),
        cut_short: false,
    };
    let mut pieces: Vec<(u64, Vec<u8>)> = merged
        .iter()
        .map(|(start, end, _)| (*start, vec![0u8; (end - start) as usize]))
        .collect();
    let read = read_all(memory, &mut pieces, |(addr, buf)| {
        (*addr, buf.as_mut_slice())
    });
    out.cut_short = read.cut_short;
    let mut retry = Vec::new();
    for (n, ((start, _, members), (_, buf))) in merged.into_iter().zip(pieces).enumerate() {
        if n >= read.done {
            break;
        }
        if read.unreadable.binary_search(&n).is_ok() {
            if members.len() > 1 {
                retry.extend(members);
            }
            continue;
        }
        let b = out.buffers.len();
        out.buffers.push(buf);
        for i in members {
            out.at[i] = Some((b, (ranges[i].0 - start) as usize));
        }
    }
    if !retry.is_empty() && !out.cut_short {
        let mut pieces: Vec<(usize, Vec<u8>)> =
            retry.iter().map(|&i| (i, vec![0u8; ranges[i].1])).collect();
        let read = read_all(memory, &mut pieces, |(i, buf)| {
            (ranges[*i].0, buf.as_mut_slice())
        });
        out.cut_short |= read.cut_short;
        for (n, (i, buf)) in pieces.into_iter().enumerate().take(read.done) {
            if read.unreadable.binary_search(&n).is_err() {
                out.at[i] = Some((out.buffers.len(), 0));
                out.buffers.push(buf);
            }
        }
    }
    out
}

/// `/proc/PID/maps` lines: `start-end perms offset dev inode path`.
fn parse_maps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let perms = fields.next()?.as_bytes();
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                end: u64::from_str_radix(end, 16).ok()?,
                readable: perms.first() == Some(&b'r'),
                executable: perms.get(2) == Some(&b'x'),
            })
        })
        .collect();
    out.sort_by_key(|m| m.start);
    out
}

/// Whether `[addr, addr + len)` lies inside one mapping that `want` accepts.
pub fn mapped(maps: &[Mapping], addr: u64, len: u64, want: impl Fn(&Mapping) -> bool) -> bool {
    let Some(end) = addr.checked_add(len) else {
        return false;
    };
    let i = maps.partition_point(|m| m.start <= addr);
    i > 0 && {
        let m = &maps[i - 1];
        end <= m.end && want(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_and_checks_ranges() {
        let maps = parse_maps(
            "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/prog\n\
             00651000-00652000 rw-p 00051000 08:02 173521 /usr/bin/prog\n\
             garbage line\n",
        );
        assert_eq!(maps.len(), 2);
        assert!(maps[0].executable && !maps[1].executable && maps[1].readable);
        assert!(mapped(&maps, 0x400000, 16, |m| m.executable));
        assert!(!mapped(&maps, 0x451ff8, 16, |_| true));
        assert!(mapped(&maps, 0x651000, 0x1000, |m| m.readable));
        assert!(!mapped(&maps, 0x3fffff, 1, |_| true));
        assert!(!mapped(&maps, u64::MAX, 2, |_| true));
    }

    #[test]
    fn reads_this_process_and_stops_at_an_unreadable_piece() {
        let mem = ProcessMemory::new(std::process::id()).unwrap();
        let a = 0x1122_3344_u64;
        let b = [7u8; 3];
        let mut out_a = [0u8; 8];
        let mut out_b = [0u8; 3];
        let mut bad = [0u8; 8];
        let mut pieces: Vec<(u64, &mut [u8])> = vec![
            (&a as *const u64 as u64, &mut out_a[..]),
            (8, &mut bad[..]),
            (b.as_ptr() as u64, &mut out_b[..]),
        ];
        assert_eq!(mem.read_pieces(&mut pieces).unwrap(), 1);
        assert_eq!(u64::from_ne_bytes(out_a), a);
        let mut pieces: Vec<(u64, &mut [u8])> = vec![(b.as_ptr() as u64, &mut out_b[..])];
        assert_eq!(mem.read_pieces(&mut pieces).unwrap(), 1);
        assert_eq!(out_b, b);
        assert!(mem.mappings().unwrap().iter().any(|m| m.executable));
    }
}
