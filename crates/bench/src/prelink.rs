//! The prelinked code model of the benchmarks: a program compiled as in normal mode, relocated at
//! compile time for a fixed address and this process's builtin addresses, written to a file and
//! run from that file mapped read + execute at the address (no copy, no load-time patching).

use std::path::Path;

use aotc_loader::Module;
use aotc_translate::{CompileOptions, Prelink, RuntimeSymbols};

use crate::{Loaded, Program, compile_with};

/// Where the benchmarks' prelinked programs go: one 64 MiB slot each, far from where the
/// kernel places mappings.
fn slot(index: u64) -> u64 {
    0x2200_0000_0000 + index * (64 << 20)
}

/// Compiles `program` prelinked for slot `index`, writes it into `dir` and loads it from there.
pub fn load_prelinked(program: &Program, index: u64, dir: &Path) -> Result<Loaded, String> {
    let options = CompileOptions {
        prelink: Some(Prelink {
            base: slot(index),
            symbols: RuntimeSymbols::from_addresses(aotc_loader::runtime_builtin_addresses()),
        }),
        ..CompileOptions::default()
    };
    let module: Module = compile_with(program, &options)?
        .load_from(&dir.join(format!("{}-prelinked.aot", program.name)))
        .map_err(|e| e.to_string())?;
    if !module.is_text_mapped_from_file() || module.text().as_ptr() as u64 != slot(index) {
        return Err(format!("{}: prelinked text not in place", program.name));
    }
    Loaded::instantiate(module)
}
