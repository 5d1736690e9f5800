//! The elementwise fusion pass: it rewrites what it should (asserted on the plan), and fused
//! plans compute bit-for-bit what unfused plans compute, on hand-made and random graphs.

#[path = "common/lcg.rs"]
mod lcg;

use lcg::Lcg;
use ndarray::{ArrayD, IxDyn};
use rill::compiler::CompileOptions;
use rill::prelude::*;

fn run_both<'g>(
    g: &'g Graph,
    fetch: Tensor<'g>,
    feeds: &[Feed<'_>],
) -> (Value, Value, usize, usize) {
    let fused = Session::new(g);
    let plain = Session::with_options(
        g,
        CompileOptions {
            fusion: false,
            ..Default::default()
        },
    );
    let ids: Vec<TensorId> = feeds.iter().map(|f| f.tensor).collect();
    let steps_fused = fused
        .plan_for(&[fetch], &ids, &[] as &[TensorId])
        .unwrap()
        .steps
        .len();
    let steps_plain = plain
        .plan_for(&[fetch], &ids, &[] as &[TensorId])
        .unwrap()
        .steps
        .len();
    (
        fused.eval(fetch, feeds).unwrap(),
        plain.eval(fetch, feeds).unwrap(),
        steps_fused,
        steps_plain,
    )
}

#[test]
fn a_chain_with_broadcasting_becomes_one_step() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let b = g.constant([0.5f32, -1.0, 2.0]);
    let s = g.constant([[2.0f32], [3.0]]);
    let y = ((x + b).sigmoid() * s - 1.0).square();
    let xv = Value::from(ndarray::array![[0.1f32, 0.2, 0.3], [-1.0, 0.0, 4.0]]);
    let (f, p, nf, np) = run_both(&g, y, &[feed(x, &xv)]);
    assert_eq!(f, p, "fusion changed the result");
    assert!(nf < np, "expected fewer steps after fusion: {nf} vs {np}");
    // The plan a run of these feed shapes executes (a sigmoid joins a group only where its
    // shape is known to be the group's: see the next test).
    let sess = Session::new(&g);
    let fused = fused_labels(&sess, &[y], &[feed(x, &xv)]);
    assert_eq!(
        fused,
        vec!["Fused[Add, Sigmoid, Mul, Sub, Square]".to_string()]
    );
}

#[test]
fn a_sigmoid_smaller_than_its_group_stays_out_of_it() {
    // TF computes a tensor's last `len % 8` sigmoids in another form; fused into a group of
    // a bigger shape, the sigmoid of a [3] operand would sit at other positions.
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [4, 3], "x");
    let b = g.placeholder(DType::F32, [3], "b");
    let y = (b.sigmoid() + x) * 2.0;
    let xv = Value::from(ndarray::Array2::<f32>::from_elem((4, 3), 0.25));
    let bv = Value::from(ndarray::array![-3.3f32, 0.7, 5.1]);
    let sess = Session::new(&g);
    let fused = fused_labels(&sess, &[y], &[feed(x, &xv), feed(b, &bv)]);
    assert_eq!(fused, vec!["Fused[Add, Mul]".to_string()]);
    let (f, p, _, _) = run_both(&g, y, &[feed(x, &xv), feed(b, &bv)]);
    assert_eq!(f, p, "fusion changed the result");
}

#[test]
fn intermediates_that_are_fetched_or_shared_are_not_fused_away() {
    let g = Graph::new();
    let x = g.constant([1.0f64, 2.0, 3.0]);
    let a = x.exp();
    let b = a + 1.0;
    let c = a * 2.0; // `a` has two readers: it must stay a tensor
    let sess = Session::new(&g);
    let out = sess.run(&[b, c, a], &[]).unwrap();
    let e: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|v| v.exp()).collect();
    assert_eq!(out[2].to_f64_vec(), e);
    assert_eq!(
        out[0].to_f64_vec(),
        e.iter().map(|v| v + 1.0).collect::<Vec<_>>()
    );
    assert_eq!(
        out[1].to_f64_vec(),
        e.iter().map(|v| v * 2.0).collect::<Vec<_>>()
    );
}

