//! `go f(x)` wrappers on real binaries: in the blocked fixture (testdata/go/blocked) every `go`
//! statement passes arguments, so from Go 1.21 each starts a `main.spawnX.gowrap1` wrapper, whose
//! callee — inlined into it or called — is the fixture's `main.xForever`. Normal and stripped
//! builds (pclntab only), and Go 1.19, whose closures are not `gowrap` wrappers.

use goinspect::elf::ElfImage;
use goinspect::gowrap::wrapped_function;
use goinspect::pclntab::Pclntab;

const SITES: [(&str, &str); 7] = [
    ("main.spawnSenders", "main.sendForever"),
    ("main.spawnReceivers", "main.receiveForever"),
    ("main.spawnSelectors", "main.selectForever"),
    ("main.spawnLockers", "main.lockForever"),
    ("main.spawnSleepers", "main.sleepForever"),
    ("main.spawnReaders", "main.readForever"),
    ("main.spawnWaiters", "main.waitForever"),
];

#[test]
fn every_wrapper_names_the_function_its_go_statement_starts() {
    for variant in ["normal", "stripped"] {
        let path = testsupport::program_fixture("blocked", "1.27", variant);
        let data = std::fs::read(&path).unwrap();
        let elf = ElfImage::parse(&data).unwrap();
        let pcln = Pclntab::parse(&elf).unwrap();
        for (site, start) in SITES {
            let wrapper = pcln
                .find_func(&format!("{site}.gowrap1"))
                .unwrap_or_else(|| panic!("{variant}: no wrapper for {site}"));
            let callee = wrapped_function(&elf, &pcln, &wrapper)
                .unwrap_or_else(|| panic!("{variant}: {} names nothing", wrapper.name));
            assert_eq!(callee.name, start, "{variant}: {}", wrapper.name);
            // The pc given for it lies in its body: its own line there is in main.go.
            let (file, _) = pcln.line_at(callee.pc).unwrap();
            assert!(file.ends_with("blocked/main.go"), "{variant}: {file}");
        }
        // Not a wrapper: nothing.
        let main = pcln.find_func("main.main").unwrap();
        assert_eq!(wrapped_function(&elf, &pcln, &main), None);
    }
}

#[test]
fn go_1_19_closures_are_not_taken_for_wrappers() {
    let path = testsupport::program_fixture("blocked", "1.19", "stripped");
    let data = std::fs::read(&path).unwrap();
    let elf = ElfImage::parse(&data).unwrap();
    let pcln = Pclntab::parse(&elf).unwrap();
    let closure = pcln.find_func("main.spawnSenders.func1").unwrap();
    assert_eq!(wrapped_function(&elf, &pcln, &closure), None);
}

#[test]
fn inlined_code_names_its_chain_of_calls() {
    // In Go 1.27, internal/sync.(*Mutex).Lock is inlined into sync.(*Mutex).Lock, inlined into
    // main.lockForever, itself inlined into main.spawnLockers.gowrap1: the wrapper's call of
    // lockSlow lies in all three. In 1.19 main.lockForever is compiled on its own, with only
    // sync.(*Mutex).Lock inlined into it.
    for minor in ["1.19", "1.27"] {
        let path = testsupport::program_fixture("blocked", minor, "stripped");
        let data = std::fs::read(&path).unwrap();
        let elf = ElfImage::parse(&data).unwrap();
        let pcln = Pclntab::parse(&elf).unwrap();
        let outer = if minor == "1.19" {
            "main.lockForever"
        } else {
            "main.spawnLockers.gowrap1"
        };
        let f = pcln.find_func(outer).unwrap();
        let code = elf.bytes_at(f.entry, f.end - f.entry).unwrap();
        let calls = goinspect::disasm::analyze(code, f.entry).calls;
        let (offset, _) = calls
            .iter()
            .find(|(_, target)| {
                pcln.func_at(*target)
                    .is_some_and(|t| t.name.ends_with("(*Mutex).lockSlow"))
            })
            .unwrap_or_else(|| panic!("go{minor}: no lockSlow call in {outer}"));
        let chain: Vec<String> = pcln
            .inlined_at(f.entry + offset)
            .into_iter()
            .map(|c| c.function)
            .collect();
        let want: &[&str] = if minor == "1.19" {
            &["sync.(*Mutex).Lock"]
        } else {
            &[
                "internal/sync.(*Mutex).Lock",
                "sync.(*Mutex).Lock",
                "main.lockForever",
            ]
        };
        assert_eq!(chain, want, "go{minor}");
    }
}
