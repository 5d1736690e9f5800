//! Inter-op parallelism: independent big steps are scheduled side by side and run at the same
//! time; results are the same bits on one thread, on two, and with concurrency off.

use ndarray::Array2;
use rill::compiler::CompileOptions;
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;

fn data(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut s = seed;
    Array2::from_shape_fn((rows, cols), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
    })
}

fn bits(v: &Value) -> Vec<u64> {
    v.to_f64_vec().iter().map(|x| x.to_bits()).collect()
}

/// A two-layer ReLU network's SGD step on a batch of 96: its backward pass has a layer's input
/// gradient and weight gradient, which do not depend on each other.
fn train(sess_of: impl Fn(&Graph) -> Session) -> (Vec<Value>, String) {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(256)], "x");
    let w0 = g.variable(g.constant(data(256, 256, 1)), "w0");
    let w1 = g.variable(g.constant(data(256, 64, 2)), "w1");
    let h = x.matmul(w0).relu();
    let loss = h.matmul(w1).square().mean(ALL, false);
    let step = GradientDescent::new(0.1).minimize(loss, None).unwrap();
    let sess = sess_of(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let xs = Value::from(data(96, 256, 3));
    let summary = sess
        .plan_for_feeds(&[loss], &[feed(x, &xs)], &[step])
        .unwrap()
        .summary();
    let mut losses = Vec::new();
    for _ in 0..3 {
        losses.push(
            sess.run_with_targets(&[loss], &[feed(x, &xs)], &[step])
                .unwrap()
                .remove(0),
        );
    }
    let mut out = sess.run(&[w0, w1], &[]).unwrap();
    out.extend(losses);
    (out, summary)
}

#[test]
fn independent_gradients_run_side_by_side_with_the_same_bits() {
    let (two, summary) = train(|g| Session::new(g).with_threads(2).unwrap());
    let (one, _) = train(|g| Session::new(g).with_threads(1).unwrap());
    let (off, off_summary) = train(|g| {
        Session::with_options(
            g,
            CompileOptions {
                concurrency: false,
                ..Default::default()
            },
        )
        .with_threads(2)
        .unwrap()
    });
    // The input gradient of the hidden layer and the output layer's weight gradient.
    assert!(summary.contains("concurrent groups: 1 ("), "{summary}");
    assert!(
        off_summary.contains("concurrent groups: 0"),
        "{off_summary}"
    );
    for ((a, b), c) in two.iter().zip(&one).zip(&off) {
        assert_eq!(bits(a), bits(b));
        assert_eq!(bits(a), bits(c));
    }
    // Training moved: the losses go down.
    let loss = |i: usize| two[2 + i].to_scalar_f64().unwrap();
    assert!(loss(2) < loss(0), "{} {}", loss(0), loss(2));
}

