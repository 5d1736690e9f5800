//! Whole training steps on random networks: with every pass on (shape specialisation, fusion
//! with epilogues and reductions, scheduling, buffers, in-place variable updates, concurrent
//! groups) on two threads, and with every pass off on one thread, the weights after several
//! steps are the same bits.

#[path = "common/lcg.rs"]
mod lcg;

use lcg::Lcg;
use rill::compiler::CompileOptions;
use rill::nn::losses::softmax_cross_entropy_with_logits;
use rill::nn::{Adam, GradientDescent, Momentum, Optimizer, RmsProp};
use rill::prelude::*;

/// Trains one random network for `steps` steps; returns its variables and the summary of the
/// training step's plan.
fn train(seed: u64, options: CompileOptions, threads: usize, steps: usize) -> (Vec<Value>, String) {
    let mut rng = Lcg(seed);
    let batch = 32 + rng.below(64);
    let widths: Vec<usize> = (0..2 + rng.below(2)).map(|_| 16 + rng.below(160)).collect();
    let classes = 2 + rng.below(8);
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(widths[0])], "x");
    let labels = g.placeholder(DType::I64, [None], "labels");
    let mut h = x;
    let mut variables = Vec::new();
    let mut sizes = widths.clone();
    sizes.push(classes);
    for (i, pair) in sizes.windows(2).enumerate() {
        let w = g.variable(
            g.constant(rng.value(&[pair[0], pair[1]])) * 0.2,
            &format!("w{i}"),
        );
        let b = g.variable(g.constant(rng.value(&[pair[1]])) * 0.1, &format!("b{i}"));
        variables.extend([w, b]);
        h = h.matmul(w) + b;
        if i + 2 < sizes.len() {
            h = match rng.below(3) {
                0 => h.relu(),
                1 => h.sigmoid(),
                _ => h.tanh(),
            };
        }
    }
    let onehot = labels.one_hot(classes, 1.0, 0.0, DType::F32);
    let loss = softmax_cross_entropy_with_logits(onehot, h)
        .unwrap()
        .mean(ALL, false);
    let train = match rng.below(4) {
        0 => GradientDescent::new(0.1).minimize(loss, None),
        1 => Momentum::new(0.05, 0.9, rng.below(2) == 1).minimize(loss, None),
        2 => Adam::new(0.01).minimize(loss, None),
        _ => RmsProp::new(0.01).minimize(loss, None),
    }
    .unwrap();
    let xs = rng.value(&[batch, widths[0]]);
    let ys = Value::from(ndarray::Array1::from_shape_fn(batch, |_| {
        rng.below(classes) as i64
    }));
    let sess = Session::with_options(&g, options)
        .with_threads(threads)
        .unwrap();
    sess.run_target(g.global_variables_initializer()).unwrap();
    let summary = sess
        .plan_for_feeds(&[loss], &[feed(x, &xs), feed(labels, &ys)], &[train])
        .unwrap()
        .summary();
    for _ in 0..steps {
        sess.run_with_targets(&[loss], &[feed(x, &xs), feed(labels, &ys)], &[train])
            .unwrap();
    }
    (sess.run(&variables, &[]).unwrap(), summary)
}

fn bits(v: &Value) -> Vec<u64> {
    v.to_f64_vec().iter().map(|x| x.to_bits()).collect()
}

#[test]
fn optimised_parallel_training_is_bit_identical_to_plain_training() {
    let mut with_groups = 0;
    for seed in 0..12 {
        let (fast, summary) = train(seed, CompileOptions::default(), 2, 4);
        let (plain, _) = train(seed, CompileOptions::NONE, 1, 4);
        let (start, _) = train(seed, CompileOptions::NONE, 1, 0);
        assert!(summary.contains("Fused[MatMul, Add"), "{summary}");
        if !summary.contains("concurrent groups: 0") {
            with_groups += 1;
        }
        for (i, ((a, b), s)) in fast.iter().zip(&plain).zip(&start).enumerate() {
            assert_eq!(bits(a), bits(b), "seed {seed}, variable {i}");
            // Training moved every variable, to finite values.
            assert_ne!(bits(a), bits(s), "seed {seed}, variable {i} did not move");
            assert!(a.to_f64_vec().iter().all(|v| v.is_finite()), "seed {seed}");
        }
    }
    // Some of the networks are big enough for steps to run side by side.
    assert!(with_groups > 0);
}
