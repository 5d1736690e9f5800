//! Memory planning and shape specialisation: slots share buffers, buffers live across runs,
//! variables update in place, plans specialise to fed shapes; none of it changes a bit.

use ndarray::Array2;
use rill::compiler::CompileOptions;
use rill::graph::Shape;
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;

/// Everything off: each step allocates its output, plans are the plain lowering.
fn plain() -> CompileOptions {
    CompileOptions::NONE
}

fn bits(v: &Value) -> Vec<u64> {
    v.to_f64_vec().iter().map(|x| x.to_bits()).collect()
}

fn data(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut s = seed;
    Array2::from_shape_fn((rows, cols), |_| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

#[test]
fn slots_whose_lifetimes_do_not_overlap_share_buffers() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(4)], "x");
    // Fusion off, so each op is a step with its own output.
    let y = x.exp().sin().tanh().square().sqrt().cos();
    let opts = CompileOptions {
        fusion: false,
        ..Default::default()
    };
    let sess = Session::with_options(&g, opts);
    let xs = Value::from(data(3, 4, 1));
    let plan = sess
        .plan_for_feeds(&[y], &[feed(x, &xs)], &[] as &[TensorId])
        .unwrap();
    let occupants: usize = plan.buffers.iter().map(|b| b.occupants).sum();
    // Six steps; the fetched last one has no buffer; the other five alternate between two.
    assert_eq!(occupants, 5, "{}", plan.summary());
    assert_eq!(plan.buffers.len(), 2, "{}", plan.summary());
    assert_eq!(plan.planned_bytes(1), 2 * 3 * 4 * 8);
    assert!(plan
        .summary()
        .contains("buffers: 2 for 5 slots, planned 192 B"));
    let reference = Session::with_options(&g, plain())
        .eval(y, &[feed(x, &xs)])
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            bits(&sess.eval(y, &[feed(x, &xs)]).unwrap()),
            bits(&reference)
        );
    }
    // Buffers stay with the session between runs.
    assert_eq!(sess.buffered_bytes(), 2 * 3 * 4 * 8);
}

#[test]
fn buffers_follow_changing_sizes() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(2)], "x");
    let y = (x.exp() * 2.0).sum(1, false).sigmoid();
    let sess = Session::new(&g);
    let reference = Session::with_options(&g, plain());
    for rows in [5, 1, 9, 0, 3, 9] {
        let xs = Value::from(data(rows, 2, rows as u64));
        let got = sess.eval(y, &[feed(x, &xs)]).unwrap();
        let want = reference.eval(y, &[feed(x, &xs)]).unwrap();
        assert_eq!(got.shape(), &[rows]);
        assert_eq!(bits(&got), bits(&want), "rows {rows}");
    }
}

/// A 3-4-1 tanh network trained by SGD; returns the weights after `steps` steps and the value
/// of `w0` fetched before training.
fn train(options: CompileOptions, steps: usize) -> (Vec<Value>, Value) {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let t = g.placeholder(DType::F64, [None, Some(1)], "t");
    let w0 = g.variable(g.constant(data(3, 4, 7)), "w0");
    let b0 = g.variable(g.constant([0.1f64, -0.2, 0.3, 0.0]), "b0");
    let w1 = g.variable(g.constant(data(4, 1, 8)), "w1");
    let y = (x.matmul(w0) + b0).tanh().matmul(w1);
    let loss = (y - t).square().mean(ALL, false);
    let step = GradientDescent::new(0.1).minimize(loss, None).unwrap();
    let sess = Session::with_options(&g, options);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let before = sess.eval(w0, &[]).unwrap();
    let xs = Value::from(data(6, 3, 9));
    let ts = Value::from(data(6, 1, 10));
    for _ in 0..steps {
        sess.run_targets(&[step], &[feed(x, &xs), feed(t, &ts)])
            .unwrap();
    }
    (sess.run(&[w0, b0, w1], &[]).unwrap(), before)
}

#[test]
fn training_with_planned_memory_and_in_place_updates_matches_plain_training() {
    let (planned, before_planned) = train(CompileOptions::default(), 5);
    let (plain_run, before_plain) = train(plain(), 5);
    for (a, b) in planned.iter().zip(&plain_run) {
        assert_eq!(bits(a), bits(b));
    }
    // The weights moved, and a value fetched before training kept its numbers although the
    // variable it came from was updated in place afterwards.
    assert_ne!(bits(&planned[0]), bits(&before_planned));
    assert_eq!(bits(&before_planned), bits(&before_plain));
    assert_eq!(bits(&before_planned), bits(&Value::from(data(3, 4, 7))));
}

