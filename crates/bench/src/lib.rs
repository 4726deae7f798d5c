//! Shared setup of the benchmarks: the benchmark programs and the code models they are
//! compiled in, so `benches/` and tests agree on what is measured.

mod prelink;

pub use prelink::load_prelinked;

use std::path::{Path, PathBuf};

use aotc_abi::intrinsics::IntrinsicSet;
use aotc_loader::{Func, Instance, LoadOptions, Module, Val};
use aotc_pipeline::CompiledFile;
use aotc_translate::CompileOptions;

/// A benchmark program: a `.wat` or `.wasm` file exporting `run(i32)` and the argument to call
/// it with.
pub struct Program {
    /// Name used for the criterion group.
    pub name: &'static str,
    /// Path relative to the workspace root.
    pub path: &'static str,
    /// The argument of `run`.
    pub arg: i32,
    /// The argument of a quick run, for tests.
    pub test_arg: i32,
}

/// The programs measured.
pub const PROGRAMS: &[Program] = &[
    Program {
        name: "int_heavy",
        path: "examples/bench/int_heavy.wat",
        arg: 200_000,
        test_arg: 2_000,
    },
    Program {
        name: "float_heavy",
        path: "examples/bench/float_heavy.wat",
        arg: 160,
        test_arg: 2,
    },
];

/// The kernel `examples/bench/kernels/NAME.wasm`, run with `arg` (tests: `test_arg`).
macro_rules! kernel {
    ($name:literal, $arg:expr, $test_arg:expr) => {
        Program {
            name: $name,
            path: concat!("examples/bench/kernels/", $name, ".wasm"),
            arg: $arg,
            test_arg: $test_arg,
        }
    };
}

/// The C kernels of `examples/bench/kernels` (freestanding, clang 16 `-O2`, rebuilt by its
/// `build.sh`), one per shape of code whose speed matters: each is run in every
/// [`CodeModel`], and `cargo xtask bench` prints the ratios and their geometric means.
pub const KERNELS: &[Program] = &[
    kernel!("fib", 27, 15),
    kernel!("qsort", 20_000, 500),
    kernel!("matmul", 80, 9),
    kernel!("sieve", 500_000, 5_000),
    kernel!("fround", 100_000, 1_000),
    kernel!("nbody", 20_000, 200),
    kernel!("div64", 100_000, 1_000),
];

/// The C kernel `examples/bench/vec_kernel.c` built by clang `-O3` without and with
/// `-msimd128` (auto-vectorised): the same computation, scalar and SIMD.
pub const VECTOR_KERNEL: [Program; 2] = [
    Program {
        name: "scalar",
        path: "examples/bench/vec_kernel_scalar.wasm",
        arg: 200,
        test_arg: 3,
    },
    Program {
        name: "simd",
        path: "examples/bench/vec_kernel_simd.wasm",
        arg: 200,
        test_arg: 3,
    },
];

/// A code model a program is compiled in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CodeModel {
    /// Direct calls, relocated at load; the default CPU (the host's).
    Normal,
    /// Normal mode for the baseline CPU (`--cpu generic`).
    NormalGeneric,
    /// `--xip` with the target's default intrinsics.
    Xip,
    /// `--xip --enable-builtin-intrinsics=all`.
    XipAllIntrinsics,
}

impl CodeModel {
    /// Every code model, normal first (the baseline of the ratios).
    pub const ALL: [CodeModel; 4] = [
        CodeModel::Normal,
        CodeModel::NormalGeneric,
        CodeModel::Xip,
        CodeModel::XipAllIntrinsics,
    ];

    /// Name used for the criterion function.
    pub fn name(self) -> &'static str {
        match self {
            CodeModel::Normal => "normal",
            CodeModel::NormalGeneric => "normal_cpu_generic",
            CodeModel::Xip => "xip",
            CodeModel::XipAllIntrinsics => "xip_all_intrinsics",
        }
    }

    /// The compiler options of this model: the library's defaults with the model's flags.
    pub fn options(self) -> CompileOptions {
        match self {
            CodeModel::Normal => CompileOptions::default(),
            CodeModel::NormalGeneric => CompileOptions {
                cpu: Some("generic".into()),
                ..CompileOptions::default()
            },
            CodeModel::Xip => CompileOptions::xip(),
            CodeModel::XipAllIntrinsics => CompileOptions {
                intrinsics: Some(IntrinsicSet::all()),
                ..CompileOptions::xip()
            },
        }
    }
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compiles `program` in `model` to an AOT file.
pub fn compile(program: &Program, model: CodeModel) -> Result<CompiledFile, String> {
    compile_with(program, &model.options())
}

