//! Reads from another process's memory with one `process_vm_readv` (no ptrace stop; the process
//! keeps running), shared by the samplers that read the Go runtime's globals.

use crate::error::{Error, Result};

/// Fills every `(remote address, local buffer)` piece from process `pid` in one call; a short
/// read (an unmapped address) is an error that names `what`.
pub fn read_pieces(pid: libc::pid_t, pieces: &mut [(u64, &mut [u8])], what: &str) -> Result<()> {
    let mut local = Vec::with_capacity(pieces.len());
    let mut remote = Vec::with_capacity(pieces.len());
    let mut total = 0usize;
    for (addr, buf) in pieces.iter_mut() {
        total += buf.len();
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
    let pid = pid as u32;
    if n < 0 {
        let err = std::io::Error::last_os_error();
        return Err(Error::Process {
            pid,
            detail: format!("reading {what}: {err}"),
        });
    }
    if n as usize != total {
        return Err(Error::Process {
            pid,
            detail: format!("reading {what}: got {n} of {total} bytes (wrong addresses?)"),
        });
    }
    Ok(())
}
