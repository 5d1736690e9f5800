//! W1, the tutorial's model (2-10-10-1 sigmoid, MSE, SGD 0.01, 10,000 samples, batch 500,
//! shuffled each epoch): TF1 style (`Session::run` per batch) and Keras style (`fit`).

use crate::{median, quick, Lcg, Report};
use ndarray::{s, Array2, Axis};
use rill::nn::callbacks::CallbackContext;
use rill::nn::{Callback, Dense, FitArgs, GradientDescent, Optimizer, Sequential};
use rill::prelude::*;
use std::time::Instant;

/// x uniform in [-1.5, 1.5]^2, y = 1 inside the unit circle.
fn data(n: usize) -> (Array2<f32>, Array2<f32>) {
    let mut r = Lcg::new(7);
    let x = Array2::from_shape_fn((n, 2), |_| r.uniform() * 3.0 - 1.5);
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

/// TF1 style: placeholders, GradientDescent, one `Session::run` per batch of 500 fetching the
/// loss and running the training op. Milliseconds per epoch: the median of epochs 2.. over
/// `runs` runs, each with a fresh graph and session (as `w1_tf1.py` and `w1_torch.py` count).
fn session_style(runs: usize, epochs: usize) -> f64 {
    let mut all = Vec::new();
    for run in 0..runs {
        all.extend(session_run(epochs, run + 1 == runs));
    }
    median(all)
}

/// One TF1-style run of `epochs` epochs: the milliseconds of epochs 2.., after printing the
/// plan (`RILL_BENCH_VERBOSE`) and tracing steps (`RILL_BENCH_TRACE`) when `last`.
fn session_run(epochs: usize, last: bool) -> Vec<f64> {
    let (xd, yd) = data(10_000);
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
    let verbose = last && std::env::var("RILL_BENCH_VERBOSE").is_ok();
    if verbose {
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
    let mut r = Lcg::new(1);
    for _ in 0..epochs {
        let t = Instant::now();
        for i in (1..n).rev() {
            order.swap(i, r.below(i + 1));
        }
        for start in (0..n).step_by(500) {
            let rows = &order[start..start + 500];
            let xb = Value::from(gather_rows(&xd, rows));
            let yb = Value::from(gather_rows(&yd, rows));
            if verbose && start == 0 && times.is_empty() {
                let feeds = [feed(x, &xb), feed(y, &yb)];
                let plan = sess.plan_for_feeds(&[loss], &feeds, &[train]).unwrap();
                crate::print_plan("W1 training", &plan, 500);
            }
            sess.run_with_targets(&[loss], &[feed(x, &xb), feed(y, &yb)], &[train])
                .unwrap();
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    if last && crate::tracing() {
        let (xb, yb) = (
            Value::from(xd.slice(s![..500, ..]).to_owned()),
            Value::from(yd.slice(s![..500, ..]).to_owned()),
        );
        let feeds = [feed(x, &xb), feed(y, &yb)];
        crate::trace_runs("W1 training step", 200, |_, options, meta| {
            sess.run_with_options(&[loss], &feeds, &[train], options, meta)
        });
    }
    times.split_off(1)
}

/// Records when each epoch ends.
struct EpochTimer(Vec<Instant>);

impl Callback for EpochTimer {
    fn on_train_begin(&mut self, _: &mut CallbackContext<'_>) -> rill::nn::Result<()> {
        self.0.push(Instant::now());
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &[(String, f64)],
        _: &mut CallbackContext<'_>,
    ) -> rill::nn::Result<()> {
        self.0.push(Instant::now());
        Ok(())
    }
}

/// Keras style: `Sequential`, `compile("SGD", "mse")`, `fit(epochs, batch_size 500, verbose 0)`.
/// Milliseconds per epoch (median of epochs 2.. over `fits` fresh fits).
fn keras_style(fits: usize, epochs: usize) -> f64 {
    let (x, y) = data(10_000);
    let mut all = Vec::new();
    for seed in 0..fits as u64 {
        let mut model = Sequential::new(vec![
            Box::new(Dense::new(10).input_dim(2).activation("sigmoid")),
            Box::new(Dense::new(10).activation("sigmoid")),
            Box::new(Dense::new(1).activation("sigmoid")),
        ])
        .with_seed(seed);
        model.compile("SGD", "mse", &[]).unwrap();
        let mut timer = EpochTimer(Vec::new());
        model
            .fit(
                &x,
                &y,
                FitArgs::default()
                    .epochs(epochs)
                    .batch_size(500)
                    .verbose(0)
                    .seed(seed)
                    .callback(&mut timer),
            )
            .unwrap();
        let t = &timer.0;
        all.extend((2..t.len()).map(|i| (t[i] - t[i - 1]).as_secs_f64() * 1e3));
    }
    median(all)
}

pub fn run(report: &mut Report) {
    // The peers' scripts count 3 runs (or fits) of 100 epochs, the first epoch of each left out.
    let (epochs, runs) = if quick() { (5, 1) } else { (100, 3) };
    report.figure("w1.epoch/rill_session", session_style(runs, epochs), "ms");
    report.figure("w1.epoch/rill_keras_fit", keras_style(runs, epochs), "ms");
}
