//! Ground truth for `globals.rs` and `allgs.rs`: in every inspectee fixture (each Go version and
//! build variant), the addresses of `runtime.sched` and `runtime.gomaxprocs` found from the code
//! of `runtime.stopTheWorldWithSema`, and of `runtime.allgs` and `runtime.allglen` found from the
//! code of `runtime.allgadd`, are the linker's own symbols. Stripped builds have no symbols,
//! so their truth comes from the unstripped twin built from the same source by the same toolchain
//! (stripped ↔ normal, cgo-stripped-pie ↔ cgo): the symbol's offset inside its section there,
//! applied to the same section of the stripped build. The same for `runtime.memstats`, found
//! from the code of `runtime.gcMarkTermination`.

use goinspect::allgs::{self, ALLGLEN_VARIABLE, ALLGS_VARIABLE};
use goinspect::elf::ElfImage;
use goinspect::globals::{self, GOMAXPROCS_VARIABLE};
use goinspect::layout::{ALLM_VARIABLE, MEMSTATS_VARIABLE, SCHED_VARIABLE};
use goinspect::pclntab::Pclntab;
use goinspect::{inspect_bytes, InspectOptions};
use object::{Object, ObjectSection};
use testsupport::{fixture, inspectee_fixtures};

/// Name of the section holding `addr`, and `addr`'s offset in it.
fn section_offset(elf: &ElfImage, addr: u64) -> (String, u64) {
    elf.object()
        .sections()
        .find(|s| s.address() <= addr && addr < s.address() + s.size())
        .map(|s| (s.name().unwrap().to_string(), addr - s.address()))
        .unwrap_or_else(|| panic!("{addr:#x} is in no section"))
}

/// Where `symbol` of the unstripped `twin` lies in `target`: same section, same offset.
fn expected(twin: &ElfImage, target: &ElfImage, symbol: &str) -> u64 {
    let addr = twin
        .symbol_address(symbol)
        .expect("unstripped twin has the symbol");
    let (section, offset) = section_offset(twin, addr);
    target
        .object()
        .section_by_name(&section)
        .unwrap_or_else(|| panic!("{symbol}: no section {section} in the stripped build"))
        .address()
        + offset
}

#[test]
fn code_finds_the_linkers_addresses_in_every_fixture() {
    let mut checked = 0;
    for f in inspectee_fixtures() {
        let bytes = f.bytes();
        let elf = ElfImage::parse(&bytes).unwrap();
        let twin_bytes = match f.variant.as_str() {
            "stripped" => fixture(&f.version, "normal").bytes(),
            "cgo-stripped-pie" => fixture(&f.version, "cgo").bytes(),
            _ => bytes.clone(),
        };
        let twin = ElfImage::parse(&twin_bytes).unwrap();
        let want_sched = expected(&twin, &elf, SCHED_VARIABLE);
        let want_gomaxprocs = expected(&twin, &elf, GOMAXPROCS_VARIABLE);

        let insp = inspect_bytes(&bytes, &f.label(), &InspectOptions::default()).unwrap();
        let pcln = Pclntab::parse(&elf).unwrap();
        let found = globals::from_code(&elf, &pcln, &insp.layout)
            .unwrap_or_else(|| panic!("{}: pattern not found", f.label()));
        assert_eq!(found.sched, want_sched, "{} sched", f.label());
        assert_eq!(
            found.gomaxprocs,
            want_gomaxprocs,
            "{} gomaxprocs",
            f.label()
        );
        let want_memstats = expected(&twin, &elf, MEMSTATS_VARIABLE);
        assert_eq!(
            globals::memstats_from_code(&elf, &pcln, &insp.layout),
            Some(want_memstats),
            "{} memstats",
            f.label()
        );
        assert_eq!(
            insp.layout.memstats_address,
            Some(want_memstats),
            "{}",
            f.label()
        );
        // allm only from symbols: absent exactly when the build is stripped.
        assert_eq!(
            insp.layout.allm_address,
            (!f.stripped()).then(|| expected(&twin, &elf, ALLM_VARIABLE)),
            "{} allm",
            f.label()
        );
        let want_allgs = expected(&twin, &elf, ALLGS_VARIABLE);
        let want_allglen = expected(&twin, &elf, ALLGLEN_VARIABLE);
        let found_allgs = allgs::from_code(&elf, &pcln)
            .unwrap_or_else(|| panic!("{}: allgadd pattern not found", f.label()));
        assert_eq!(found_allgs.allgs, want_allgs, "{} allgs", f.label());
        assert_eq!(found_allgs.allglen, want_allglen, "{} allglen", f.label());
        assert_eq!(insp.layout.allgs_address, Some(want_allgs), "{}", f.label());
        assert_eq!(
            insp.layout.allglen_address,
            Some(want_allglen),
            "{}",
            f.label()
        );
        // And what `inspect` reports (symbols or code: they agree, so no warning either).
        assert_eq!(insp.layout.sched_address, Some(want_sched), "{}", f.label());
        assert_eq!(
            insp.layout.gomaxprocs_address,
            Some(want_gomaxprocs),
            "{}",
            f.label()
        );
        assert!(
            !insp.warnings.iter().any(|w| w.contains("the symbol says")),
            "{}: {:?}",
            f.label(),
            insp.warnings
        );
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn inspection_json_shows_the_gomaxprocs_address_and_old_json_still_reads() {
    let f = &inspectee_fixtures()[0];
    let insp = inspect_bytes(&f.bytes(), &f.label(), &InspectOptions::default()).unwrap();
    let mut json = serde_json::to_value(&insp).unwrap();
    let layout = json["layout"].as_object_mut().unwrap();
    assert_eq!(
        layout["gomaxprocs_address"].as_u64(),
        insp.layout.gomaxprocs_address
    );
    layout.remove("gomaxprocs_address");
    let old: goinspect::Inspection = serde_json::from_value(json).unwrap();
    assert_eq!(old.layout.gomaxprocs_address, None);
}
