//! Forward tests of the elementwise ops: arithmetic with broadcasting, unary math and
//! activations, comparisons, select, clip, cast, and matmul.

use crate::common::*;
use ndarray::{array, ArrayD, IxDyn};
use rill::prelude::*;

forward_tests![
    add_sub_mul_div_float_broadcast,
    rows_and_columns_broadcast_on_either_side_across_runs,
    arithmetic_operators_with_numbers,
    arithmetic_int_and_floor_division,
    int_division_by_zero_is_an_error,
    int_division_overflow_wraps,
    arithmetic_on_empty_shapes,
    broadcast_mismatch_errors,
    neg_float_and_int,
    pow_values,
    maximum_minimum_with_nan_and_broadcast,
    unary_math_matches_std,
    unary_math_edge_domains,
    abs_sign_square_int,
    sigmoid_and_tanh_large_inputs,
    activations,
    softplus_is_stable,
    log1p_is_accurate_near_zero,
    unary_on_empty_and_f64,
    comparisons_broadcast,
    comparisons_with_nan_and_ints,
    select_broadcasts,
    clip_by_value_values,
    cast_values,
    matmul_2d_and_transposes,
    matmul_batched_broadcast,
    matmul_int_and_empty,
    matmul_inner_dim_mismatch,
];

fn f32v(data: &[f32]) -> Vec<f64> {
    data.iter().map(|&x| x as f64).collect()
}

