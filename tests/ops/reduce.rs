//! Forward tests of the reductions (sum, mean, max, min with axes, keep_dims and ALL, empty
//! inputs), argmax / argmin, softmax and log_softmax.

use crate::common::*;
use rill::prelude::*;

forward_tests![
    sum_mean_max_min_over_axes,
    reductions_keep_dims_and_negative_axes,
    reductions_over_all,
    int_reductions,
    empty_reductions,
    reduce_errors,
    argmax_argmin_values,
    argmax_argmin_edge_cases,
    softmax_values,
    softmax_large_inputs_are_stable,
    log_softmax_values_and_stability,
    softmax_empty_and_errors,
];

/// 0..24 as a (2,3,4) f64 tensor.
fn iota<'g>(g: &'g Graph) -> Tensor<'g> {
    let v: Vec<f64> = (0..24).map(f64::from).collect();
    g.constant(Value::from_vec(&[2, 3, 4], v).unwrap())
}

#[test]
fn sum_mean_max_min_over_axes() {
    let g = Graph::new();
    let x = g.constant([[1.0f32, -2.0, 3.0], [4.0, 5.0, -6.0]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.sum(0, false),
            x.sum(1, false),
            x.mean(0, false),
            x.mean(1, false),
        ],
        &[],
    );
    assert_f32(&out[0], &[3], &[5.0, 3.0, -3.0]);
    assert_f32(&out[1], &[2], &[2.0, 3.0]);
    assert_f32(&out[2], &[3], &[2.5, 1.5, -1.5]);
    assert_f32(&out[3], &[2], &[2.0 / 3.0, 1.0]);
    let out = run(
        &sess,
        &[
            x.max(0, false),
            x.max(1, false),
            x.min(0, false),
            x.min(1, false),
        ],
        &[],
    );
    assert_f32(&out[0], &[3], &[4.0, 5.0, 3.0]);
    assert_f32(&out[1], &[2], &[3.0, 5.0]);
    assert_f32(&out[2], &[3], &[1.0, -2.0, -6.0]);
    assert_f32(&out[3], &[2], &[-2.0, -6.0]);
    // Two axes of a rank-3 tensor: NumPy's x.sum(axis=(0, 2)).
    let t = iota(&g);
    let out = run(
        &sess,
        &[
            t.sum([0, 2], false),
            t.mean([0, 2], false),
            t.max([2, 0], false),
            t.min([1, 2], false),
        ],
        &[],
    );
    assert_f64(&out[0], &[3], &[60.0, 92.0, 124.0]);
    assert_f64(&out[1], &[3], &[7.5, 11.5, 15.5]);
    assert_f64(&out[2], &[3], &[15.0, 19.0, 23.0]);
    assert_f64(&out[3], &[2], &[0.0, 12.0]);
}

#[test]
fn reductions_keep_dims_and_negative_axes() {
    let g = Graph::new();
    let t = iota(&g);
    let sess = Session::new(&g);
    let s = t.sum(-1, true);
    assert_eq!(s.shape().to_string(), "[2,3,1]");
    let out = run(
        &sess,
        &[s, t.mean([0, -1], true), t.max(1, true), t.min([-3], true)],
        &[],
    );
    assert_f64(&out[0], &[2, 3, 1], &[6.0, 22.0, 38.0, 54.0, 70.0, 86.0]);
    assert_f64(&out[1], &[1, 3, 1], &[7.5, 11.5, 15.5]);
    assert_f64(
        &out[2],
        &[2, 1, 4],
        &[8.0, 9.0, 10.0, 11.0, 20.0, 21.0, 22.0, 23.0],
    );
    let mins: Vec<f64> = (0..12).map(f64::from).collect();
    assert_f64(&out[3], &[1, 3, 4], &mins);
    // Repeated axes count once.
    assert_f64(
        &eval(t.sum([1, 1, -2], false)),
        &[2, 4],
        &[12.0, 15.0, 18.0, 21.0, 48.0, 51.0, 54.0, 57.0],
    );
}

#[test]
fn reductions_over_all() {
    let g = Graph::new();
    let t = iota(&g);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            t.sum(ALL, false),
            t.mean(ALL, false),
            t.max(ALL, true),
            t.min(ALL, true),
        ],
        &[],
    );
    assert_f64(&out[0], &[], &[276.0]);
    assert_f64(&out[1], &[], &[11.5]);
    assert_f64(&out[2], &[1, 1, 1], &[23.0]);
    assert_f64(&out[3], &[1, 1, 1], &[0.0]);
    // A scalar reduces to itself.
    let s = g.constant(3.5f32);
    assert_f32(&eval(s.sum(ALL, false)), &[], &[3.5]);
    assert_f32(&eval(s.mean(ALL, true)), &[], &[3.5]);
    // NaN propagates through max and min.
    let n = g.constant([1.0f32, f32::NAN, 3.0]);
    let out = run(
        &sess,
        &[n.max(ALL, false), n.min(ALL, false), n.sum(ALL, false)],
        &[],
    );
    for v in &out {
        assert_f32(v, &[], &[f64::NAN]);
    }
}

