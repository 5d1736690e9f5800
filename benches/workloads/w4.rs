//! W4, dispatch cost: chains of `pairs` x (x * 1.0001, + 0.0001) on a fed f32[8], one
//! `Session::run` per chain. A least-squares line of time per call over the chain lengths
//! gives the cost per op (slope) and the fixed cost of one call (intercept); the 1,000-op
//! chain's whole call time is printed too (as JAX's figure is).

use crate::{median, quick, Report};
use rill::compiler::CompileOptions;
use rill::prelude::*;
use std::time::Instant;

/// Chain lengths in (mul, add) pairs; 500 pairs is the 1,000-op chain.
const PAIRS: [usize; 5] = [1, 50, 125, 250, 500];

/// Microseconds per call of `f`, as w4_overhead.py: 5 warm-up calls, then the median over
/// `reps` repeats of `calls` calls.
fn per_call_us(mut f: impl FnMut()) -> f64 {
    let (reps, calls) = if quick() { (3, 5) } else { (11, 20) };
    for _ in 0..5 {
        f();
    }
    let times = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .collect();
    median(times)
}

/// Least squares `y = a + b x`: `(a, b)`.
fn fit_line(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let b = sxy / sxx;
    (my - b * mx, b)
}

pub fn run(report: &mut Report) {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [8], "x");
    let chains: Vec<_> = PAIRS
        .iter()
        .map(|&pairs| {
            let mut y = x;
            for _ in 0..pairs {
                y = y * 1.0001 + 0.0001;
            }
            y
        })
        .collect();
    let sess = Session::new(&g);
    let x0 = Value::from(ndarray::Array1::<f32>::ones(8));
    let mut points = Vec::new();
    let mut whole = 0.0;
    for (&pairs, &y) in PAIRS.iter().zip(&chains) {
        let out = sess.eval(y, &[feed(x, &x0)]).unwrap();
        let mut expected = 1.0f32;
        for _ in 0..pairs {
            expected = expected * 1.0001 + 0.0001;
        }
        let got = out.to_f64_vec();
        assert!(
            got.iter()
                .all(|v| (v - expected as f64).abs() <= 1e-4 * expected as f64),
            "chain of {pairs} pairs: {got:?}, expected {expected}"
        );
        let us = per_call_us(|| {
            sess.run(&[y], &[feed(x, &x0)]).unwrap();
        });
        points.push(((2 * pairs) as f64, us));
        if pairs == 500 {
            whole = us;
        }
    }
    let (fixed, per_op) = fit_line(&points);
    report.figure("w4.per_op/rill_session", per_op, "us");
    report.figure("w4.call/rill_session", fixed, "us");
    report.figure("w4.chain/rill_session", whole, "us");

    // Dispatch cost proper: fusion off, so every op is a step of its own (as in TF1).
    let unfused = Session::with_options(
        &g,
        CompileOptions {
            fusion: false,
            ..Default::default()
        },
    );
    let mut points = Vec::new();
    for (&pairs, &y) in PAIRS.iter().zip(&chains) {
        let us = per_call_us(|| {
            unfused.run(&[y], &[feed(x, &x0)]).unwrap();
        });
        points.push(((2 * pairs) as f64, us));
    }
    let (fixed, per_op) = fit_line(&points);
    report.figure("w4.per_op/rill_session_unfused", per_op, "us");
    report.figure("w4.call/rill_session_unfused", fixed, "us");
}
