//! Generates the Rust types of the vendored protocol buffers (proto/: pprof's profile and the
//! Perfetto trace messages goroscope writes) with prost-build, which runs `protoc` (Debian's
//! protobuf-compiler, installed by scripts/install-deps.sh; or set PROTOC).

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=proto");
    prost_build::Config::new().compile_protos(
        &["proto/profile.proto", "proto/perfetto_trace.proto"],
        &["proto"],
    )
}