#[test]
fn int_reductions() {
    let g = Graph::new();
    let x = g.constant([[3i32, -1, 4], [1, -5, 9]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.sum(ALL, false),
            x.sum(0, false),
            x.max(1, false),
            x.min(ALL, true),
        ],
        &[],
    );
    assert_exact(&out[0], DType::I32, &[], &[11.0]);
    assert_exact(&out[1], DType::I32, &[3], &[4.0, -6.0, 13.0]);
    assert_exact(&out[2], DType::I32, &[2], &[4.0, 9.0]);
    assert_exact(&out[3], DType::I32, &[1, 1], &[-5.0]);
    let l = g.constant([i64::MAX, 1]);
    assert_exact(&eval(l.max(0, false)), DType::I64, &[], &[i64::MAX as f64]);
    assert!(x.try_mean(0, false).is_err(), "mean of integers is refused");
}

#[test]
fn empty_reductions() {
    let g = Graph::new();
    let e = g.zeros(&[2, 0, 5], DType::F32);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            e.sum(1, false),
            e.mean(1, false),
            e.sum(ALL, false),
            e.mean(ALL, false),
        ],
        &[],
    );
    // NumPy: np.zeros((2,0,5)).sum(axis=1) is zeros((2,5)); the mean is NaN (0/0).
    assert_f32(&out[0], &[2, 5], &[0.0; 10]);
    assert_f32(&out[1], &[2, 5], &[f64::NAN; 10]);
    assert_f32(&out[2], &[], &[0.0]);
    assert_f32(&out[3], &[], &[f64::NAN]);
    // TF's identities: max of nothing is -inf, min is +inf (the lowest / highest for ints).
    let out = run(&sess, &[e.max(1, true), e.min(ALL, false)], &[]);
    assert_f32(&out[0], &[2, 1, 5], &[f64::NEG_INFINITY; 10]);
    assert_f32(&out[1], &[], &[f64::INFINITY]);
    let ie = g.zeros(&[0, 3], DType::I32);
    let out = run(
        &sess,
        &[ie.sum(0, false), ie.max(0, false), ie.sum(1, false)],
        &[],
    );
    assert_exact(&out[0], DType::I32, &[3], &[0.0; 3]);
    assert_exact(&out[1], DType::I32, &[3], &[i32::MIN as f64; 3]);
    assert_exact(&out[2], DType::I32, &[0], &[]);
    // Reducing a non-empty axis of an empty tensor keeps it empty.
    assert_f32(&eval(e.sum(2, false)), &[2, 0], &[]);
}

#[test]
fn reduce_errors() {
    let g = Graph::new();
    let x = g.ones(&[2, 3], DType::F32);
    assert_err_contains(x.try_sum(2, false), "out of range");
    assert_err_contains(x.try_max(-3, false), "out of range");
    assert!(
        g.constant([true]).try_sum(0, false).is_err(),
        "sum of bools is refused"
    );
}

#[test]
fn argmax_argmin_values() {
    let g = Graph::new();
    let x = g.constant([
        [1.0f32, 9.0, 3.0, 9.0],
        [7.0, -2.0, 7.0, 0.0],
        [0.5, 0.5, 8.0, -2.0],
    ]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[x.argmax(1), x.argmax(0), x.argmin(1), x.argmin(-2)],
        &[],
    );
    // Ties go to the first index, as in NumPy.
    assert_exact(&out[0], DType::I64, &[3], &[1.0, 0.0, 2.0]);
    assert_exact(&out[1], DType::I64, &[4], &[1.0, 0.0, 2.0, 0.0]);
    assert_exact(&out[2], DType::I64, &[3], &[0.0, 1.0, 3.0]);
    assert_exact(&out[3], DType::I64, &[4], &[2.0, 1.0, 0.0, 2.0]);
    let i = g.constant([[4i32, -1, 4], [0, 2, 2]]);
    let out = run(&sess, &[i.argmax(-1), i.argmin(1)], &[]);
    assert_exact(&out[0], DType::I64, &[2], &[0.0, 1.0]);
    assert_exact(&out[1], DType::I64, &[2], &[1.0, 0.0]);
    // Rank 3, middle axis.
    let v: Vec<f64> = vec![1., 5., 2., 0., 9., 3., 4., 4., 6., 7., 1., 8.];
    let t = g.constant(Value::from_vec(&[2, 3, 2], v).unwrap());
    assert_exact(
        &eval(t.argmax(1)),
        DType::I64,
        &[2, 2],
        &[2.0, 0.0, 1.0, 2.0],
    );
}

