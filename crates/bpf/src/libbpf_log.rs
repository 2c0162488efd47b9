//! Routes libbpf's own log (verifier output, CO-RE relocation notes, attach failures) into
//! `tracing` under the target `libbpf`, instead of libbpf's default of printing to stderr.
//! Nothing of it shows by default: when libbpf fails, goroscope's own error says what failed
//! and why (with the errno), and libbpf's lines (`-ESRCH`, relocation names) are detail for
//! whoever debugs it. Run with `-v` for its warnings, `-vv` or `GOROSCOPE_LOG=libbpf=debug`
//! for everything.

use std::sync::Once;

use libbpf_rs::PrintLevel;

/// Installs the callback once per process; later calls do nothing.
pub fn route_libbpf_log_to_tracing() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Ask libbpf for everything; `tracing`'s filter decides what is shown.
        libbpf_rs::set_print(Some((PrintLevel::Debug, forward)));
    });
}

fn forward(level: PrintLevel, message: String) {
    // libbpf's messages end with a newline and sometimes carry a "libbpf: " prefix.
    let message = message.trim_end();
    let message = message.strip_prefix("libbpf: ").unwrap_or(message);
    match level {
        PrintLevel::Warn => tracing::info!(target: "libbpf", "{message}"),
        PrintLevel::Info => tracing::debug!(target: "libbpf", "{message}"),
        PrintLevel::Debug => tracing::debug!(target: "libbpf", "{message}"),
    }
}
