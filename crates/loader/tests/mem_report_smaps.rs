//! The memory-use report against what the OS says in `/proc/self/smaps`: an XIP file's text has
//! no private (anonymous) byte, a normal file's text copy is its size rounded up to pages, and a
//! linear memory's committed bytes are exactly its read + write mapping. One test in its own
//! binary, so no concurrent test maps next to what it measures.

mod support;

use aotc_loader::{Instance, LoadOptions, Module};

/// One mapping of `/proc/self/smaps`: its range and its `Name: N kB` fields, in bytes.
struct Vma {
    start: usize,
    end: usize,
    fields: Vec<(String, u64)>,
}

impl Vma {
    fn field(&self, name: &str) -> u64 {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("smaps has no {name}"))
    }
}

fn smaps() -> Vec<Vma> {
    let text = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let mut vmas: Vec<Vma> = Vec::new();
    for line in text.lines() {
        let head = line.split_whitespace().next().unwrap_or_default();
        if let Some((a, b)) = head.split_once('-')
            && let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            vmas.push(Vma {
                start,
                end,
                fields: Vec::new(),
            });
        } else if let Some((name, rest)) = line.split_once(':')
            && let Some(kb) = rest.trim().strip_suffix(" kB")
            && let Ok(kb) = kb.trim().parse::<u64>()
        {
            vmas.last_mut()
                .expect("a field after a mapping")
                .fields
                .push((name.to_owned(), kb * 1024));
        }
    }
    vmas
}

/// The mapping holding `address`.
fn vma_at(address: usize) -> Vma {
    smaps()
        .into_iter()
        .find(|v| (v.start..v.end).contains(&address))
        .unwrap_or_else(|| panic!("no mapping holds {address:#x}"))
}

const PROGRAM: &str = r#"
(module
  (memory (export "memory") 3)
  (func (export "touch") (param i32)
    local.get 0
    i32.const 1
    i32.store8)
  (func (export "work") (param i32) (result i32)
    (local i32)
    loop
      local.get 1
      local.get 0
      i32.add
      local.set 1
      local.get 0
      i32.const 1
      i32.sub
      local.tee 0
      br_if 0
    end
    local.get 1))
"#;

#[test]
fn report_agrees_with_proc_self_smaps() {
    let page = 4096u64;
    for xip in [true, false] {
        let bytes = support::compile_wat(PROGRAM, &support::options(xip));
        let file = support::TempFile::new("smaps", &bytes);
        // SAFETY: compiled here by this test.
        let module = unsafe { Module::from_file_with(&file.0, &LoadOptions::default()) }.unwrap();
        let instance = Instance::new(&module, &[]).unwrap();
        assert!(instance.call("work", &[aotc_loader::Val::I32(100)]).is_ok());
        let report = instance.memory_report();
        let text = module.text();
        let vma = vma_at(text.as_ptr() as usize);
        assert_eq!(vma.start, text.as_ptr() as usize);
        let anonymous = vma.field("Anonymous");
        if xip {
            assert_eq!(report.module.text_private_bytes, 0);
            assert_eq!(report.module.text_shared_bytes, text.len() as u64);
            assert_eq!(anonymous, 0, "XIP text has no private copy");
            assert_eq!(vma.field("Private_Dirty"), 0);
        } else {
            let rounded = (text.len() as u64).next_multiple_of(page);
            assert_eq!(report.module.text_private_bytes, rounded);
            assert_eq!(
                anonymous, rounded,
                "normal text: a private copy, page-rounded"
            );
            assert_eq!((vma.end - vma.start) as u64, rounded);
        }
        assert_eq!(report.module.file_mapped_bytes, bytes.len() as u64);
        // Runtime structures: one 32-byte function reference (a defined function's is built when
        // first used, and only `work` has been called), the 72-byte vmctx, no global.
        assert_eq!(report.funcref_bytes, 32);
        assert_eq!(report.vmctx_bytes, 72);
        assert_eq!(report.global_bytes, 0);

        // Linear memory: committed is the read + write mapping; touched is what is resident.
        let memory = instance.get_memory("memory").unwrap();
        instance
            .call("touch", &[aotc_loader::Val::I32(70000)])
            .unwrap();
        let usage = instance.memory_report().memories[0].clone();
        let vma = vma_at(memory.data_ptr() as usize);
        assert_eq!(vma.start, memory.data_ptr() as usize);
        assert_eq!((vma.end - vma.start) as u64, usage.committed);
        assert_eq!(usage.committed, 3 * 65536);
        assert_eq!(usage.touched, Some(vma.field("Rss")));
        assert_eq!(usage.touched, Some(page), "one page touched");
    }
}
