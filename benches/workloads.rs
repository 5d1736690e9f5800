//! The reference workloads (`shared/reference-bench/`) on rill: W1 the tutorial's model, W2 an
//! MNIST-sized MLP, W3 GEMM in a graph, W4 dispatch cost. Prints rill's figures and, given the
//! peers' figures measured in the same sitting (`RILL_REFERENCE=path` to a file of
//! `name value` lines), the ratios. Run: `cargo bench --bench workloads [-- w1 w2 ...]`.

use ndarray::{Array2, Axis};
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// W1 data: x uniform in [-1.5, 1.5]^2, y = 1 inside the unit circle.
fn w1_data(n: usize) -> (Array2<f32>, Array2<f32>) {
    let mut s = 7u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    let x = Array2::from_shape_fn((n, 2), |_| next() * 3.0 - 1.5);
    let y = Array2::from_shape_fn((n, 1), |(i, _)| {
        if x[[i, 0]].powi(2) + x[[i, 1]].powi(2) < 1.0 {
            1.0
        } else {
            0.0
        }
    });
    (x, y)
}

/// The rows of `a` at `rows`, as a new array (numpy's `a[perm][i:i+bs]`).
fn gather_rows(a: &Array2<f32>, rows: &[usize]) -> Array2<f32> {
    let cols = a.ncols();
    let src = a.as_slice().expect("standard layout");
    let mut out = Vec::with_capacity(rows.len() * cols);
    for &r in rows {
        out.extend_from_slice(&src[r * cols..(r + 1) * cols]);
    }
    Array2::from_shape_vec((rows.len(), cols), out).expect("sizes match")
}

/// W1, TF1 style: placeholders, GradientDescent, one `Session::run` per batch of 500, shuffled
/// each epoch. Returns milliseconds per epoch (median of epochs 2..).
fn w1(epochs: usize) -> f64 {
    let (xd, yd) = w1_data(10_000);
    let g = Graph::new();
    g.set_random_seed(0);
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let y = g.placeholder(DType::F32, [None, Some(1)], "y");
    let mut h = x;
    for (i, (a, b)) in [(2, 10), (10, 10), (10, 1)].into_iter().enumerate() {
        let w = g.variable_init(
            &[a, b],
            DType::F32,
            Initializer::GlorotUniform { seed: None },
            &format!("W{i}"),
        );
        let bb = g.variable_init(&[b], DType::F32, Initializer::Zeros, &format!("b{i}"));
        h = (h.matmul(w) + bb).sigmoid();
    }
    let loss = (h - y).square().mean(ALL, false);
    let train = GradientDescent::new(0.01).minimize(loss, None).unwrap();
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    if std::env::var("RILL_BENCH_VERBOSE").is_ok() {
        let mut counts = std::collections::BTreeMap::new();
        g.with_nodes(|nodes| {
            nodes
                .iter()
                .for_each(|n| *counts.entry(n.op.type_name()).or_insert(0) += 1)
        });
        eprintln!("W1 graph: {} nodes {counts:?}", g.len());
    }
    let n = xd.len_of(Axis(0));
    let mut order: Vec<usize> = (0..n).collect();
    let mut times = Vec::new();
    let mut s = 1u64;
    for _ in 0..epochs {
        let t = Instant::now();
        for i in (1..n).rev() {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (s >> 33) as usize % (i + 1));
        }
        for start in (0..n).step_by(500) {
            let rows = &order[start..start + 500];
            let xb = Value::from(gather_rows(&xd, rows));
            let yb = Value::from(gather_rows(&yd, rows));
            sess.run_with_targets(&[loss], &[feed(x, &xb), feed(y, &yb)], &[train])
                .unwrap();
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    median(times[1..].to_vec())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |w: &str| args.is_empty() || args.iter().any(|a| a == w);
    if want("w1") {
        let ms = w1(30);
        println!("W1 tf1-style Session.run: {ms:.3} ms/epoch");
    }
}