#[test]
fn add_sub_mul_div_float_broadcast() {
    let g = Graph::new();
    let a = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let row = g.constant([10.0f32, 20.0, 30.0]);
    let col = g.constant([[2.0f32], [4.0]]);
    let sess = Session::new(&g);
    let out = run(&sess, &[a + row, a - col, a * row, a / col, col + row], &[]);
    assert_f32(&out[0], &[2, 3], &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
    assert_f32(&out[1], &[2, 3], &[-1.0, 0.0, 1.0, 0.0, 1.0, 2.0]);
    assert_f32(&out[2], &[2, 3], &[10.0, 40.0, 90.0, 40.0, 100.0, 180.0]);
    assert_f32(&out[3], &[2, 3], &[0.5, 1.0, 1.5, 1.0, 1.25, 1.5]);
    // (2,1) + (3,) -> (2,3)
    assert_f32(&out[4], &[2, 3], &[12.0, 22.0, 32.0, 14.0, 24.0, 34.0]);
    // Float division by zero gives infinities and NaN, not an error.
    let z = g.constant([1.0f32, -1.0, 0.0]) / g.constant([0.0f32, 0.0, 0.0]);
    assert_f32(
        &eval(z),
        &[3],
        &[f64::INFINITY, f64::NEG_INFINITY, f64::NAN],
    );
}

#[test]
fn rows_and_columns_broadcast_on_either_side_across_runs() {
    // Fed, not constant, so the kernels run in the session (not in constant folding), and
    // twice, so the second run writes into the first run's planned buffers.
    let g = Graph::new();
    let a = g.placeholder(DType::F32, [None, Some(2), Some(3)], "a");
    let row = g.placeholder(DType::F32, [Some(3)], "row");
    let col = g.placeholder(DType::F32, [None, Some(2), Some(1)], "col");
    let sess = Session::new(&g);
    let fetches = [row - a, a - row, col / a, a / col];
    let inputs = [
        (
            [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0],
            [10.0f32, 20.0, 30.0],
            [2.0f32, -0.5],
        ),
        (
            [-1.0f32, 0.5, 2.0, 8.0, -4.0, 1.0],
            [3.0f32, -1.0, 0.25],
            [-4.0f32, 8.0],
        ),
    ];
    for (xs, r, c) in inputs {
        let av = Value::from(ArrayD::from_shape_vec(IxDyn(&[1, 2, 3]), xs.to_vec()).unwrap());
        let rv = Value::from(ArrayD::from_shape_vec(IxDyn(&[3]), r.to_vec()).unwrap());
        let cv = Value::from(ArrayD::from_shape_vec(IxDyn(&[1, 2, 1]), c.to_vec()).unwrap());
        let out = run(
            &sess,
            &fetches,
            &[feed(a, &av), feed(row, &rv), feed(col, &cv)],
        );
        let each = |f: &dyn Fn(usize) -> f32| (0..6).map(|i| f(i) as f64).collect::<Vec<_>>();
        assert_f32(&out[0], &[1, 2, 3], &each(&|i| r[i % 3] - xs[i]));
        assert_f32(&out[1], &[1, 2, 3], &each(&|i| xs[i] - r[i % 3]));
        assert_f32(&out[2], &[1, 2, 3], &each(&|i| c[i / 3] / xs[i]));
        assert_f32(&out[3], &[1, 2, 3], &each(&|i| xs[i] / c[i / 3]));
    }
    // A column against an output with no elements: empty, not a panic.
    let e = g.zeros(&[2, 0], DType::F32) + g.ones(&[2, 1], DType::F32);
    assert_f32(&eval(e), &[2, 0], &[]);
}

#[test]
fn arithmetic_operators_with_numbers() {
    let g = Graph::new();
    let x = g.constant([1.0f64, 2.0, 4.0]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[x + 1.0, 1.0 - x, 2.0 * x, 1.0 / x, x.try_div(4.0).unwrap()],
        &[],
    );
    assert_f64(&out[0], &[3], &[2.0, 3.0, 5.0]);
    assert_f64(&out[1], &[3], &[0.0, -1.0, -3.0]);
    assert_f64(&out[2], &[3], &[2.0, 4.0, 8.0]);
    assert_f64(&out[3], &[3], &[1.0, 0.5, 0.25]);
    assert_f64(&out[4], &[3], &[0.25, 0.5, 1.0]);
}

#[test]
fn arithmetic_int_and_floor_division() {
    let g = Graph::new();
    let a = g.constant([7i32, -7, 7, -7, 6, 0]);
    let b = g.constant([2i32, 2, -2, -2, 3, 5]);
    let sess = Session::new(&g);
    let out = run(&sess, &[a + b, a - b, a * b, a / b], &[]);
    assert_exact(&out[0], DType::I32, &[6], &[9.0, -5.0, 5.0, -9.0, 9.0, 5.0]);
    assert_exact(
        &out[1],
        DType::I32,
        &[6],
        &[5.0, -9.0, 9.0, -5.0, 3.0, -5.0],
    );
    assert_exact(
        &out[2],
        DType::I32,
        &[6],
        &[14.0, -14.0, -14.0, 14.0, 18.0, 0.0],
    );
    // NumPy's //: 7//2=3, -7//2=-4, 7//-2=-4, -7//-2=3.
    assert_exact(&out[3], DType::I32, &[6], &[3.0, -4.0, -4.0, 3.0, 2.0, 0.0]);
    // i64 with a broadcast scalar.
    let c = g.constant(array![[10i64, -10], [3, -3]]);
    let out = run(&sess, &[c / 3i64, c * 2i64, c - 1i64], &[]);
    assert_exact(&out[0], DType::I64, &[2, 2], &[3.0, -4.0, 1.0, -1.0]);
    assert_exact(&out[1], DType::I64, &[2, 2], &[20.0, -20.0, 6.0, -6.0]);
    assert_exact(&out[2], DType::I64, &[2, 2], &[9.0, -11.0, 2.0, -4.0]);
}

#[test]
fn int_division_by_zero_is_an_error() {
    let g = Graph::new();
    let d = g.constant([1i32, 2]) / g.constant([1i32, 0]);
    assert_err_contains(try_eval(d), "Integer division by zero");
    let d = g.constant([5i64]) / g.constant(0i64);
    assert_err_contains(try_eval(d), "Integer division by zero");
}

#[test]
fn int_division_overflow_wraps() {
    // i32::MIN / -1 overflows; like the other integer ops it wraps instead of panicking.
    let g = Graph::new();
    let d = g.constant([i32::MIN, i32::MIN]) / g.constant([-1i32, 2]);
    assert_exact(
        &eval(d),
        DType::I32,
        &[2],
        &[i32::MIN as f64, (i32::MIN / 2) as f64],
    );
    let d = g.constant([i64::MIN]) / g.constant([-1i64]);
    assert_eq!(eval(d), Value::from(array![i64::MIN]));
}

#[test]
fn arithmetic_on_empty_shapes() {
    let g = Graph::new();
    let e = g.zeros(&[2, 0, 5], DType::F32);
    let row = g.constant([1.0f32, 2.0, 3.0, 4.0, 5.0]);
    let mid = g.ones(&[2, 1, 5], DType::F32);
    let sess = Session::new(&g);
    let out = run(&sess, &[e + row, e * mid, e - 1.0, e / e], &[]);
    for v in &out {
        assert_f32(v, &[2, 0, 5], &[]);
    }
    let ie = g.zeros(&[0], DType::I32) / g.constant(3i32);
    assert_exact(&eval(ie), DType::I32, &[0], &[]);
    // (0,) broadcasts against (1,) but not against (2,).
    assert!(g
        .zeros(&[0], DType::F32)
        .try_add(g.ones(&[2], DType::F32))
        .is_err());
}

#[test]
fn broadcast_mismatch_errors() {
    let g = Graph::new();
    let a = g.ones(&[2, 3], DType::F32);
    let b = g.ones(&[2, 2], DType::F32);
    assert_err_contains(a.try_add(b), "Dimensions must be equal, but are 3 and 2");
    assert_err_contains(a.try_mul(g.ones(&[3], DType::F64)), "dtypes must match");
    // Shapes the graph does not know are checked by the kernel.
    let x = g.placeholder(DType::F32, [None], "x");
    let y = g.placeholder(DType::F32, [None], "y");
    let (xv, yv) = (
        Value::from(array![1.0f32, 2.0]),
        Value::from(array![1.0f32, 2.0, 3.0]),
    );
    let sess = Session::new(&g);
    assert_err_contains(
        try_eval_in(&sess, x + y, &[feed(x, &xv), feed(y, &yv)]),
        "Incompatible shapes",
    );
    let yv = Value::from(array![3.0f32]);
    assert_f32(
        &eval_in(&sess, x + y, &[feed(x, &xv), feed(y, &yv)]),
        &[2],
        &[4.0, 5.0],
    );
}

#[test]
fn neg_float_and_int() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            -g.constant([1.5f32, -2.0, 0.0]),
            -g.constant([3i64, -4]),
            g.constant([1i32, -1]).try_neg().unwrap(),
        ],
        &[],
    );
    assert_f32(&out[0], &[3], &[-1.5, 2.0, 0.0]);
    assert_exact(&out[1], DType::I64, &[2], &[-3.0, 4.0]);
    assert_exact(&out[2], DType::I32, &[2], &[-1.0, 1.0]);
    assert!(g.constant([true]).try_neg().is_err());
}