#[test]
fn fetched_values_are_never_overwritten_by_later_runs() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(2)], "x");
    let h = x.exp();
    let y = h.sin();
    let sess = Session::new(&g);
    let a = Value::from(data(2, 2, 1));
    let b = Value::from(data(2, 2, 2));
    let first = sess.run(&[h, y], &[feed(x, &a)]).unwrap();
    let kept = (bits(&first[0]), bits(&first[1]));
    for _ in 0..3 {
        sess.run(&[h, y], &[feed(x, &b)]).unwrap();
    }
    assert_eq!((bits(&first[0]), bits(&first[1])), kept);
}

#[test]
fn plans_are_specialised_to_the_fed_shapes() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let w = g.variable(g.constant(data(3, 2, 3)), "w");
    let b = g.variable(g.constant([0.5f64, -0.5]), "b");
    let loss = (x.matmul(w) + b).sigmoid().mean(ALL, false);
    let grads = rill::compiler::gradients(&[loss], &[w, b], None).unwrap();
    let (dw, db) = (grads[0].unwrap(), grads[1].unwrap());
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let xs = Value::from(data(4, 3, 5));
    let generic = sess
        .plan_for(&[dw, db], &[x.id()], &[] as &[TensorId])
        .unwrap();
    let special = sess
        .plan_for_feeds(&[dw, db], &[feed(x, &xs)], &[] as &[TensorId])
        .unwrap();
    let shape_ops = |p: &rill::compiler::Plan| {
        p.steps
            .iter()
            .filter(|s| s.fused.is_none() && s.op.type_name() == "Shape")
            .count()
    };
    // The batch dimension is known: the gradients' run-time shapes fold away.
    assert!(shape_ops(&generic) > 0, "{}", generic.summary());
    assert_eq!(shape_ops(&special), 0, "{}", special.summary());
    assert!(special.steps.len() < generic.steps.len());
    assert_eq!(special.feeds[0].planned, Shape::from([4usize, 3]));
    assert_eq!(special.feeds[0].shape, Shape::from([None, Some(3)]));
    assert!(special
        .steps
        .iter()
        .all(|s| s.shape.to_known().is_some() || s.op.type_name() == "NoOp"));
    // Each batch size gets its own plan, past the limit one shared plan; all agree with the
    // unspecialised, unoptimised plan.
    let reference = Session::with_options(&g, plain());
    reference
        .run_target(g.global_variables_initializer())
        .unwrap();
    for rows in [4, 1, 7, 2, 3, 5, 6, 8, 9, 10, 11, 12, 4, 1] {
        let xs = Value::from(data(rows, 3, rows as u64));
        let got = sess.run(&[dw, db], &[feed(x, &xs)]).unwrap();
        let want = reference.run(&[dw, db], &[feed(x, &xs)]).unwrap();
        for (a, b) in got.iter().zip(&want) {
            let close = a
                .to_f64_vec()
                .iter()
                .zip(b.to_f64_vec())
                .all(|(p, q)| (p - q).abs() <= 1e-12 * (1.0 + q.abs()));
            assert!(close, "rows {rows}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn a_fed_shape_the_placeholder_rejects_is_still_the_usual_error() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let y = x.exp();
    let sess = Session::new(&g);
    let bad = Value::from(data(2, 4, 1));
    let err = sess.eval(y, &[feed(x, &bad)]).unwrap_err().to_string();
    assert!(err.contains("Cannot feed value of shape (2, 4)"), "{err}");
}

#[test]
fn rejected_feeds_do_not_use_up_the_specialisations() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let y = x.exp().sum(1, false);
    let sess = Session::new(&g);
    for cols in 4..16 {
        let bad = Value::from(data(2, cols, 1));
        assert!(sess.eval(y, &[feed(x, &bad)]).is_err());
    }
    let good = Value::from(data(5, 3, 2));
    let plan = sess
        .plan_for_feeds(&[y], &[feed(x, &good)], &[] as &[TensorId])
        .unwrap();
    assert_eq!(plan.feeds[0].planned, Shape::from([5usize, 3]));
    assert_eq!(sess.eval(y, &[feed(x, &good)]).unwrap().shape(), &[5]);
}

#[test]
fn a_product_with_more_elements_than_memory_can_hold_is_an_error() {
    // [2^32, 0] x [0, 2^32]: valid empty operands whose product would have 2^64 elements.
    let g = Graph::new();
    let a = g.placeholder(DType::F32, [None, None], "a");
    let b = g.placeholder(DType::F32, [None, None], "b");
    let c = a.matmul(b);
    let sess = Session::new(&g);
    let av = Value::from(ndarray::Array2::<f32>::zeros((1 << 32, 0)));
    let bv = Value::from(ndarray::Array2::<f32>::zeros((0, 1 << 32)));
    let err = sess
        .eval(c, &[feed(a, &av), feed(b, &bv)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("too many elements"), "{err}");
    assert!(err.contains("MatMul"), "{err}");
}

#[test]
fn elementwise_steps_written_over_their_buffers_give_the_plain_bits() {
    // Fusion off, so each op is a step that (from its second run on) writes straight over the
    // storage its buffer's last occupant left, when types and shapes agree.
    let unfused = CompileOptions {
        fusion: false,
        ..Default::default()
    };
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let r = g.placeholder(DType::F64, [Some(3)], "r");
    let x32 = x.cast(DType::F32);
    // Same shapes, a scalar on either side, a row that broadcasts (the general kernel), unary.
    let a = ((2.0f64 - x) * x).exp() / (x + 1.5) - x.sigmoid();
    let b = (a * r).maximum(x * 0.5).tanh() + 1.0;
    let c = ((x32 * 3.0f32).relu() - 0.25f32).exp().cast(DType::F64);
    let y = (b + c).sum(ALL, false);
    let sess = Session::with_options(&g, unfused);
    let reference = Session::with_options(&g, plain());
    let rs = Value::from(ndarray::arr1(&[0.5f64, -1.0, 2.0]));
    // Repeated shapes (storage reused in place), then more shapes than plans specialise to, so
    // one shared plan's buffers meet values of other shapes and fall back, then in place again.
    let rows = [4, 4, 2, 4, 1, 5, 6, 7, 8, 9, 10, 11, 12, 12, 3, 3, 12];
    for (i, &n) in rows.iter().enumerate() {
        // Every third run feeds x in column-major order: steps reading it take the general
        // kernels, the rest still write in place.
        let xs = if i % 3 == 2 {
            let x = Value::from(data(3, n, i as u64).reversed_axes());
            assert!(
                x.view::<f64>().unwrap().as_slice().is_none(),
                "not in standard order"
            );
            x
        } else {
            Value::from(data(n, 3, i as u64))
        };
        let feeds = [feed(x, &xs), feed(r, &rs)];
        let got = sess.run(&[y, a], &feeds).unwrap();
        let want = reference.run(&[y, a], &feeds).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.shape(), w.shape(), "run {i}");
            assert_eq!(bits(g), bits(w), "run {i}, {n} rows");
        }
    }
}

