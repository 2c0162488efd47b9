//! `goroscope selftest`: proves the BPF toolchain and kernel support on this machine.

pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("selftest is not built yet")
}