/// Compiles `program` with `options` to an AOT file.
pub fn compile_with(program: &Program, options: &CompileOptions) -> Result<CompiledFile, String> {
    let path = workspace_root().join(program.path);
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    aotc_pipeline::compile(options, &text)
        .and_then(|compiled| compiled.write())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// An instantiated program, ready to run.
pub struct Loaded {
    /// Keeps the code mapped.
    pub module: Module,
    /// The instance.
    pub instance: Instance,
    /// Its `run` export.
    pub run: Func,
}

/// Loads and instantiates a compiled file.
impl Loaded {
    /// Instantiates `module` and finds its `run` export.
    pub fn instantiate(module: Module) -> Result<Loaded, String> {
        let instance = Instance::new(&module, &[]).map_err(|e| e.to_string())?;
        let run = instance.get_func("run").ok_or("no `run` export")?;
        Ok(Loaded {
            module,
            instance,
            run,
        })
    }
}

pub fn load(file: &CompiledFile) -> Result<Loaded, String> {
    let module = file
        .load(&LoadOptions::default())
        .map_err(|e| e.to_string())?;
    Loaded::instantiate(module)
}

/// Runs `program` once; the result is the checksum.
pub fn run(loaded: &Loaded, program: &Program) -> Result<Val, String> {
    let mut results = loaded
        .run
        .call(&[Val::I32(program.arg)])
        .map_err(|t| t.to_string())?;
    results
        .pop()
        .ok_or_else(|| "`run` returned nothing".to_string())
}

/// Memory accesses in the function a [`large_module`] repeats (loads and stores).
pub const ACCESSES_PER_FUNCTION: usize = 281;

/// The wat of the function a [`large_module`] repeats: `work(p)` adds `k` to 140 words from `p`
/// on and returns the first ([`ACCESSES_PER_FUNCTION`] memory accesses).
fn work_wat() -> String {
    let mut body = String::new();
    for k in 0..(ACCESSES_PER_FUNCTION - 1) / 2 {
        let at = 4 * k;
        body += &format!(
            "(i32.store offset={at} (local.get 0) \
             (i32.add (i32.load offset={at} (local.get 0)) (i32.const {k})))\n"
        );
    }
    format!(
        r#"(module (memory (export "memory") 1)
             (func (export "work") (param i32) (result i32)
               {body} (i32.load (local.get 0))))"#
    )
}

/// A large XIP module for the load-time test and benchmark: `functions` copies of one compiled
/// function (XIP code is position-independent, so each copy runs), with the trap sites of each
/// copy; exports `work` (the first) and `work_last` (the last). Built from one compilation, so
/// it takes a moment whatever its size.
pub fn large_module(functions: u32) -> Result<Vec<u8>, String> {
    let compiled = aotc_pipeline::compile(&CompileOptions::xip(), work_wat().as_bytes())
        .map_err(|e| e.to_string())?;
    let mut module: aotc_format::write::AotModule = compiled.module().clone();
    let Some(aotc_format::write::Function {
        type_index,
        body: Some((start, len)),
    }) = module.functions.first().cloned()
    else {
        return Err("the work function has no body".into());
    };
    let body = module.text[start as usize..(start + len) as usize].to_vec();
    let sites: Vec<_> = module
        .traps
        .iter()
        .filter(|(offset, _)| (start..start + len).contains(offset))
        .map(|(offset, code)| (offset - start, *code))
        .collect();
    // A cache line: at least every target's function alignment.
    const ALIGN: usize = 64;
    for _ in 1..functions {
        module
            .text
            .resize(module.text.len().next_multiple_of(ALIGN), 0);
        let at = u32::try_from(module.text.len()).map_err(|_| "text over 4 GiB")?;
        module.text.extend_from_slice(&body);
        module
            .traps
            .extend(sites.iter().map(|(offset, code)| (at + offset, *code)));
        module.functions.push(aotc_format::write::Function {
            type_index,
            body: Some((at, len)),
        });
    }
    module.exports.push(aotc_format::write::Export {
        name: "work_last".into(),
        kind: aotc_format::layout::ExternKind::Func,
        index: functions - 1,
    });
    module.write().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code model computes the same checksum, so the benchmark compares equal work.
    #[test]
    fn code_models_agree() {
        for program in PROGRAMS.iter().chain(KERNELS) {
            let small = Program {
                arg: program.test_arg,
                ..*program
            };
            let results: Vec<Val> = CodeModel::ALL
                .iter()
                .map(|m| run(&load(&compile(&small, *m).unwrap()).unwrap(), &small).unwrap())
                .collect();
            assert!(
                results.iter().all(|r| *r == results[0]),
                "{}: {results:?}",
                program.name
            );
        }
    }

    /// The scalar and the SIMD build of the C kernel give one checksum in normal and XIP mode,
    /// and only the SIMD build has `v128` code (riscv64 without `v` cannot compile it).
    #[test]
    fn vector_kernel_builds_agree() {
        let mut results = Vec::new();
        for program in &VECTOR_KERNEL {
            let small = Program {
                arg: program.test_arg,
                ..*program
            };
            for model in [CodeModel::Normal, CodeModel::Xip] {
                let loaded = load(&compile(&small, model).unwrap()).unwrap();
                results.push(run(&loaded, &small).unwrap());
            }
        }
        assert!(results.iter().all(|r| *r == results[0]), "{results:?}");
        assert_ne!(results[0], Val::I32(0));
        let riscv = CompileOptions {
            arch: aotc_abi::Arch::Riscv64,
            ..CompileOptions::xip()
        };
        let wasm = |p: &Program| std::fs::read(workspace_root().join(p.path)).unwrap();
        assert!(aotc_pipeline::compile(&riscv, &wasm(&VECTOR_KERNEL[0])).is_ok());
        let err = aotc_pipeline::compile(&riscv, &wasm(&VECTOR_KERNEL[1])).unwrap_err();
        assert!(err.to_string().contains("+v"), "{err}");
    }
}
