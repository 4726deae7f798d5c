//! Which instructions carry trap metadata: only those that can fault. With guard pages every
//! memory access is a trap site; with explicit bounds checks only the checks are (the access
//! after a check cannot fault). vmctx, table and global loads never are.

use aotc_translate::CompileOptions;

/// A function with `n` loads from distinct addresses, summed.
fn loads_wat(n: usize) -> String {
    let mut body = String::from("(i32.const 0)");
    for k in 0..n {
        body += &format!(" (i32.add (i32.load offset={} (local.get 0)))", 4 * k);
    }
    format!(r#"(module (memory 1) (func (export "f") (param i32) (result i32) {body}))"#)
}

fn trap_sites(options: &CompileOptions, wat: &str) -> usize {
    let wasm = wat::parse_str(wat).expect("wat");
    let module = aotc_translate::compile(&wasm, options).expect("compile");
    module.traps.len()
}

#[test]
fn one_trap_site_per_memory_access() {
    const LOADS: usize = 40;
    let wat = loads_wat(LOADS);
    for xip in [false, true] {
        let base = if xip {
            CompileOptions::xip()
        } else {
            CompileOptions::default()
        };
        for explicit_bounds_checks in [false, true] {
            let options = CompileOptions {
                explicit_bounds_checks,
                ..base.clone()
            };
            let sites = trap_sites(&options, &wat);
            assert!(
                (LOADS..=LOADS + 2).contains(&sites),
                "xip {xip}, explicit bounds checks {explicit_bounds_checks}: {sites} trap \
                 sites for {LOADS} loads"
            );
        }
    }
}
