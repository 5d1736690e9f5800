//! W3, f32 GEMM in GFLOP/s at 1024x1024x1024 and 512x784x512 (m x k x n), 1 and 2 threads:
//! rill (a `MatMul` of two fed placeholders, one `Session::run`), and as in-run ceilings the
//! `gemm` crate (rill's kernel, called directly) and ndarray's `general_mat_mul`
//! (matrixmultiply; one thread only, as the workspace builds it without its threading feature).

use crate::{median, quick, Lcg, Report};
use ndarray::{linalg::general_mat_mul, Array2};
use rill::prelude::*;
use std::time::Instant;

const SIZES: [(usize, usize, usize); 2] = [(1024, 1024, 1024), (512, 784, 512)];

/// GFLOP/s of `f` (which does `flops`), as w3_gemm_py.py: calibrate the iterations to a
/// quarter of a second, then time `reps` repeats of them.
fn bench(mut f: impl FnMut(), flops: f64) -> f64 {
    let (probe, target, reps) = if quick() {
        (0.05, 0.05, 3)
    } else {
        (0.3, 0.25, 7)
    };
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < probe {
        f();
        n += 1;
    }
    let per = t.elapsed().as_secs_f64() / n as f64;
    let iters = ((target / per) as usize).max(3);
    let rates = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            flops * iters as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    median(rates)
}

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut r = Lcg::new(seed);
    Array2::from_shape_fn((rows, cols), |_| r.normal())
}

/// The `gemm` crate on row-major operands, as rill's kernel calls it.
fn gemm_crate(a: &Array2<f32>, b: &Array2<f32>, c: &mut Array2<f32>, threads: usize) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: a is m x k, b is k x n and c is m x n, all in standard (row-major) layout, and c
    // is borrowed mutably, so not aliased.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

pub fn run(report: &mut Report) {
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a rayon pool");
        for (m, k, n) in SIZES {
            let key = format!("w3.gemm_{m}x{k}x{n}.t{threads}");
            let flops = 2.0 * (m * k * n) as f64;
            let (a, b) = (random(m, k, 0), random(k, n, 1));
            let mut c = Array2::<f32>::zeros((m, n));
            pool.install(|| {
                let gf = bench(|| gemm_crate(&a, &b, &mut c, threads), flops);
                report.figure(&format!("{key}/gemm_crate"), gf, "GFLOP/s");
                if threads == 1 {
                    let gf = bench(|| general_mat_mul(1.0, &a, &b, 0.0, &mut c), flops);
                    report.figure(&format!("{key}/ndarray_dot"), gf, "GFLOP/s");
                }
                let g = Graph::new();
                let pa = g.placeholder(DType::F32, [m, k], "a");
                let pb = g.placeholder(DType::F32, [k, n], "b");
                let prod = pa.matmul(pb);
                // The session's own thread count, not the enclosing pool's, decides how many
                // threads its kernels use.
                let sess = Session::new(&g)
                    .with_threads(threads)
                    .expect("a session pool");
                let (va, vb) = (Value::from(a.clone()), Value::from(b.clone()));
                let gf = bench(
                    || {
                        sess.run(&[prod], &[feed(pa, &va), feed(pb, &vb)]).unwrap();
                    },
                    flops,
                );
                report.figure(&format!("{key}/rill_session"), gf, "GFLOP/s");
            });
        }
    }
}
