//! goroscope's BPF side: the C programs under src/bpf/, their libbpf-cargo skeletons, and the
//! code that opens, configures, loads and attaches them. Nothing else in goroscope uses libbpf-rs.