#[test]
fn pow_values() {
    let g = Graph::new();
    let base = g.constant([2.0f32, 4.0, 9.0, 0.0, -8.0, -2.0]);
    let exp = g.constant([3.0f32, 0.5, -0.5, 0.0, 1.0 / 3.0, 2.0]);
    // NumPy: 0**0 = 1, a negative base to a fractional power is NaN.
    assert_f32(
        &eval(base.pow(exp)),
        &[6],
        &[8.0, 2.0, 1.0 / 3.0, 1.0, f64::NAN, 4.0],
    );
    let m = g.constant([[1.0f64, 2.0], [3.0, 4.0]]);
    assert_f64(
        &eval(m.pow(g.constant([2.0f64, 3.0]))),
        &[2, 2],
        &[1.0, 8.0, 9.0, 64.0],
    );
    assert_f64(&eval(m.pow(2.0)), &[2, 2], &[1.0, 4.0, 9.0, 16.0]);
    assert!(
        g.constant([2i32]).try_pow(g.constant([2i32])).is_err(),
        "pow is for floats"
    );
}

#[test]
fn maximum_minimum_with_nan_and_broadcast() {
    let g = Graph::new();
    let a = g.constant([[1.0f32, 5.0, f32::NAN], [-1.0, 0.0, 2.0]]);
    let b = g.constant([3.0f32, 3.0, 3.0]);
    let sess = Session::new(&g);
    let out = run(&sess, &[a.maximum(b), a.minimum(b), b.maximum(a)], &[]);
    assert_f32(&out[0], &[2, 3], &[3.0, 5.0, f64::NAN, 3.0, 3.0, 3.0]);
    assert_f32(&out[1], &[2, 3], &[1.0, 3.0, f64::NAN, -1.0, 0.0, 2.0]);
    assert_f32(&out[2], &[2, 3], &[3.0, 5.0, f64::NAN, 3.0, 3.0, 3.0]);
    let i = g.constant([1i64, -5, 7]);
    let out = run(&sess, &[i.maximum(0i64), i.minimum(0i64)], &[]);
    assert_exact(&out[0], DType::I64, &[3], &[1.0, 0.0, 7.0]);
    assert_exact(&out[1], DType::I64, &[3], &[0.0, -5.0, 0.0]);
}

