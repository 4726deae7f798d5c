//! Loading is constant-time: loading a large XIP module (20,000 functions, over 20 MB of text)
//! maps into this process no page of its text, function table or trap table, only the pages of
//! its header and metadata, as `/proc/self/smaps` shows (the `Rss` of the file's mappings in
//! this process; the page cache holds the freshly written file whole, so `mincore` could not
//! tell), and instantiating it maps no more. And its trap table takes at most a quarter of format version 2's bytes per memory
//! access.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::path::Path;

use aotc_format::AotFile;
use aotc_format::layout::SectionKind;
use aotc_loader::{Instance, Module, Val};

/// A mapping of the file in `/proc/self/smaps`.
#[derive(Debug)]
struct FileMapping {
    executable: bool,
    rss_bytes: u64,
}

/// The mappings of `path` in this process.
fn mappings_of(path: &Path) -> Vec<FileMapping> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read smaps");
    let path = path.to_str().expect("utf-8 path");
    let mut found = Vec::new();
    let mut current: Option<FileMapping> = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            found.extend(current.take());
            if fields.get(5) == Some(&path) {
                current = Some(FileMapping {
                    executable: fields[1].contains('x'),
                    rss_bytes: 0,
                });
            }
        } else if let (Some(m), ["Rss:", kb, "kB"]) = (current.as_mut(), fields.as_slice()) {
            m.rss_bytes = kb.parse::<u64>().expect("Rss") * 1024;
        }
    }
    found.extend(current);
    found
}

#[test]
fn loading_a_large_module_maps_only_header_and_metadata_pages() {
    const FUNCTIONS: u32 = 20_000;
    let bytes = aotc_bench::large_module(FUNCTIONS).expect("generate");
    let (metadata_size, text, lookup_start) = {
        let file = AotFile::parse(&bytes).expect("parse");
        assert_eq!(file.functions().len(), FUNCTIONS as usize);
        // The trap table: format version 2 stored 8 bytes per site.
        let (sites, trap_bytes) = (file.traps().len(), file.traps().byte_size());
        let accesses = aotc_bench::ACCESSES_PER_FUNCTION * FUNCTIONS as usize;
        let (per_access, v2_per_access) = (
            trap_bytes as f64 / accesses as f64,
            (8 * sites) as f64 / accesses as f64,
        );
        eprintln!(
            "trap table: {sites} sites, {trap_bytes} bytes: {per_access:.2} bytes per memory \
             access (format version 2: {v2_per_access:.2})"
        );
        assert!(per_access * 4.0 <= v2_per_access);
        let lookup_start = [
            SectionKind::Functions,
            SectionKind::Traps,
            SectionKind::TrapDeltas,
        ]
        .map(|kind| file.section(kind).unwrap().offset)
        .into_iter()
        .min()
        .unwrap();
        (
            file.header().metadata_size.get(),
            file.text().len() as u64,
            lookup_start,
        )
    };
    assert!(text >= 20_000_000, "text of {text} bytes");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.aot");
    std::fs::write(&path, &bytes).unwrap();
    drop(bytes);
    let path = std::fs::canonicalize(path).unwrap();
    assert!(mappings_of(&path).is_empty());

    // SAFETY: the file was just written from this workspace's compiler's output.
    let module = unsafe { Module::from_file(&path) }.expect("load");
    assert!(module.is_text_mapped_from_file());
    let mappings = mappings_of(&path);
    let page = 4096;
    // The pages holding `[0, metadata_size)`, and one more: the tail of the mapping a fault may
    // round to. Not one page of the text or of the lookup sections after it.
    let allowed = metadata_size.next_multiple_of(page) + page;
    assert!(allowed < lookup_start && allowed < text);
    let mut mapped = 0;
    for m in &mappings {
        if m.executable {
            assert_eq!(m.rss_bytes, 0, "text pages mapped at load: {m:?}");
        } else {
            mapped += m.rss_bytes;
        }
    }
    assert!(
        mapped <= allowed,
        "{mapped} bytes of the file mapped at load, metadata is {metadata_size}: {mappings:?}"
    );
    assert!(mappings.iter().any(|m| m.executable), "{mappings:?}");
    eprintln!(
        "{FUNCTIONS} functions, {text} bytes of text, {metadata_size} bytes of metadata: \
         {mapped} bytes of the file mapped at load"
    );

    // The module is real: instantiate it and run its last function. Instantiation reads no
    // function record either (nothing per function): still only the header and metadata pages.
    let instance = Instance::new(&module, &[]).expect("instantiate");
    let instantiated: u64 = mappings_of(&path)
        .iter()
        .filter(|m| !m.executable)
        .map(|m| m.rss_bytes)
        .sum();
    assert!(
        instantiated <= allowed,
        "{instantiated} bytes of the file mapped after instantiation, metadata is {metadata_size}"
    );
    eprintln!("{instantiated} bytes of the file mapped after instantiation");
    let result = instance.call("work_last", &[Val::I32(64)]).expect("runs");
    assert_eq!(result[0].i32(), Some(0));
}
