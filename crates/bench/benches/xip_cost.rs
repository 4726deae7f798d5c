//! Run time of the C kernels and the benchmark programs in normal mode (host CPU and
//! `--cpu generic`), `--xip` and `--xip` with every intrinsic, measured side by side; the auto-vectorised C kernel scalar against SIMD, in normal
//! and XIP mode; load time of XIP against normal files; and XIP load and instantiation of
//! `examples/fib.wat` against a large module (20,000 functions, over 20 MB of text), side by
//! side: loading must not grow with the size of the program. Prelinked against normal and XIP
//! run time, side by side.
//! `cargo xtask bench` runs this and prints the ratios.

use std::hint::black_box;
use std::time::Duration;

use aotc_bench::{CodeModel, KERNELS, PROGRAMS, Program, VECTOR_KERNEL, compile, load, run};
use criterion::{Criterion, criterion_group, criterion_main};

/// Runs each of `programs` in every code model, one criterion group a program.
fn run_in_every_model(c: &mut Criterion, programs: &[Program], samples: usize, time: Duration) {
    for program in programs {
        let mut group = c.benchmark_group(program.name);
        group
            .sample_size(samples)
            .measurement_time(time)
            .warm_up_time(Duration::from_millis(500));
        // Compile and load every model first, so the measurements run back to back.
        let loaded: Vec<_> = CodeModel::ALL
            .iter()
            .map(|m| {
                (
                    m,
                    load(&compile(program, *m).expect("compile")).expect("load"),
                )
            })
            .collect();
        for (model, l) in &loaded {
            group.bench_function(model.name(), |b| {
                b.iter(|| run(l, black_box(program)).expect("run"))
            });
        }
        group.finish();
    }
}

fn run_time(c: &mut Criterion) {
    run_in_every_model(c, PROGRAMS, 20, Duration::from_secs(4));
}

/// The C kernels: short runs (10 samples in 2 s each), so the whole table takes about a
/// minute and a half.
fn kernels(c: &mut Criterion) {
    run_in_every_model(c, KERNELS, 10, Duration::from_secs(2));
}

/// Prelinked against normal and XIP, side by side: the same programs, direct calls without
/// load-time patching (prelinked) against direct calls relocated at load (normal) and calls
/// through the vmctx (XIP).
fn prelinked_run_time(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (index, program) in PROGRAMS.iter().enumerate() {
        let mut group = c.benchmark_group(format!("{}_prelinked", program.name));
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(4))
            .warm_up_time(Duration::from_secs(1));
        let loaded = [
            (
                "normal",
                load(&compile(program, CodeModel::Normal).expect("compile")).expect("load"),
            ),
            (
                "prelinked",
                aotc_bench::load_prelinked(program, index as u64, dir.path()).expect("prelinked"),
            ),
            (
                "xip",
                load(&compile(program, CodeModel::Xip).expect("compile")).expect("load"),
            ),
        ];
        for (name, l) in &loaded {
            group.bench_function(*name, |b| {
                b.iter(|| run(l, black_box(program)).expect("run"))
            });
        }
        group.finish();
    }
}

fn simd_speedup(c: &mut Criterion) {
    let mut group = c.benchmark_group("vec_kernel");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for model in [CodeModel::Normal, CodeModel::Xip] {
        for program in &VECTOR_KERNEL {
            let l = load(&compile(program, model).expect("compile")).expect("load");
            let name = format!("{}_{}", program.name, model.name());
            group.bench_function(name, |b| {
                b.iter(|| run(&l, black_box(program)).expect("run"))
            });
        }
    }
    group.finish();
}

fn load_time(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("aotc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut group = c.benchmark_group("load");
    let program = &PROGRAMS[0];
    for model in [CodeModel::Normal, CodeModel::Xip] {
        let path = dir.join(format!("{}-{}.aot", program.name, model.name()));
        let file = compile(program, model).expect("compile");
        std::fs::write(&path, file.bytes()).expect("write");
        group.bench_function(model.name(), |b| {
            b.iter(|| {
                // SAFETY: the file was just written by aotc's compiler.
                let module = unsafe { aotc_loader::Module::from_file(&path) }.expect("load");
                black_box(module)
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn large_module_load(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("aotc-bench-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fib = std::fs::read(aotc_bench::workspace_root().join("examples/fib.wat")).expect("fib");
    let fib = aotc_pipeline::file_bytes(
        &aotc_translate::CompileOptions::xip(),
        &fib,
        aotc_pipeline::OutputFormat::Aot,
    )
    .expect("compile fib");
    let large = aotc_bench::large_module(20_000).expect("large module");
    let files = [("fib", fib), ("large", large)].map(|(name, bytes)| {
        let path = dir.join(format!("{name}.aot"));
        std::fs::write(&path, bytes).expect("write");
        (name, path)
    });
    // SAFETY: the files were just written by aotc's compiler.
    let load = |path: &std::path::Path| unsafe { aotc_loader::Module::from_file(path) };

    let mut group = c.benchmark_group("xip_load");
    for (name, path) in &files {
        group.bench_function(*name, |b| b.iter(|| black_box(load(path).expect("load"))));
    }
    group.finish();

    let mut group = c.benchmark_group("xip_instantiate");
    for (name, path) in &files {
        let module = load(path).expect("load");
        group.bench_function(*name, |b| {
            b.iter(|| black_box(aotc_loader::Instance::new(&module, &[]).expect("instantiate")))
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(
    benches,
    kernels,
    run_time,
    prelinked_run_time,
    simd_speedup,
    load_time,
    large_module_load
);
criterion_main!(benches);
