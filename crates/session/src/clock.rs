//! The clocks a capture is stamped with: CLOCK_MONOTONIC (what `bpf_ktime_get_ns` reads, so
//! user-space samples and BPF events share one time line) and CLOCK_REALTIME (to show when).

use goroscope_record::ClockBase;

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// CLOCK_MONOTONIC now, in nanoseconds: the events' clock.
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// Both clocks now, for a recording's header.
pub(crate) fn clocks() -> ClockBase {
    ClockBase {
        monotonic_ns: monotonic_ns(),
        realtime_ns: clock_ns(libc::CLOCK_REALTIME),
    }
}