/// The tutorial's model (2-10-10-1 sigmoid, MSE, SGD) on a batch of 500: on two threads its
/// layers and their input gradients split their rows with the session's companion thread
/// (`Parallel::pair`), and its bias gradients run there beside its weight gradients (pairs of
/// small steps). The same bits as on one thread, step after step.
#[test]
fn small_layers_shared_with_the_companion_keep_the_bits() {
    let train = |threads: usize| {
        let g = Graph::new();
        let x = g.placeholder(DType::F32, [None, Some(2)], "x");
        let y = g.placeholder(DType::F32, [None, Some(1)], "y");
        let mut h = x;
        let mut vars = Vec::new();
        for (i, (a, b)) in [(2, 10), (10, 10), (10, 1)].into_iter().enumerate() {
            let w = g.variable(g.constant(data(a, b, 10 + i as u64) * 10.0), "w");
            let bias = g.variable(
                g.constant(data(1, b, 20 + i as u64).into_shape_with_order(b).unwrap()),
                "b",
            );
            h = (h.matmul(w) + bias).sigmoid();
            vars.extend([w, bias]);
        }
        let loss = (h - y).square().mean(ALL, false);
        let step = GradientDescent::new(0.5).minimize(loss, None).unwrap();
        let sess = Session::new(&g).with_threads(threads).unwrap();
        sess.run_target(g.global_variables_initializer()).unwrap();
        let mut out = Vec::new();
        for s in 0..4 {
            let xs = Value::from(data(500, 2, 30 + s) * 20.0);
            let ys = Value::from(data(500, 1, 40 + s).mapv(|v| f32::from(v > 0.0)));
            if s == 0 {
                // Each layer's bias gradient (a SumTo of 500 rows) pairs with its weight
                // gradient: two steps that do not depend on each other.
                let feeds = [feed(x, &xs), feed(y, &ys)];
                let plan = sess.plan_for_feeds(&[loss], &feeds, &[step]).unwrap();
                let pairs = plan.companion_pairs();
                let with_sums = pairs
                    .iter()
                    .filter(|&&k| {
                        let kinds = [&plan.steps[k], &plan.steps[k + 1]].map(|s| s.op.type_name());
                        kinds.contains(&"SumTo")
                    })
                    .count();
                assert_eq!(with_sums, 3, "{}", plan.summary());
                // The weight gradient (the more work of the two) runs on the calling thread.
                for &k in &pairs {
                    let (a, b) = (&plan.steps[k], &plan.steps[k + 1]);
                    if a.op.type_name() == "SumTo" {
                        assert!(b.leads_pair, "{} should lead {}", b.name, a.name);
                    }
                }
                for &k in &pairs {
                    let (a, b) = (&plan.steps[k], &plan.steps[k + 1]);
                    assert!(!b.inputs.contains(&a.output), "{} feeds {}", a.name, b.name);
                }
            }
            let mut got = sess
                .run_with_targets(&[loss], &[feed(x, &xs), feed(y, &ys)], &[step])
                .unwrap();
            out.push(got.remove(0));
        }
        out.extend(sess.run(&vars, &[]).unwrap());
        out
    };
    let (two, one) = (train(2), train(1));
    for (a, b) in two.iter().zip(&one) {
        assert_eq!(bits(a), bits(b));
    }
    let loss = |i: usize| two[i].to_scalar_f64().unwrap();
    assert!(loss(3) < loss(0), "training moved: {} {}", loss(0), loss(3));
}

/// A step that frees a buffer (`v`, the last reader of `u`) beside the step that takes that
/// buffer next (`w`) would have the second write what the first still reads: they must not
/// pair. The two reductions of `w` may. Runs give one thread's results.
#[test]
fn a_pair_never_writes_the_buffer_its_first_step_frees() {
    let g = Graph::new();
    let y = g.placeholder(DType::F32, [Some(32), Some(32)], "y");
    let u = g.random_uniform(&[32, 32], 0.0, 1.0, DType::F32, Some(1));
    let v = u.sum(ALL, false);
    let w = y * 3.0f32;
    let (w2, w3) = (w.sum(ALL, false), w.max(ALL, false));
    let ys = Value::from(Array2::from_shape_fn((32, 32), |(i, j)| {
        (i * 32 + j) as f32
    }));
    let two = Session::new(&g).with_threads(2).unwrap();
    let plan = two
        .plan_for_feeds(&[v, w2, w3], &[feed(y, &ys)], &[] as &[Tensor])
        .unwrap();
    let pairs = plan.companion_pairs();
    assert!(!pairs.is_empty(), "{}", plan.summary());
    for &k in &pairs {
        let (a, b) = (&plan.steps[k], &plan.steps[k + 1]);
        let freed: Vec<_> = a.frees.iter().map(|&s| plan.buffer_of_slot[s]).collect();
        assert!(
            b.buffer.is_none() || !freed.contains(&b.buffer),
            "{} writes the buffer {} frees",
            b.name,
            a.name
        );
        assert!(!b.inputs.contains(&a.output), "{} feeds {}", a.name, b.name);
    }
    let one = Session::new(&g).with_threads(1).unwrap();
    for _ in 0..5 {
        let a = two.run(&[v, w2, w3], &[feed(y, &ys)]).unwrap();
        let b = one.run(&[v, w2, w3], &[feed(y, &ys)]).unwrap();
        for (x, z) in a.iter().zip(&b).skip(1) {
            assert_eq!(bits(x), bits(z));
        }
    }
}
