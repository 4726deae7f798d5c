//! Prelinked against normal and XIP run time, interleaved: each round runs the program once in
//! each code model back to back, so a machine whose load changes during the run (other builds on
//! the same cores) slows all three alike; prints the medians and the median of the per-round
//! ratios. Criterion's groups (`*_prelinked` in `xip_cost`) measure one model after the other,
//! which such drift distorts. `cargo xtask bench` runs this after the criterion benchmarks.

use std::time::Instant;

use aotc_bench::{CodeModel, PROGRAMS, compile, load, load_prelinked, run};

/// Rounds measured (after [`WARM_UP`] unmeasured ones).
const ROUNDS: usize = 400;
const WARM_UP: usize = 20;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    println!("interleaved medians of {ROUNDS} rounds (ratio: median of the per-round ratios):");
    for (index, program) in PROGRAMS.iter().enumerate() {
        let loaded = [
            load(&compile(program, CodeModel::Normal).expect("compile")).expect("load"),
            load_prelinked(program, 16 + index as u64, dir.path()).expect("prelinked"),
            load(&compile(program, CodeModel::Xip).expect("compile")).expect("load"),
        ];
        let mut times: [Vec<f64>; 3] = Default::default();
        for round in 0..WARM_UP + ROUNDS {
            for (l, t) in loaded.iter().zip(&mut times) {
                let start = Instant::now();
                run(l, program).expect("run");
                if round >= WARM_UP {
                    t.push(start.elapsed().as_secs_f64());
                }
            }
        }
        let ratio = |i: usize| median(times[i].iter().zip(&times[0]).map(|(t, n)| t / n).collect());
        let ms = |i: usize| median(times[i].clone()) * 1e3;
        println!(
            "  {:<12} normal {:.3} ms, prelinked {:.3} ms ({:.4}x normal), xip {:.3} ms ({:.4}x normal)",
            program.name,
            ms(0),
            ms(1),
            ratio(1),
            ms(2),
            ratio(2)
        );
    }
}