#[test]
fn unary_math_matches_std() {
    let xs = [0.1f32, 0.5, 1.0, 2.5, 7.0];
    let g = Graph::new();
    let x = g.constant(xs);
    let sess = Session::new(&g);
    let fetches = [
        x.exp(),
        x.log(),
        x.sqrt(),
        x.rsqrt(),
        x.square(),
        x.sin(),
        x.cos(),
        x.tanh(),
        x.abs(),
    ];
    let out = run(&sess, &fetches, &[]);
    let refs: [fn(f32) -> f32; 9] = [
        f32::exp,
        f32::ln,
        f32::sqrt,
        |v| 1.0 / v.sqrt(),
        |v| v * v,
        f32::sin,
        f32::cos,
        f32::tanh,
        f32::abs,
    ];
    for (v, f) in out.iter().zip(refs) {
        let want: Vec<f64> = xs.iter().map(|&a| f(a) as f64).collect();
        assert_close(v, DType::F32, &[5], &want, 1e-6);
    }
    // Negative inputs where the function is defined.
    let n = g.constant([-0.5f32, -3.0]);
    let out = run(
        &sess,
        &[n.exp(), n.sin(), n.cos(), n.tanh(), n.square(), n.abs()],
        &[],
    );
    assert_f32(&out[0], &[2], &f32v(&[(-0.5f32).exp(), (-3.0f32).exp()]));
    assert_f32(&out[1], &[2], &f32v(&[(-0.5f32).sin(), (-3.0f32).sin()]));
    assert_f32(&out[2], &[2], &f32v(&[(-0.5f32).cos(), (-3.0f32).cos()]));
    assert_f32(&out[3], &[2], &f32v(&[(-0.5f32).tanh(), (-3.0f32).tanh()]));
    assert_f32(&out[4], &[2], &[0.25, 9.0]);
    assert_f32(&out[5], &[2], &[0.5, 3.0]);
}

#[test]
fn unary_math_edge_domains() {
    let g = Graph::new();
    let x = g.constant([0.0f32, -1.0, f32::INFINITY]);
    let sess = Session::new(&g);
    let out = run(&sess, &[x.log(), x.sqrt(), x.rsqrt(), x.exp()], &[]);
    assert_f32(&out[0], &[3], &[f64::NEG_INFINITY, f64::NAN, f64::INFINITY]);
    assert_f32(&out[1], &[3], &[0.0, f64::NAN, f64::INFINITY]);
    assert_f32(&out[2], &[3], &[f64::INFINITY, f64::NAN, 0.0]);
    assert_f32(&out[3], &[3], &[1.0, (-1.0f32).exp() as f64, f64::INFINITY]);
    // exp overflows to inf and underflows to 0 in f32.
    assert_f32(
        &eval(g.constant([100.0f32, -200.0]).exp()),
        &[2],
        &[f64::INFINITY, 0.0],
    );
    assert!(g.constant([1i32]).try_exp().is_err(), "exp is for floats");
}

#[test]
fn abs_sign_square_int() {
    let g = Graph::new();
    let i = g.constant([-3i32, 0, 4]);
    let f = g.constant([-2.5f32, 0.0, 0.1, f32::NAN]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[i.abs(), i.sign(), i.square(), f.sign(), f.abs()],
        &[],
    );
    assert_exact(&out[0], DType::I32, &[3], &[3.0, 0.0, 4.0]);
    assert_exact(&out[1], DType::I32, &[3], &[-1.0, 0.0, 1.0]);
    assert_exact(&out[2], DType::I32, &[3], &[9.0, 0.0, 16.0]);
    assert_f32(&out[3], &[4], &[-1.0, 0.0, 1.0, f64::NAN]);
    assert_f32(&out[4], &[4], &[2.5, 0.0, 0.1f32 as f64, f64::NAN]);
    let l = g.constant([-5i64, 6]);
    assert_exact(&eval(l.sign()), DType::I64, &[2], &[-1.0, 1.0]);
}

