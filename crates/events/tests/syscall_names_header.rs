//! The syscall table agrees with the kernel's own list on this machine:
//! /usr/include/x86_64-linux-gnu/asm/unistd_64.h (linux-libc-dev), `#define __NR_<name> <nr>`.

use goroscope_events::syscall_names::{syscall_name, syscall_number};

const HEADER: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

#[test]
fn every_syscall_in_the_kernel_header_has_the_same_name() {
    let Ok(text) = std::fs::read_to_string(HEADER) else {
        eprintln!("skipped: {HEADER} is missing (install linux-libc-dev)");
        return;
    };
    let mut checked = 0;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some("#define"), Some(macro_name), Some(value)) =
            (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let Some(name) = macro_name.strip_prefix("__NR_") else {
            continue;
        };
        let nr: i64 = value.parse().expect("numeric __NR_ value");
        assert_eq!(syscall_name(nr), name, "__NR_{name} = {nr}");
        assert_eq!(syscall_number(name), Some(nr), "__NR_{name}");
        checked += 1;
    }
    assert!(checked > 300, "only {checked} syscalls in {HEADER}");
}