#[test]
fn random_elementwise_graphs_give_identical_bits_fused_and_unfused() {
    let mut rng = Lcg(42);
    let shapes: [&[usize]; 4] = [&[4, 3], &[3], &[4, 1], &[]];
    for case in 0..60 {
        let g = Graph::new();
        let mut pool: Vec<Tensor<'_>> = Vec::new();
        let mut feeds_v = Vec::new();
        for (i, sh) in shapes.iter().enumerate() {
            let n: usize = sh.iter().product();
            let data: Vec<f32> = (0..n).map(|_| rng.float()).collect();
            feeds_v.push(Value::from(
                ArrayD::from_shape_vec(IxDyn(sh), data).unwrap(),
            ));
            pool.push(g.placeholder(DType::F32, sh.to_vec(), &format!("p{i}")));
        }
        for _ in 0..(4 + rng.below(12)) {
            let a = pool[rng.below(pool.len())];
            let b = pool[rng.below(pool.len())];
            let t = match rng.below(12) {
                0 => a + b,
                1 => a - b,
                2 => a * b,
                3 => a / (b.square() + 1.0),
                4 => a.maximum(b),
                5 => a.minimum(b),
                6 => a.sigmoid(),
                7 => a.tanh(),
                8 => a.exp().log(),
                // Comparisons, their masks and selects fuse too.
                9 => g.select(a.greater(b), a, b * 0.5),
                10 => a * b.less_equal(a).cast(DType::F32),
                _ => (a.abs() + 0.5).sqrt() * b.relu(),
            };
            pool.push(t);
        }
        let y = *pool.last().unwrap();
        let feeds: Vec<Feed<'_>> = pool[..shapes.len()]
            .iter()
            .zip(&feeds_v)
            .map(|(p, v)| feed(*p, v))
            .collect();
        let (f, p, nf, np) = run_both(&g, y, &feeds);
        assert!(nf <= np, "case {case}");
        let (fb, pb): (Vec<u32>, Vec<u32>) = match (&f, &p) {
            (Value::F32(a), Value::F32(b)) => (
                a.iter().map(|v| v.to_bits()).collect(),
                b.iter().map(|v| v.to_bits()).collect(),
            ),
            _ => panic!("case {case}: dtype"),
        };
        assert_eq!(f.shape(), p.shape(), "case {case}");
        assert_eq!(fb, pb, "case {case}: fused {f:?} vs unfused {p:?}");
    }
}

#[test]
fn the_compiled_plan_shows_its_fused_groups() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let y = (x * 2.0 + 1.0).tanh().named("y");
    let sess = Session::new(&g);
    let plan = sess.plan_for(&[y], &[x.id()], &[] as &[TensorId]).unwrap();
    let dot = plan.to_dot();
    assert!(dot.contains("Fused[Mul, Add, Tanh]"), "{dot}");
    assert!(dot.contains("(Mul, Add, y)"), "{dot}");
    assert!(dot.contains("feed"), "{dot}");
    let summary = plan.summary();
    assert!(
        summary.contains("fused groups: 1 holding 3 nodes"),
        "{summary}"
    );
}

#[test]
fn big_kernels_give_the_same_bits_on_one_and_two_threads() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(320)], "x");
    let w = g.placeholder(DType::F32, [320usize, 320], "w");
    let y = ((x.matmul(w) + 0.5).sigmoid() * x - 1.0).tanh();
    let mut rng = Lcg(7);
    let xv = Value::from(
        ArrayD::from_shape_vec(
            IxDyn(&[300, 320]),
            (0..300 * 320).map(|_| rng.float()).collect(),
        )
        .unwrap(),
    );
    let wv = Value::from(
        ArrayD::from_shape_vec(
            IxDyn(&[320, 320]),
            (0..320 * 320).map(|_| rng.float() * 0.1).collect(),
        )
        .unwrap(),
    );
    let one = Session::new(&g).with_threads(1).unwrap();
    let two = Session::new(&g).with_threads(2).unwrap();
    let a = one.eval(y, &[feed(x, &xv), feed(w, &wv)]).unwrap();
    let b = two.eval(y, &[feed(x, &xv), feed(w, &wv)]).unwrap();
    assert_eq!(a.shape(), &[300, 320]);
    assert!(a
        .to_f64_vec()
        .iter()
        .zip(b.to_f64_vec())
        .all(|(p, q)| p.to_bits() == q.to_bits()));
}