#[test]
fn a_step_that_hands_its_input_on_shares_its_buffer_until_both_are_dead() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let v = g.variable(g.constant(data(4, 3, 3)), "v");
    let h = x.exp();
    let passed = h.identity();
    // These steps would take `h`'s buffer were it free once `h` or `passed` is dead.
    let other = x.sin().cos().tanh().square();
    // A plain assign of the shared value while both slots live on: the variable gets a copy,
    // the buffer keeps its own for the adds.
    let keep = v.assign(passed);
    let y = (keep * other + passed).tanh() + h;
    let opts = CompileOptions {
        constant_folding: false,
        simplify: false,
        fusion: false,
        ..Default::default()
    };
    let sess = Session::with_options(&g, opts);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let xs = Value::from(data(4, 3, 4));
    let plan = sess.plan_for_feeds(&[y], &[feed(x, &xs)], &[keep]).unwrap();
    // The step computing a tensor (named `Node:0`).
    let step_of = |t: Tensor| {
        let name = t.name();
        let node = name.trim_end_matches(":0");
        plan.steps.iter().position(|s| s.name == node).unwrap()
    };
    let (first, last) = (step_of(h), step_of(y));
    let (from, to) = (plan.steps[first].output, plan.steps[step_of(passed)].output);
    let buffer = plan.buffer_of_slot[from];
    assert!(buffer.is_some(), "{}", plan.summary());
    assert_eq!(
        plan.buffer_of_slot[to], buffer,
        "the identity shares exp's buffer"
    );
    // No step writes that buffer while either slot lives (up to `y`, which reads `h`).
    for step in &plan.steps[first + 1..last] {
        assert_ne!(step.buffer, buffer, "{} takes the shared buffer", step.name);
    }
    let plain_sess = Session::with_options(&g, plain());
    plain_sess
        .run_target(g.global_variables_initializer())
        .unwrap();
    for seed in [4, 5, 6] {
        let xs = Value::from(data(4, 3, seed));
        let got = sess
            .run_with_targets(&[y], &[feed(x, &xs)], &[keep])
            .unwrap();
        let want = plain_sess
            .run_with_targets(&[y], &[feed(x, &xs)], &[keep])
            .unwrap();
        assert_eq!(bits(&got[0]), bits(&want[0]), "seed {seed}");
        let (kept, plain_kept) = (sess.eval(v, &[]).unwrap(), plain_sess.eval(v, &[]).unwrap());
        assert_eq!(bits(&kept), bits(&plain_kept), "seed {seed}");
        assert_eq!(bits(&kept), bits(&sess.eval(h, &[feed(x, &xs)]).unwrap()));
    }
}
