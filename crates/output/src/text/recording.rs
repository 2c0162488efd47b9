//! The two lines above a report read from a recording: what was recorded and how the recording
//! ended. Built from plain values rather than goroscope-record's header types, so that the
//! printers do not depend on the file format (and a live session can describe itself the same
//! way).

/// What was recorded (from the recording's header and what reading it found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording<'a> {
    /// The target executable.
    pub path: &'a str,
    pub pid: u32,
    pub go_version: &'a str,
    /// How goroscope got the target: launched or attached.
    pub mode: &'a str,
    /// Events in the recording.
    pub events: u64,
    pub ending: Ending<'a>,
}

/// How the recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending<'a> {
    /// The end chunk's reason, and how the target exited if it did.
    Ended {
        reason: &'a str,
        target_exit: Option<&'a str>,
    },
    /// No end chunk: goroscope was killed or the file was cut.
    Interrupted,
}

/// "Recording of PATH (pid N, GO, MODE), N events; ended: ..." and a blank line.
pub fn describe_recording(r: &Recording<'_>) -> String {
    let ending = match r.ending {
        Ending::Ended {
            reason,
            target_exit: Some(exit),
        } => format!("ended: {reason} ({exit})"),
        Ending::Ended {
            reason,
            target_exit: None,
        } => format!("ended: {reason}"),
        Ending::Interrupted => "ended: interrupted (no end chunk)".to_string(),
    };
    format!(
        "Recording of {} (pid {}, {}, {}), {} events; {ending}\n\n",
        r.path, r.pid, r.go_version, r.mode, r.events
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_was_recorded_and_how_it_ended() {
        let mut r = Recording {
            path: "/bin/app",
            pid: 42,
            go_version: "go1.22.10",
            mode: "launch",
            events: 7,
            ending: Ending::Ended {
                reason: "target exited",
                target_exit: Some("status 0"),
            },
        };
        assert_eq!(
            describe_recording(&r),
            "Recording of /bin/app (pid 42, go1.22.10, launch), 7 events; \
             ended: target exited (status 0)\n\n"
        );
        r.ending = Ending::Interrupted;
        assert!(describe_recording(&r).ends_with("; ended: interrupted (no end chunk)\n\n"));
    }
}