#[test]
fn argmax_argmin_edge_cases() {
    let g = Graph::new();
    let n = g.constant([1.0f64, f64::NAN, 5.0]);
    let sess = Session::new(&g);
    // NumPy: the first NaN wins both argmax and argmin.
    let out = run(&sess, &[n.argmax(0), n.argmin(0)], &[]);
    assert_exact(&out[0], DType::I64, &[], &[1.0]);
    assert_exact(&out[1], DType::I64, &[], &[1.0]);
    // An empty non-reduced axis gives an empty result; an empty reduced axis is an error.
    let e = g.zeros(&[0, 3], DType::F32);
    assert_exact(&eval(e.argmax(1)), DType::I64, &[0], &[]);
    assert_err_contains(e.try_argmax(0), "Reduction axis is empty");
    let x = g.placeholder(DType::F32, [None], "x");
    let empty = Value::full(DType::F32, &[0], 0.0);
    assert_err_contains(
        try_eval_in(&sess, x.argmin(0), &[feed(x, &empty)]),
        "Reduction axis is empty",
    );
    assert!(
        g.constant(1.0f32).try_argmax(0).is_err(),
        "a scalar has no axis 0"
    );
}

fn softmax_ref(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
    row.iter().map(|v| (v - m).exp() / s).collect()
}

#[test]
fn softmax_values() {
    let g = Graph::new();
    let x = g.constant([[1.0f64, 2.0, 3.0], [0.0, 0.0, 0.0]]);
    let sess = Session::new(&g);
    let out = run(&sess, &[x.softmax(-1), x.softmax(0)], &[]);
    let mut want = softmax_ref(&[1.0, 2.0, 3.0]);
    want.extend([1.0 / 3.0; 3]);
    assert_f64(&out[0], &[2, 3], &want);
    let c = [
        softmax_ref(&[1.0, 0.0]),
        softmax_ref(&[2.0, 0.0]),
        softmax_ref(&[3.0, 0.0]),
    ];
    assert_f64(
        &out[1],
        &[2, 3],
        &[c[0][0], c[1][0], c[2][0], c[0][1], c[1][1], c[2][1]],
    );
    let f = g.constant([[-1.0f32, 0.5], [2.0, 2.0]]).softmax(1);
    let r = softmax_ref(&[-1.0, 0.5]);
    assert_f32(&eval(f), &[2, 2], &[r[0], r[1], 0.5, 0.5]);
}

#[test]
fn softmax_large_inputs_are_stable() {
    let g = Graph::new();
    let x = g.constant([[1000.0f32, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0]]);
    let out = eval(x.softmax(1));
    let r = softmax_ref(&[0.0, 1.0, 2.0]);
    assert_f32(&out, &[2, 3], &[r[0], r[1], r[2], r[2], r[1], r[0]]);
    // -inf logits get probability 0.
    let m = g.constant([f64::NEG_INFINITY, 0.0, 0.0]).softmax(0);
    assert_f64(&eval(m), &[3], &[0.0, 0.5, 0.5]);
}

#[test]
fn log_softmax_values_and_stability() {
    let g = Graph::new();
    let x = g.constant([[1.0f64, 2.0, 3.0], [1000.0, 0.0, -1000.0]]);
    let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    let want = [1.0 - lse, 2.0 - lse, 3.0 - lse, 0.0, -1000.0, -2000.0];
    assert_f64(&eval(x.log_softmax(1)), &[2, 3], &want);
    let y = g
        .constant([[1e4f32, 1e4 + 1.0], [-1e4, -1e4]])
        .log_softmax(-1);
    let l2 = (1.0f64 + 1f64.exp()).ln();
    let out = eval(y);
    assert_close(
        &out,
        DType::F32,
        &[2, 2],
        &[-l2, 1.0 - l2, -(2f64.ln()), -(2f64.ln())],
        1e-6,
    );
    // Along the first axis.
    let z = g.constant([[0.0f64], [0.0]]).log_softmax(0);
    assert_f64(&eval(z), &[2, 1], &[-(2f64.ln()), -(2f64.ln())]);
}

#[test]
fn softmax_empty_and_errors() {
    let g = Graph::new();
    let e = g.zeros(&[2, 0, 5], DType::F32);
    let sess = Session::new(&g);
    let out = run(&sess, &[e.softmax(-1), e.log_softmax(1)], &[]);
    assert_f32(&out[0], &[2, 0, 5], &[]);
    assert_f32(&out[1], &[2, 0, 5], &[]);
    assert!(
        g.constant([1i32, 2]).try_softmax(0).is_err(),
        "softmax is for floats"
    );
    assert_err_contains(g.ones(&[2], DType::F32).try_log_softmax(1), "out of range");
}
