//! W2, an MNIST-sized MLP (784-512-512-10, ReLU, softmax cross-entropy, SGD 0.01, batch 128,
//! random data as w2_tf1.py: 12,800 samples): training steps/s, inference samples/s at batch
//! 1024, and the heap peak of steady-state training against the minimum it needs.

use crate::{heap_now, heap_peak, median, quick, reset_heap_peak, Lcg, Report};
use ndarray::{s, Array1, Array2};
use rill::nn::losses::softmax_cross_entropy_with_logits;
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;
use std::time::Instant;

const BATCH: usize = 128;
const STEPS: usize = 100;
const LAYERS: [(usize, usize); 3] = [(784, 512), (512, 512), (512, 10)];

pub fn run(report: &mut Report) {
    let reps = if quick() { 2 } else { 7 };
    // The data and the fed batches are the caller's: allocated before the memory baseline.
    let mut r = Lcg::new(0);
    let x_all = Array2::from_shape_fn((BATCH * STEPS, 784), |_| r.normal());
    let y_all = Array1::from_shape_fn(BATCH * STEPS, |_| r.below(10) as i64);
    let batches: Vec<(Value, Value)> = (0..STEPS)
        .map(|i| {
            let rows = i * BATCH..(i + 1) * BATCH;
            (
                Value::from(x_all.slice(s![rows.clone(), ..]).to_owned()),
                Value::from(y_all.slice(s![rows]).to_owned()),
            )
        })
        .collect();
    let infer: Vec<Value> = (0..10)
        .map(|i| Value::from(x_all.slice(s![i * 1024..(i + 1) * 1024, ..]).to_owned()))
        .collect();
    let baseline = heap_now();

    let g = Graph::new();
    g.set_random_seed(0);
    let x = g.placeholder(DType::F32, [None, Some(784)], "x");
    let y = g.placeholder(DType::I64, [None], "y");
    let mut h = x;
    for (i, &(a, b)) in LAYERS.iter().enumerate() {
        let w = g.variable_init(
            &[a, b],
            DType::F32,
            Initializer::GlorotUniform { seed: None },
            &format!("W{i}"),
        );
        let bb = g.variable_init(&[b], DType::F32, Initializer::Zeros, &format!("b{i}"));
        h = h.matmul(w) + bb;
        if i < 2 {
            h = h.relu();
        }
    }
    let logits = h;
    let labels = y.one_hot(10, 1.0, 0.0, DType::F32);
    let loss = softmax_cross_entropy_with_logits(labels, logits)
        .unwrap()
        .mean(ALL, false);
    let train = GradientDescent::new(0.01).minimize(loss, None).unwrap();
    let sess = Session::new(&g).with_threads(2).unwrap();
    sess.run_target(g.global_variables_initializer()).unwrap();
    let step = |(xb, yb): &(Value, Value)| {
        sess.run_targets(&[train], &[feed(x, xb), feed(y, yb)])
            .unwrap()
    };
    let batch_loss = |(xb, yb): &(Value, Value)| {
        sess.eval(loss, &[feed(x, xb), feed(y, yb)])
            .unwrap()
            .to_scalar_f64()
            .unwrap()
    };
    if std::env::var("RILL_BENCH_VERBOSE").is_ok() {
        let (xb, yb) = &batches[0];
        let plan = sess
            .plan_for_feeds(&[] as &[TensorId], &[feed(x, xb), feed(y, yb)], &[train])
            .unwrap();
        crate::print_plan("W2 training", &plan, BATCH);
    }
    let l0 = batch_loss(&batches[0]);
    batches[..20].iter().for_each(step);

    // Training: steps/s over the 100 batches, median of the repeats.
    let start = heap_now();
    reset_heap_peak();
    let mut rates = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        batches.iter().for_each(step);
        rates.push(STEPS as f64 / t.elapsed().as_secs_f64());
    }
    let peak = heap_peak();
    if std::env::var("RILL_BENCH_VERBOSE").is_ok() {
        eprintln!("buffered bytes after training: {}", sess.buffered_bytes());
    }
    let l1 = batch_loss(&batches[0]);
    println!("# w2 loss on batch 0: {l0:.4} -> {l1:.4}");
    // Traced after the measured loss: the traced steps train too.
    let trace_steps = |sess: &Session, what: &str| {
        crate::trace_runs(what, 30, |i, options, meta| {
            let (xb, yb) = &batches[20 + i];
            let feeds = [feed(x, xb), feed(y, yb)];
            sess.run_with_options(&[] as &[TensorId], &feeds, &[train], options, meta)
        });
    };
    if crate::tracing() {
        trace_steps(&sess, "W2 training step, 2 threads");
    }
    let rate_two = median(rates);
    report.figure("w2.train/rill_session", rate_two, "steps/s");

    // Scaling: the same training on a session with one thread (the one above has two).
    let one = Session::new(&g).with_threads(1).unwrap();
    one.run_target(g.global_variables_initializer()).unwrap();
    let mut rates_one = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for (xb, yb) in &batches {
            one.run_targets(&[train], &[feed(x, xb), feed(y, yb)])
                .unwrap();
        }
        rates_one.push(STEPS as f64 / t.elapsed().as_secs_f64());
    }
    if crate::tracing() {
        trace_steps(&one, "W2 training step, 1 thread");
    }
    report.figure(
        "w2.train_1thread/rill_session",
        median(rates_one.clone()),
        "steps/s",
    );
    report.figure(
        "w2.scaling_2_over_1/rill_session",
        rate_two / median(rates_one),
        "x",
    );

    // Inference: the logits of 10 batches of 1024, samples/s.
    infer.iter().for_each(|b| {
        sess.eval(logits, &[feed(x, b)]).unwrap();
    });
    let mut rates = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for b in &infer {
            sess.eval(logits, &[feed(x, b)]).unwrap();
        }
        rates.push(10_240.0 / t.elapsed().as_secs_f64());
    }
    report.figure("w2.infer/rill_session", median(rates), "samples/s");
    if crate::tracing() {
        crate::trace_runs(
            "W2 inference at batch 1024, 2 threads",
            30,
            |i, options, meta| {
                let feeds = [feed(x, &infer[i % infer.len()])];
                sess.run_with_options(&[logits], &feeds, &[] as &[TensorId], options, meta)
            },
        );
    }

    // Memory: the budget is what training can't do without, in f32s: parameters, their
    // gradients, the optimizer's state (none for plain SGD) and one batch's activations
    // (each layer's pre- and post-activation, the logits' log-softmax and the one-hot
    // labels; the fed batch itself is the caller's and is counted on neither side).
    let params: usize = LAYERS.iter().map(|(a, b)| a * b + b).sum();
    let hidden: usize = LAYERS[..2].iter().map(|&(_, b)| 2 * BATCH * b).sum();
    let activations = hidden + 3 * BATCH * 10;
    let budget = 4 * (2 * params + activations);
    let used = peak - baseline;
    report.figure("w2.mem_peak/rill_session", used as f64, "bytes");
    report.figure(
        "w2.mem_step_transient/rill_session",
        (peak - start) as f64,
        "bytes",
    );
    report.figure("w2.mem_budget/minimum", budget as f64, "bytes");
    report.figure(
        "w2.mem_over_budget/rill_session",
        used as f64 / budget as f64,
        "x",
    );
}