#[test]
fn sigmoid_and_tanh_large_inputs() {
    let g = Graph::new();
    let x = g.constant([-1000.0f32, -100.0, -1.0, 0.0, 1.0, 100.0, 1000.0]);
    let sess = Session::new(&g);
    let out = run(&sess, &[x.sigmoid(), x.tanh()], &[]);
    let s = |v: f64| 1.0 / (1.0 + (-v).exp());
    assert_close(
        &out[0],
        DType::F32,
        &[7],
        &[0.0, 3.720076e-44, s(-1.0), 0.5, s(1.0), 1.0, 1.0],
        1e-6,
    );
    assert!(
        out[0].to_f64_vec().iter().all(|v| v.is_finite()),
        "sigmoid gave NaN or inf: {:?}",
        out[0]
    );
    assert_f32(
        &out[1],
        &[7],
        &[-1.0, -1.0, (-1.0f64).tanh(), 0.0, 1.0f64.tanh(), 1.0, 1.0],
    );
    let x64 = g.constant([-800.0f64, 800.0, 2.0]);
    assert_f64(&eval(x64.sigmoid()), &[3], &[0.0, 1.0, s(2.0)]);
}

#[test]
fn activations() {
    let g = Graph::new();
    let x = g.constant([-2.0f32, -0.5, 0.0, 0.5, 3.0]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[x.relu(), x.leaky_relu(0.2), x.elu(1.0), x.elu(0.5)],
        &[],
    );
    assert_f32(&out[0], &[5], &[0.0, 0.0, 0.0, 0.5, 3.0]);
    assert_f32(&out[1], &[5], &[-0.4, -0.1, 0.0, 0.5, 3.0]);
    let em1 = |v: f64| v.exp() - 1.0;
    assert_f32(&out[2], &[5], &[em1(-2.0), em1(-0.5), 0.0, 0.5, 3.0]);
    assert_f32(
        &out[3],
        &[5],
        &[0.5 * em1(-2.0), 0.5 * em1(-0.5), 0.0, 0.5, 3.0],
    );
    assert!(g.constant([1i32]).try_relu().is_err(), "relu is for floats");
}

#[test]
fn log1p_is_accurate_near_zero() {
    // Where 1 + x rounds (1e-10 would give log(1) = 0) and across its domain: -1 gives -inf,
    // below -1 NaN.
    let xs = [1e-10f64, -1e-10, 0.0, 0.5, -0.5, 3.0, 1e30, -1.0, -2.0];
    let g = Graph::new();
    let x = g.constant(xs);
    let want: Vec<f64> = xs.iter().map(|&v| v.ln_1p()).collect();
    assert_close(&eval(x.log1p()), DType::F64, &[9], &want, 1e-15);
    let x32 = g.constant([1e-10f32, -1e-7, 0.25, 7.0, -0.999]);
    let want32: Vec<f64> = [1e-10f32, -1e-7, 0.25, 7.0, -0.999]
        .iter()
        .map(|&v| v.ln_1p() as f64)
        .collect();
    assert_close(&eval(x32.log1p()), DType::F32, &[5], &want32, 1e-6);
    // Small values come back exactly (not as log(1 + x) = 0).
    let tiny = eval(x.log1p()).to_f64_vec();
    assert_eq!(tiny[0], 1e-10_f64.ln_1p());
    assert!(tiny[1] < 0.0);
}

#[test]
fn softplus_is_stable() {
    let g = Graph::new();
    let x = g.constant([-100.0f64, -1.0, 0.0, 1.0, 100.0, 1000.0]);
    let sp = |v: f64| (1.0 + v.exp()).ln();
    assert_close(
        &eval(x.softplus()),
        DType::F64,
        &[6],
        &[
            3.720075976020836e-44,
            sp(-1.0),
            2f64.ln(),
            sp(1.0),
            100.0,
            1000.0,
        ],
        1e-12,
    );
    let x = g.constant([-120.0f32, 0.0, 120.0]);
    assert_close(
        &eval(x.softplus()),
        DType::F32,
        &[3],
        &[0.0, 2f64.ln(), 120.0],
        1e-6,
    );
}

#[test]
fn unary_on_empty_and_f64() {
    let g = Graph::new();
    let e = g.zeros(&[2, 0, 5], DType::F64);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[e.exp(), e.sigmoid(), e.relu(), -e, e.softplus()],
        &[],
    );
    for v in &out {
        assert_f64(v, &[2, 0, 5], &[]);
    }
    let x = g.constant(array![[0.25f64, 4.0]]);
    let out = run(&sess, &[x.sqrt(), x.rsqrt(), x.log()], &[]);
    assert_f64(&out[0], &[1, 2], &[0.5, 2.0]);
    assert_f64(&out[1], &[1, 2], &[2.0, 0.5]);
    assert_f64(&out[2], &[1, 2], &[0.25f64.ln(), 4f64.ln()]);
}