/// The labels of a plan's fused steps, for the plan a run with these feeds uses.
fn fused_labels(sess: &Session, fetches: &[Tensor<'_>], feeds: &[Feed<'_>]) -> Vec<String> {
    sess.plan_for_feeds(fetches, feeds, &[] as &[TensorId])
        .unwrap()
        .steps
        .iter()
        .filter_map(|s| s.fused.as_ref().map(|p| p.label()))
        .collect()
}

fn same_bits(a: &Value, b: &Value) -> bool {
    a.shape() == b.shape()
        && a.to_f64_vec()
            .iter()
            .zip(b.to_f64_vec())
            .all(|(p, q)| p.to_bits() == q.to_bits())
}

#[test]
fn matmul_bias_activation_becomes_one_kernel() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(5)], "x");
    let w = g.placeholder(DType::F32, [4usize, 5], "w");
    let b = g.placeholder(DType::F32, [4usize], "b");
    // W is stored transposed: the product reads it through strides.
    let y = (x.matmul_t(w, false, true) + b).relu();
    let mut rng = Lcg(11);
    let (xv, wv, bv) = (rng.value(&[6, 5]), rng.value(&[4, 5]), rng.value(&[4]));
    let feeds = [feed(x, &xv), feed(w, &wv), feed(b, &bv)];
    let sess = Session::new(&g);
    assert_eq!(
        fused_labels(&sess, &[y], &feeds),
        vec!["Fused[MatMul, Add, Relu]"]
    );
    let (f, p, nf, _) = run_both(&g, y, &feeds);
    assert!(same_bits(&f, &p), "{f:?} vs {p:?}");
    assert!(nf >= 1);
    assert!(f.to_f64_vec().iter().any(|&v| v > 0.0) && f.to_f64_vec().contains(&0.0));
}

#[test]
fn the_relu_gradient_and_the_learning_rate_fuse_into_the_matmuls() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let w0 = g.placeholder(DType::F64, [3usize, 4], "w0");
    let w1 = g.placeholder(DType::F64, [4usize, 2], "w1");
    let h = x.matmul(w0).relu();
    let loss = h.matmul(w1).square().sum(ALL, false);
    let grads = rill::compiler::gradients(&[loss], &[w0, w1], None).unwrap();
    let (d0, d1) = (grads[0].unwrap() * 0.1, grads[1].unwrap());
    let mut rng = Lcg(5);
    let (xv, w0v, w1v) = (rng.value(&[7, 3]), rng.value(&[3, 4]), rng.value(&[4, 2]));
    let (xv, w0v, w1v) = (
        xv.cast(DType::F64),
        w0v.cast(DType::F64),
        w1v.cast(DType::F64),
    );
    let feeds = [feed(x, &xv), feed(w0, &w0v), feed(w1, &w1v)];
    let sess = Session::new(&g);
    let labels = fused_labels(&sess, &[d0, d1], &feeds);
    assert!(
        labels.contains(&"Fused[MatMul, Relu]".to_string()),
        "{labels:?}"
    );
    assert!(
        labels.contains(&"Fused[MatMul, Greater, Cast, Mul]".to_string()),
        "{labels:?}"
    );
    assert!(
        labels.contains(&"Fused[MatMul, Mul]".to_string()),
        "{labels:?}"
    );
    let plain = Session::with_options(
        &g,
        CompileOptions {
            fusion: false,
            ..Default::default()
        },
    );
    let a = sess.run(&[d0, d1], &feeds).unwrap();
    let b = plain.run(&[d0, d1], &feeds).unwrap();
    assert!(same_bits(&a[0], &b[0]) && same_bits(&a[1], &b[1]));
}

