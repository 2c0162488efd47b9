//! x86-64 syscall number → name, for the report (`raw_syscalls` tracepoints give only the
//! number). The table is the `syscalls` crate's, which is generated from the kernel's own
//! syscall list; a test compares it with this machine's `asm/unistd_64.h`.

use std::borrow::Cow;

use syscalls::x86_64::Sysno;

/// The name of x86-64 syscall `nr` ("read" for 0, "futex" for 202), or "sys_<nr>" for a number
/// the table does not know (negative numbers included: the tracepoint reports -1 for some
/// aborted entries).
pub fn syscall_name(nr: i64) -> Cow<'static, str> {
    usize::try_from(nr)
        .ok()
        .and_then(Sysno::new)
        .map(|s| Cow::Borrowed(s.name()))
        .unwrap_or_else(|| Cow::Owned(format!("sys_{nr}")))
}

/// The number of a syscall by name (the inverse of [`syscall_name`] for known names), e.g. to
/// filter a report by syscall.
pub fn syscall_number(name: &str) -> Option<i64> {
    Sysno::iter()
        .find(|s| s.name() == name)
        .map(|s| i64::from(s.id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_syscalls_go_programs_block_in() {
        // Numbers from arch/x86/entry/syscalls/syscall_64.tbl.
        assert_eq!(syscall_name(0), "read");
        assert_eq!(syscall_name(202), "futex");
        assert_eq!(syscall_name(232), "epoll_wait");
        assert_eq!(syscall_name(281), "epoll_pwait");
    }

    #[test]
    fn unknown_numbers_get_a_placeholder() {
        assert_eq!(syscall_name(-1), "sys_-1");
        assert_eq!(syscall_name(100_000), "sys_100000");
        assert_eq!(syscall_name(i64::MAX), format!("sys_{}", i64::MAX));
        // 335..=423 is a hole in the x86-64 table.
        assert_eq!(syscall_name(400), "sys_400");
    }

    #[test]
    fn number_by_name_inverts_the_table() {
        assert_eq!(syscall_number("futex"), Some(202));
        assert_eq!(syscall_number("no_such_syscall"), None);
    }
}