#[test]
fn comparisons_broadcast() {
    let g = Graph::new();
    let a = g.constant([[1.0f32, 2.0, 3.0], [3.0, 2.0, 1.0]]);
    let b = g.constant([2.0f32, 2.0, 2.0]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            a.equal(b),
            a.not_equal(b),
            a.less(b),
            a.less_equal(b),
            a.greater(b),
            a.greater_equal(b),
        ],
        &[],
    );
    let sh = [2, 3];
    assert_bools(&out[0], &sh, &[false, true, false, false, true, false]);
    assert_bools(&out[1], &sh, &[true, false, true, true, false, true]);
    assert_bools(&out[2], &sh, &[true, false, false, false, false, true]);
    assert_bools(&out[3], &sh, &[true, true, false, false, true, true]);
    assert_bools(&out[4], &sh, &[false, false, true, true, false, false]);
    assert_bools(&out[5], &sh, &[false, true, true, true, true, false]);
    let e = g.zeros(&[2, 0, 5], DType::F32);
    assert_bools(&eval(e.less(g.constant(1.0f32))), &[2, 0, 5], &[]);
}

#[test]
fn comparisons_with_nan_and_ints() {
    let g = Graph::new();
    let n = g.constant([f64::NAN, 1.0]);
    let m = g.constant([f64::NAN, f64::NAN]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[n.equal(m), n.not_equal(m), n.less(m), n.greater_equal(m)],
        &[],
    );
    assert_bools(&out[0], &[2], &[false, false]);
    assert_bools(&out[1], &[2], &[true, true]);
    assert_bools(&out[2], &[2], &[false, false]);
    assert_bools(&out[3], &[2], &[false, false]);
    let i = g.constant([1i64, 5, -3]);
    let out = run(
        &sess,
        &[i.greater(0i64), i.less_equal(1i64), i.equal(5i64)],
        &[],
    );
    assert_bools(&out[0], &[3], &[true, true, false]);
    assert_bools(&out[1], &[3], &[true, false, true]);
    assert_bools(&out[2], &[3], &[false, true, false]);
    let t = g.constant([true, false]);
    assert_bools(
        &eval(t.equal(g.constant([true, true]))),
        &[2],
        &[true, false],
    );
    assert!(
        i.try_equal(g.constant([1i32, 2, 3])).is_err(),
        "dtypes must match"
    );
}

#[test]
fn select_broadcasts() {
    let g = Graph::new();
    let cond = g.constant([[true], [false]]);
    let x = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let y = g.constant(-1.0f32);
    let sess = Session::new(&g);
    let out = run(&sess, &[g.select(cond, x, y), g.select(cond, y, x)], &[]);
    assert_f32(&out[0], &[2, 3], &[1.0, 2.0, 3.0, -1.0, -1.0, -1.0]);
    assert_f32(&out[1], &[2, 3], &[-1.0, -1.0, -1.0, 4.0, 5.0, 6.0]);
    // An elementwise condition from a comparison, on ints.
    let i = g.constant([3i32, -2, 0, 7]);
    let relu = g.select(i.greater(0i32), i, g.zeros(&[4], DType::I32));
    assert_exact(&eval(relu), DType::I32, &[4], &[3.0, 0.0, 0.0, 7.0]);
    // Condition (3,), x scalar, y (2,1) -> (2,3).
    let c = g.constant([true, false, true]);
    let s = g.select(c, g.constant(1i64), g.constant([[10i64], [20]]));
    assert_exact(
        &eval(s),
        DType::I64,
        &[2, 3],
        &[1.0, 10.0, 1.0, 1.0, 20.0, 1.0],
    );
    let e = g.select(
        g.constant(true),
        g.zeros(&[2, 0, 5], DType::F32),
        g.constant(1.0f32),
    );
    assert_f32(&eval(e), &[2, 0, 5], &[]);
    assert!(g
        .try_select(x.greater(0.0f32), x, g.constant([1i32]))
        .is_err());
    assert!(g.try_select(x, x, x).is_err(), "the condition must be bool");
}

