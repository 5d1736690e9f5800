//! Forward tests of variables and their initializers, assign / assign_add / assign_sub, group,
//! control_dependencies, identity, stop_gradient and check_numerics.

use crate::common::*;
use ndarray::array;
use rill::prelude::*;

forward_tests![
    variable_holds_its_initial_value,
    uninitialized_variable_is_an_error,
    initializers_constant_kinds,
    glorot_and_he_uniform_bounds,
    normal_initializers,
    assign_returns_the_new_value,
    a_big_in_place_update_splits_over_the_pool_with_the_same_bits,
    assign_int_and_errors,
    group_runs_its_inputs,
    control_dependencies_order_effects,
    identity_and_stop_gradient_forward,
    check_numerics_passes_and_fails,
];

#[test]
fn variable_holds_its_initial_value() {
    let g = Graph::new();
    let w = g.variable(g.constant([[1.0f32, 2.0], [3.0, 4.0]]), "w");
    let b = g.variable(g.constant(0.5f64), "b");
    let e = g.variable(g.zeros(&[2, 0, 5], DType::F32), "e");
    assert_eq!(w.shape().to_string(), "[2,2]");
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    let out = run(&sess, &[w, b, e, w * 2.0f32], &[]);
    assert_f32(&out[0], &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    assert_f64(&out[1], &[], &[0.5]);
    assert_f32(&out[2], &[2, 0, 5], &[]);
    assert_f32(&out[3], &[2, 2], &[2.0, 4.0, 6.0, 8.0]);
    assert!(sess.is_initialized(w));
    // Another session over the same graph has its own (uninitialised) variables.
    assert!(!Session::new(&g).is_initialized(w));
}

#[test]
fn uninitialized_variable_is_an_error() {
    let g = Graph::new();
    let w = g.variable(g.constant([1.0f32]), "w");
    let v = g.variable(g.constant([2.0f32]), "v");
    let sess = Session::new(&g);
    assert_err_contains(
        try_eval_in(&sess, w, &[]),
        "Attempting to use uninitialized value w",
    );
    // Initialising one variable leaves the other uninitialised.
    run_targets(&sess, &[g.variables_initializer(&[v])]);
    assert_f32(&eval_in(&sess, v, &[]), &[1], &[2.0]);
    assert_err_contains(try_eval_in(&sess, w + v, &[]), "uninitialized value w");
    assert_err_contains(
        try_eval_in(&sess, w.assign_add(g.constant([1.0f32])), &[]),
        "uninitialized value w",
    );
}

#[test]
fn initializers_constant_kinds() {
    let g = Graph::new();
    let z = g.variable_init(&[2, 3], DType::F32, Initializer::Zeros, "z");
    let o = g.variable_init(&[3], DType::F64, Initializer::Ones, "o");
    let c = g.variable_init(&[2], DType::I32, Initializer::Constant(4.0), "c");
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    let out = run(&sess, &[z, o, c], &[]);
    assert_f32(&out[0], &[2, 3], &[0.0; 6]);
    assert_f64(&out[1], &[3], &[1.0; 3]);
    assert_exact(&out[2], DType::I32, &[2], &[4.0, 4.0]);
    assert_eq!(
        Initializer::from_name("glorot_uniform"),
        Some(Initializer::GlorotUniform { seed: None })
    );
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

#[test]
fn glorot_and_he_uniform_bounds() {
    let g = Graph::new();
    let gl = g.variable_init(
        &[300, 200],
        DType::F32,
        Initializer::GlorotUniform { seed: Some(1) },
        "gl",
    );
    let he = g.variable_init(
        &[300, 200],
        DType::F64,
        Initializer::HeUniform { seed: Some(2) },
        "he",
    );
    let ru = g.variable_init(
        &[1000],
        DType::F64,
        Initializer::RandomUniform {
            min: -0.05,
            max: 0.05,
            seed: None,
        },
        "ru",
    );
    // A conv kernel (3, 3, 4, 8): fan_in = 3*3*4 = 36, fan_out = 3*3*8 = 72.
    let cv = g.variable_init(
        &[3, 3, 4, 8],
        DType::F64,
        Initializer::GlorotUniform { seed: None },
        "cv",
    );
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    let out = run(&sess, &[gl, he, ru, cv], &[]);
    let check = |v: &Value, limit: f64, what: &str| {
        let (lo, hi) = min_max(&v.to_f64_vec());
        assert!(
            lo >= -limit && hi <= limit,
            "{what}: [{lo}, {hi}] outside ±{limit}"
        );
        assert!(
            lo < -0.95 * limit && hi > 0.95 * limit,
            "{what}: [{lo}, {hi}] does not fill ±{limit}"
        );
    };
    check(&out[0], (6.0f64 / 500.0).sqrt(), "glorot_uniform");
    check(&out[1], (6.0f64 / 300.0).sqrt(), "he_uniform");
    check(&out[2], 0.05, "random_uniform");
    check(&out[3], (6.0f64 / 108.0).sqrt(), "glorot_uniform conv");
    assert_eq!(out[0].dtype(), DType::F32);
    assert_eq!(out[3].shape(), &[3, 3, 4, 8]);
    // Re-running the initializer draws new values (TF semantics).
    run_targets(&sess, &[g.global_variables_initializer()]);
    assert_ne!(eval_in(&sess, gl, &[]), out[0]);
}

#[test]
fn normal_initializers() {
    let g = Graph::new();
    let rn = g.variable_init(
        &[20_000],
        DType::F64,
        Initializer::RandomNormal {
            mean: 1.0,
            stddev: 0.05,
            seed: Some(3),
        },
        "rn",
    );
    let tn = g.variable_init(
        &[20_000],
        DType::F64,
        Initializer::TruncatedNormal {
            mean: 0.0,
            stddev: 0.05,
            seed: Some(4),
        },
        "tn",
    );
    let gn = g.variable_init(
        &[100, 200],
        DType::F64,
        Initializer::GlorotNormal { seed: Some(5) },
        "gn",
    );
    let hn = g.variable_init(
        &[200, 100],
        DType::F32,
        Initializer::HeNormal { seed: Some(6) },
        "hn",
    );
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    let out = run(&sess, &[rn, tn, gn, hn], &[]);
    let stats = |v: &Value| {
        let x = v.to_f64_vec();
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        (
            m,
            (x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / n).sqrt(),
            min_max(&x),
        )
    };
    let (m, s, _) = stats(&out[0]);
    assert!(
        (m - 1.0).abs() < 0.002 && (s - 0.05).abs() < 0.002,
        "random_normal: {m} {s}"
    );
    let (m, s, (lo, hi)) = stats(&out[1]);
    assert!(
        m.abs() < 0.002 && (s - 0.05 * 0.8796).abs() < 0.002,
        "truncated_normal: {m} {s}"
    );
    assert!(
        lo >= -0.1 && hi <= 0.1,
        "truncated_normal beyond 2 stddevs: [{lo}, {hi}]"
    );
    // Keras corrects the truncated stddev back up: the result has stddev sqrt(2 / fans).
    let (_, s, (lo, hi)) = stats(&out[2]);
    let want = (2.0f64 / 300.0).sqrt();
    assert!(
        (s - want).abs() < 0.02 * want,
        "glorot_normal stddev {s}, want {want}"
    );
    assert!(
        lo >= -2.0 * want / 0.8796 && hi <= 2.0 * want / 0.8796,
        "glorot_normal beyond 2 stddevs"
    );
    let (_, s, _) = stats(&out[3]);
    let want = (2.0f64 / 200.0).sqrt();
    assert!(
        (s - want).abs() < 0.02 * want,
        "he_normal stddev {s}, want {want}"
    );
}

#[test]
fn assign_returns_the_new_value() {
    let g = Graph::new();
    let w = g.variable(g.constant([1.0f32, 2.0]), "w");
    let set = w.assign(g.constant([5.0f32, 6.0]));
    let add = w.assign_add(g.constant([0.5f32, 0.5]));
    let sub = w.assign_sub(g.constant([2.0f32, 1.0]));
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    assert_f32(&eval_in(&sess, add, &[]), &[2], &[1.5, 2.5]);
    assert_f32(&eval_in(&sess, w, &[]), &[2], &[1.5, 2.5]);
    assert_f32(&eval_in(&sess, add, &[]), &[2], &[2.0, 3.0]);
    assert_f32(&eval_in(&sess, sub, &[]), &[2], &[0.0, 2.0]);
    assert_f32(&eval_in(&sess, set, &[]), &[2], &[5.0, 6.0]);
    assert_f32(&eval_in(&sess, w, &[]), &[2], &[5.0, 6.0]);
    // Assigning from a fed value and from an expression of the variable itself.
    let x = g.placeholder(DType::F32, [2usize], "x");
    let from_feed = w.assign(x);
    let xv = Value::from(array![-1.0f32, -2.0]);
    assert_f32(
        &eval_in(&sess, from_feed, &[feed(x, &xv)]),
        &[2],
        &[-1.0, -2.0],
    );
    let double = w.assign(w * 2.0f32);
    assert_f32(&eval_in(&sess, double, &[]), &[2], &[-2.0, -4.0]);
    run_targets(&sess, &[sub]);
    assert_f32(&eval_in(&sess, w, &[]), &[2], &[-4.0, -5.0]);
}

#[test]
fn a_big_in_place_update_splits_over_the_pool_with_the_same_bits() {
    // 301 x 307 elements: more than an update that splits (2^16), in uneven pieces.
    let (rows, cols) = (301, 307);
    let start = |i: usize| (i as f32 * 0.37).sin() * 3.0;
    let step = |i: usize| (i as f32 * 0.11).cos() / 7.0;
    let g = Graph::new();
    let init = ndarray::Array2::from_shape_fn((rows, cols), |(r, c)| start(r * cols + c));
    let w = g.variable(g.constant(Value::from(init)), "w");
    let x = g.placeholder(DType::F32, [rows, cols], "x");
    let (add, sub) = (w.assign_add(x), w.assign_sub(x * 3.0f32));
    let sess = Session::new(&g).with_threads(2).unwrap();
    run_targets(&sess, &[g.global_variables_initializer()]);
    let xv = Value::from(ndarray::Array2::from_shape_fn((rows, cols), |(r, c)| {
        step(r * cols + c)
    }));
    for _ in 0..3 {
        for target in [add, sub] {
            try_run_all(&sess, &[] as &[Tensor<'_>], &[feed(x, &xv)], &[target]).unwrap();
        }
    }
    let Value::F32(got) = eval_in(&sess, w, &[]) else {
        panic!("w is f32")
    };
    for (i, &v) in got.iter().enumerate() {
        let mut want = start(i);
        for _ in 0..3 {
            want += step(i);
            want -= step(i) * 3.0;
        }
        assert_eq!(v.to_bits(), want.to_bits(), "element {i}: {v} vs {want}");
    }
}

#[test]
fn assign_int_and_errors() {
    let g = Graph::new();
    let step = g.variable(g.constant(0i64), "step");
    let inc = step.assign_add(g.constant(1i64));
    let dec = step.assign_sub(g.constant(3i64));
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    for _ in 0..3 {
        run_targets(&sess, &[inc]);
    }
    assert_exact(&eval_in(&sess, step, &[]), DType::I64, &[], &[3.0]);
    assert_exact(&eval_in(&sess, dec, &[]), DType::I64, &[], &[0.0]);
    // Build-time refusals: wrong shape, wrong dtype, not a variable.
    let w = g.variable(g.ones(&[2, 3], DType::F32), "w");
    assert_err_contains(
        w.try_assign(g.ones(&[3, 2], DType::F32)),
        "Shapes must be equal",
    );
    assert!(w.try_assign_add(g.ones(&[2, 3], DType::F64)).is_err());
    assert_err_contains(
        g.constant(1.0f32).try_assign(g.constant(2.0f32)),
        "only variables can be assigned",
    );
    // A value of unknown shape is checked when it runs.
    let p = g.placeholder(DType::F32, [None, Some(3)], "p");
    let a = w.assign(p);
    let pv = Value::full(DType::F32, &[1, 3], 0.0);
    run_targets(&sess, &[g.global_variables_initializer()]);
    assert!(
        try_eval_in(&sess, a, &[feed(p, &pv)]).is_err(),
        "a (1,3) value for a (2,3) variable"
    );
    assert_f32(&eval_in(&sess, w, &[]), &[2, 3], &[1.0; 6]);
}

#[test]
fn group_runs_its_inputs() {
    let g = Graph::new();
    let a = g.variable(g.constant(1.0f32), "a");
    let b = g.variable(g.constant(10i32), "b");
    let both = g.group(
        &[
            a.assign_add(g.constant(1.0f32)),
            b.assign_sub(g.constant(4i32)),
        ],
        "step",
    );
    assert_eq!(both.op_name(), "step");
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    run_targets(&sess, &[both]);
    run_targets(&sess, &[both]);
    let out = run(&sess, &[a, b], &[]);
    assert_f32(&out[0], &[], &[3.0]);
    assert_exact(&out[1], DType::I32, &[], &[2.0]);
    // A group has no value to fetch; an empty group runs nothing.
    assert!(sess.run(&[both], &[]).is_err());
    run_targets(&sess, &[g.no_op(), g.group(&[], "nothing")]);
    assert_f32(&eval_in(&sess, a, &[]), &[], &[3.0]);
}

#[test]
fn control_dependencies_order_effects() {
    let g = Graph::new();
    let v = g.variable(g.constant(1.0f32), "v");
    let bump = v.assign(g.constant(5.0f32));
    let read = {
        let _deps = g.control_dependencies(&[bump]);
        v.identity()
    };
    let after = v.identity();
    let sess = Session::new(&g);
    run_targets(&sess, &[g.global_variables_initializer()]);
    // Without the dependency nothing assigns; with it, the assign runs first.
    assert_f32(&eval_in(&sess, after, &[]), &[], &[1.0]);
    assert_f32(&eval_in(&sess, read, &[]), &[], &[5.0]);
    assert_f32(&eval_in(&sess, after, &[]), &[], &[5.0]);
    // A no-op under control dependencies runs them as a target.
    let c = g.variable(g.constant(0i32), "c");
    run_targets(&sess, &[g.variables_initializer(&[c])]);
    let tick = {
        let _deps = g.control_dependencies(&[c.assign_add(g.constant(1i32))]);
        g.no_op()
    };
    run_targets(&sess, &[tick]);
    run_targets(&sess, &[tick]);
    assert_exact(&eval_in(&sess, c, &[]), DType::I32, &[], &[2.0]);
}

#[test]
fn identity_and_stop_gradient_forward() {
    let g = Graph::new();
    let x = g.constant([[1.0f32, -2.0], [3.0, 4.5]]);
    let i = g.constant([7i64, 8]);
    let e = g.zeros(&[2, 0, 5], DType::F64);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.identity(),
            x.stop_gradient(),
            i.identity(),
            i.stop_gradient(),
            e.identity(),
            e.stop_gradient(),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 2], &[1.0, -2.0, 3.0, 4.5]);
    assert_f32(&out[1], &[2, 2], &[1.0, -2.0, 3.0, 4.5]);
    assert_exact(&out[2], DType::I64, &[2], &[7.0, 8.0]);
    assert_exact(&out[3], DType::I64, &[2], &[7.0, 8.0]);
    assert_f64(&out[4], &[2, 0, 5], &[]);
    assert_f64(&out[5], &[2, 0, 5], &[]);
    let named = x.identity().named("out");
    assert_eq!(g.get("out:0").unwrap().node_id(), named.node_id());
    // A fed value passes through.
    let p = g.placeholder(DType::Bool, [None], "p");
    let pv = Value::from(array![true, false, true]);
    assert_bools(
        &eval_in(&sess, p.stop_gradient().identity(), &[feed(p, &pv)]),
        &[3],
        &[true, false, true],
    );
}

#[test]
fn check_numerics_passes_and_fails() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None], "x");
    let c = x.check_numerics("bad x");
    let sess = Session::new(&g);
    let ok = Value::from(array![1.0f32, -2.0, 1e30]);
    assert_f32(
        &eval_in(&sess, c * 1.0f32, &[feed(x, &ok)]),
        &[3],
        &[1.0, -2.0, 1e30f32 as f64],
    );
    let empty = Value::full(DType::F32, &[0], 0.0);
    assert_f32(&eval_in(&sess, c, &[feed(x, &empty)]), &[0], &[]);
    let nan = Value::from(array![1.0f32, f32::NAN]);
    assert_err_contains(
        try_eval_in(&sess, c, &[feed(x, &nan)]),
        "bad x : Tensor had NaN values",
    );
    let inf = Value::from(array![f32::NEG_INFINITY, 0.0]);
    assert_err_contains(
        try_eval_in(&sess, c, &[feed(x, &inf)]),
        "bad x : Tensor had Inf values",
    );
    let both = Value::from(array![f32::INFINITY, f32::NAN]);
    assert_err_contains(
        try_eval_in(&sess, c, &[feed(x, &both)]),
        "bad x : Tensor had Inf and NaN values",
    );
    // A NaN made inside the graph is caught too.
    let y = g.constant([0.0f64]);
    assert_err_contains(
        try_eval((y / y).check_numerics("div")),
        "div : Tensor had NaN values",
    );
    assert!(
        g.constant([1i32]).try_check_numerics("ints").is_err(),
        "check_numerics is for floats"
    );
}
