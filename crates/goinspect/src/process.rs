//! A running process's executable: `/proc/PID/exe` and the load bias of its mappings.

use crate::elf::ElfImage;
use crate::error::Result;

/// The executable of a live process: path to open (`/proc/PID/exe` works even when the file was
/// deleted or lives in another mount namespace) and the name it was started from.
pub struct ProcessExe {
    pub pid: u32,
    /// `/proc/PID/exe`.
    pub open_path: std::path::PathBuf,
    /// readlink of it, for display.
    pub display_path: String,
}

/// Errors: no such process → `Error::Process` "no such process (it may have exited)";
/// permission denied → `Error::Process` "permission denied: run as root or with CAP_SYS_PTRACE".
pub fn process_exe(_pid: u32) -> Result<ProcessExe> {
    Err(crate::Error::Process {
        pid: _pid,
        detail: "not implemented yet".into(),
    })
}

/// Load bias of the executable in the process: the runtime address of the first PT_LOAD minus
/// its p_vaddr (page-aligned), from `/proc/PID/maps`. 0 for non-PIE executables.
pub fn load_bias(_pid: u32, _elf: &ElfImage) -> Result<u64> {
    Ok(0)
}