#[test]
fn clip_by_value_values() {
    let g = Graph::new();
    let x = g.constant([-5.0f32, -1.0, 0.5, 2.0, 9.0]);
    assert_f32(
        &eval(x.clip_by_value(-1.0f32, 2.0f32)),
        &[5],
        &[-1.0, -1.0, 0.5, 2.0, 2.0],
    );
    let lo = g.constant([0.0f32, 0.0, 1.0, 1.0, 1.0]);
    assert_f32(
        &eval(x.clip_by_value(lo, 3.0f32)),
        &[5],
        &[0.0, 0.0, 1.0, 2.0, 3.0],
    );
    let i = g.constant([-7i32, 3, 12]);
    assert_exact(
        &eval(i.clip_by_value(0i32, 10i32)),
        DType::I32,
        &[3],
        &[0.0, 3.0, 10.0],
    );
}

#[test]
fn cast_values() {
    let g = Graph::new();
    let f = g.constant([-1.7f32, -0.2, 0.0, 2.9, 3.0]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            f.cast(DType::I32),
            f.cast(DType::Bool),
            f.cast(DType::F64),
            f.cast(DType::I64),
        ],
        &[],
    );
    // Float to int truncates toward zero, as C and TF do.
    assert_exact(&out[0], DType::I32, &[5], &[-1.0, 0.0, 0.0, 2.0, 3.0]);
    assert_bools(&out[1], &[5], &[true, true, false, true, true]);
    assert_close(
        &out[2],
        DType::F64,
        &[5],
        &f32v(&[-1.7, -0.2, 0.0, 2.9, 3.0]),
        0.0,
    );
    assert_exact(&out[3], DType::I64, &[5], &[-1.0, 0.0, 0.0, 2.0, 3.0]);
    let b = g.constant([true, false]);
    assert_f32(&eval(b.cast(DType::F32)), &[2], &[1.0, 0.0]);
    let big = g.constant([16_777_217i64]);
    assert_eq!(
        eval(big.cast(DType::F32)),
        Value::from(array![16_777_216.0f32])
    );
    assert_f32(
        &eval(g.zeros(&[2, 0, 5], DType::I32).cast(DType::F32)),
        &[2, 0, 5],
        &[],
    );
}

/// A naive matrix product of row-major `a` (m×k) and `b` (k×n).
fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    out
}

#[test]
fn matmul_2d_and_transposes() {
    let g = Graph::new();
    let a = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = g.constant([[7.0f32, 8.0], [9.0, 10.0], [11.0, 12.0]]);
    let at = g.constant([[1.0f32, 4.0], [2.0, 5.0], [3.0, 6.0]]);
    let bt = g.constant([[7.0f32, 9.0, 11.0], [8.0, 10.0, 12.0]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            a.matmul(b),
            at.matmul_t(b, true, false),
            a.matmul_t(bt, false, true),
            at.matmul_t(bt, true, true),
            b.matmul(a),
        ],
        &[],
    );
    for v in &out[..4] {
        assert_f32(v, &[2, 2], &[58.0, 64.0, 139.0, 154.0]);
    }
    assert_f32(
        &out[4],
        &[3, 3],
        &[39.0, 54.0, 69.0, 49.0, 68.0, 87.0, 59.0, 82.0, 105.0],
    );
    assert_eq!(a.matmul(b).shape().to_string(), "[2,2]");
}