#[test]
fn random_epilogues_of_matmuls_give_identical_bits() {
    let mut rng = Lcg(99);
    for case in 0..40 {
        let g = Graph::new();
        let x = g.placeholder(DType::F32, [None, Some(6)], "x");
        let w = g.placeholder(DType::F32, [6usize, 5], "w");
        let r = g.placeholder(DType::F32, [5usize], "r");
        let c = g.placeholder(DType::F32, [None, Some(1)], "c");
        let (ta, tb) = (rng.below(2) == 1, rng.below(2) == 1);
        let xs: &[usize] = if ta { &[6, 8] } else { &[8, 6] };
        let ws: &[usize] = if tb { &[5, 6] } else { &[6, 5] };
        let x = if ta {
            g.placeholder(DType::F32, [Some(6), None], "xt")
        } else {
            x
        };
        let w = if tb {
            g.placeholder(DType::F32, [5usize, 6], "wt")
        } else {
            w
        };
        let mut t = x.matmul_t(w, ta, tb);
        for _ in 0..(1 + rng.below(4)) {
            t = match rng.below(6) {
                0 => t + r,
                1 => t * c,
                2 => t.sigmoid(),
                3 => g.select(t.greater(r), t, t * 0.1),
                4 => t * t.greater(0.0).cast(DType::F32),
                _ => (t - c).tanh(),
            };
        }
        let (xv, wv, rv, cv) = (
            rng.value(xs),
            rng.value(ws),
            rng.value(&[5]),
            rng.value(&[8, 1]),
        );
        let feeds = [feed(x, &xv), feed(w, &wv), feed(r, &rv), feed(c, &cv)];
        let sess = Session::new(&g);
        let labels = fused_labels(&sess, &[t], &feeds);
        assert!(
            labels.iter().any(|l| l.starts_with("Fused[MatMul")),
            "case {case}: {labels:?}"
        );
        let (f, p, _, _) = run_both(&g, t, &feeds);
        assert!(same_bits(&f, &p), "case {case}: {f:?} vs {p:?}");
    }
}

#[test]
fn reductions_take_the_elementwise_ops_they_consume() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(40)], "x");
    let t = g.placeholder(DType::F32, [None, Some(40)], "t");
    let b = g.placeholder(DType::F32, [40usize], "b");
    let d = (x - t + b).square();
    let fetches = [
        d.mean(ALL, false),
        (x * t).sigmoid().sum(0, false),
        (x - b).abs().max(1, true),
        (t + 1.0).exp().min(ALL, true),
    ];
    let mut rng = Lcg(21);
    let (xv, tv, bv) = (rng.value(&[30, 40]), rng.value(&[30, 40]), rng.value(&[40]));
    let feeds = [feed(x, &xv), feed(t, &tv), feed(b, &bv)];
    let sess = Session::new(&g);
    let labels = fused_labels(&sess, &fetches, &feeds);
    for want in [
        "Fused[Sub, Add, Square, Mean]",
        "Fused[Mul, Sigmoid, Sum]",
        "Fused[Sub, Abs, Max]",
        "Fused[Add, Exp, Min]",
    ] {
        assert!(
            labels.contains(&want.to_string()),
            "{want} not in {labels:?}"
        );
    }
    let plain = Session::with_options(
        &g,
        CompileOptions {
            fusion: false,
            ..Default::default()
        },
    );
    let a = sess.run(&fetches, &feeds).unwrap();
    let p = plain.run(&fetches, &feeds).unwrap();
    for (a, p) in a.iter().zip(&p) {
        assert!(same_bits(a, p), "{a:?} vs {p:?}");
    }
    assert_eq!(a[1].shape(), &[40]);
    assert_eq!(a[2].shape(), &[30, 1]);
    assert_eq!(a[3].shape(), &[1, 1]);
}

