//! Run time of the benchmark programs in normal mode, `--xip` and `--xip` with every
//! intrinsic, measured side by side; the auto-vectorised C kernel scalar against SIMD, in normal
//! and XIP mode; and load time of XIP against normal files.
//! `cargo xtask bench` runs this and prints the ratios.

use std::hint::black_box;
use std::time::Duration;

use aotc_bench::{CodeModel, PROGRAMS, VECTOR_KERNEL, compile, load, run};
use criterion::{Criterion, criterion_group, criterion_main};

fn run_time(c: &mut Criterion) {
    for program in PROGRAMS {
        let mut group = c.benchmark_group(program.name);
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(4))
            .warm_up_time(Duration::from_secs(1));
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

criterion_group!(benches, run_time, simd_speedup, load_time);
criterion_main!(benches);