#[test]
fn matmul_batched_broadcast() {
    // a: (2,1,2,3), b: (3,3,4) -> (2,3,2,4); batch axes broadcast as in NumPy's matmul.
    let av: Vec<f64> = (0..12).map(|v| v as f64 * 0.5 - 2.0).collect();
    let bv: Vec<f64> = (0..36).map(|v| (v % 7) as f64 - 3.0).collect();
    let g = Graph::new();
    let a = g.constant(Value::from_vec(&[2, 1, 2, 3], av.clone()).unwrap());
    let b = g.constant(Value::from_vec(&[3, 3, 4], bv.clone()).unwrap());
    let c = a.matmul(b);
    assert_eq!(c.shape().to_string(), "[2,3,2,4]");
    let mut want = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            want.extend(naive(
                &av[i * 6..i * 6 + 6],
                &bv[j * 12..j * 12 + 12],
                2,
                3,
                4,
            ));
        }
    }
    assert_close(&eval(c), DType::F64, &[2, 3, 2, 4], &want, 1e-12);
    // Batched with transpose_b: (2,2,3) x (2,4,3)^T -> (2,2,4).
    let bt: Vec<f64> = (0..24).map(|v| v as f64).collect();
    let b2 = g.constant(Value::from_vec(&[2, 4, 3], bt.clone()).unwrap());
    let a2 = g.constant(Value::from_vec(&[2, 2, 3], av.clone()).unwrap());
    let mut want = Vec::new();
    for i in 0..2 {
        let m = &bt[i * 12..i * 12 + 12];
        let tr: Vec<f64> = (0..12).map(|p| m[(p % 4) * 3 + p / 4]).collect();
        want.extend(naive(&av[i * 6..i * 6 + 6], &tr, 2, 3, 4));
    }
    assert_close(
        &eval(a2.matmul_t(b2, false, true)),
        DType::F64,
        &[2, 2, 4],
        &want,
        1e-12,
    );
    // Unknown batch size, fed at run time.
    let x = g.placeholder(DType::F64, [None, Some(2), Some(3)], "x");
    let w = g.constant(Value::from_vec(&[3, 4], bv[..12].to_vec()).unwrap());
    let xv = Value::from_vec(&[2, 2, 3], av.clone()).unwrap();
    let y = eval_in(&Session::new(&g), x.matmul(w), &[feed(x, &xv)]);
    let mut want = naive(&av[..6], &bv[..12], 2, 3, 4);
    want.extend(naive(&av[6..], &bv[..12], 2, 3, 4));
    assert_close(&y, DType::F64, &[2, 2, 4], &want, 1e-12);
}

#[test]
fn matmul_int_and_empty() {
    let g = Graph::new();
    let a = g.constant([[1i32, 2], [3, 4]]);
    let b = g.constant([[5i32, 6], [7, 8]]);
    assert_exact(
        &eval(a.matmul(b)),
        DType::I32,
        &[2, 2],
        &[19.0, 22.0, 43.0, 50.0],
    );
    let a = g.constant(ArrayD::<i64>::from_shape_vec(IxDyn(&[1, 2, 2]), vec![1, 0, 0, 1]).unwrap());
    let b = g.constant([[2i64, 3], [4, 5]]);
    assert_exact(
        &eval(a.matmul(b)),
        DType::I64,
        &[1, 2, 2],
        &[2.0, 3.0, 4.0, 5.0],
    );
    // Empty inner dimension: a sum of nothing, zeros.
    let z = g
        .zeros(&[2, 0], DType::F32)
        .matmul(g.zeros(&[0, 3], DType::F32));
    assert_f32(&eval(z), &[2, 3], &[0.0; 6]);
    let z = g
        .zeros(&[0, 3], DType::F32)
        .matmul(g.ones(&[3, 4], DType::F32));
    assert_f32(&eval(z), &[0, 4], &[]);
    let z = g
        .zeros(&[2, 0, 2, 3], DType::F32)
        .matmul(g.ones(&[3, 5], DType::F32));
    assert_f32(&eval(z), &[2, 0, 2, 5], &[]);
    let z = g
        .zeros(&[2, 0, 3], DType::F32)
        .matmul(g.zeros(&[2, 3, 0], DType::F32));
    assert_f32(&eval(z), &[2, 0, 0], &[]);
}

#[test]
fn matmul_inner_dim_mismatch() {
    let g = Graph::new();
    let a = g.ones(&[2, 3], DType::F32);
    let b = g.ones(&[2, 2], DType::F32);
    assert_err_contains(a.try_matmul(b), "Dimensions must be equal, but are 3 and 2");
    assert!(a.try_matmul_t(b, true, false).is_ok());
    assert!(
        g.ones(&[3], DType::F32).try_matmul(b).is_err(),
        "rank 1 is refused"
    );
    assert!(
        g.ones(&[2, 2, 3], DType::F32)
            .try_matmul(g.ones(&[3, 3, 1], DType::F32))
            .is_err(),
        "batch 2 vs 3"
    );
    // Unknown inner dimensions are checked when the graph runs.
    let x = g.placeholder(DType::F32, [None, None], "x");
    let y = g.placeholder(DType::F32, [None, None], "y");
    let (xv, yv) = (
        Value::full(DType::F32, &[2, 3], 1.0),
        Value::full(DType::F32, &[2, 2], 1.0),
    );
    let r = try_eval_in(
        &Session::new(&g),
        x.matmul(y),
        &[feed(x, &xv), feed(y, &yv)],
    );
    assert_err_contains(r, "Matrix size-incompatible");
}