#[test]
fn a_fused_reduction_of_a_mask_alone_has_the_reductions_float_type() {
    // Keras's accuracy: the mean of a cast of an integer comparison; the fused step's only
    // input is the bool mask.
    let g = Graph::new();
    let a = g.placeholder(DType::F64, [None, Some(3)], "a");
    let b = g.placeholder(DType::F64, [None, Some(3)], "b");
    let hits = a.argmax(1).equal(b.argmax(1)).cast(DType::F64);
    let acc = hits.mean(ALL, false);
    // 300 rows (fusing pays from 256 elements on): the predicted class is row % 3, the true one
    // row % 2 for the first 200 rows and row % 3 after, so 200 / 3 + 100 rows are hits.
    let av = Value::from(ndarray::Array2::from_shape_fn((300, 3), |(r, c)| {
        f64::from(u8::from(c == r % 3))
    }));
    let bv = Value::from(ndarray::Array2::from_shape_fn((300, 3), |(r, c)| {
        f64::from(u8::from(c == if r < 200 { r % 2 } else { r % 3 }))
    }));
    let feeds = [feed(a, &av), feed(b, &bv)];
    let sess = Session::new(&g);
    let labels = fused_labels(&sess, &[acc], &feeds);
    assert!(
        labels.contains(&"Fused[Cast, Mean]".to_string()),
        "{labels:?}"
    );
    let got = sess.eval(acc, &feeds).unwrap().to_scalar_f64().unwrap();
    let hits = (0..200).filter(|r| r % 3 == r % 2).count() + 100;
    assert_eq!(got, hits as f64 / 300.0);
}

#[test]
fn a_long_chain_needs_a_few_registers() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [8usize], "x");
    let mut y = x;
    for _ in 0..200 {
        y = y * 1.0001 + 0.0001;
    }
    let xv = Value::from(ndarray::Array1::<f32>::ones(8));
    let sess = Session::new(&g);
    let plan = sess
        .plan_for_feeds(&[y], &[feed(x, &xv)], &[] as &[TensorId])
        .unwrap();
    let program = plan.steps.iter().find_map(|s| s.fused.clone()).unwrap();
    assert_eq!(program.instrs.len(), 400);
    // The inputs (x and the two constants) and two registers the chain alternates between.
    assert_eq!(program.registers, program.inputs + 2, "{program:?}");
    let (f, p, _, _) = run_both(&g, y, &[feed(x, &xv)]);
    assert!(same_bits(&f, &p));
    let mut want = 1.0f32;
    for _ in 0..200 {
        want = want * 1.0001 + 0.0001;
    }
    assert_eq!(f.to_f64_vec()[0], f64::from(want));
}

#[test]
fn epilogues_of_split_products_give_the_bits_of_the_unfused_graph_on_any_thread_count() {
    // Wide outputs split into column stripes on two threads, and outputs wider than one column
    // block of the product, run the epilogue on each row's piece of a block; tall ones split by
    // rows run it on whole rows. Every way must give the unfused graph's bits.
    let mut rng = Lcg(7);
    for &(m, k, n) in &[
        (40, 300, 1100),
        (64, 200, 520),
        (300, 60, 40),
        (7, 400, 1500),
    ] {
        let g = Graph::new();
        let x = g.placeholder(DType::F32, [None, Some(k)], "x");
        let w = g.placeholder(DType::F32, [k, n], "w");
        let b = g.placeholder(DType::F32, [n], "b");
        let t = (x.matmul(w) + b).relu() * 0.5;
        let (xv, wv, bv) = (rng.value(&[m, k]), rng.value(&[k, n]), rng.value(&[n]));
        let feeds = [feed(x, &xv), feed(w, &wv), feed(b, &bv)];
        let plain = Session::with_options(
            &g,
            CompileOptions {
                fusion: false,
                ..Default::default()
            },
        )
        .with_threads(1)
        .unwrap()
        .eval(t, &feeds)
        .unwrap();
        for threads in [1, 2] {
            let sess = Session::new(&g).with_threads(threads).unwrap();
            let labels = fused_labels(&sess, &[t], &feeds);
            assert!(
                labels.contains(&"Fused[MatMul, Add, Relu, Mul]".to_string()),
                "{m}x{k}x{n}: {labels:?}"
            );
            let fused = sess.eval(t, &feeds).unwrap();
            assert!(
                same_bits(&fused, &plain),
                "{m}x{k}x{n} on {threads} threads differs from the unfused graph"
            );
        }
    }
}
