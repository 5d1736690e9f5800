//! Forward tests of the ops without inputs: constants, zeros / ones / fill, linspace, range,
//! the random ops (seeded), and placeholders.

use crate::common::*;
use ndarray::{array, ArrayD, IxDyn};
use rill::prelude::*;
use rill::Shape;

forward_tests![
    constant_scalars_and_arrays,
    constant_with_dtype_and_shape,
    zeros_ones_fill,
    linspace_values,
    range_values,
    random_ops_are_seeded,
    random_normal_statistics,
    random_uniform_bounds_and_statistics,
    truncated_normal_within_two_stddev,
    random_empty_and_errors,
    placeholder_feeds,
];

#[test]
fn constant_scalars_and_arrays() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let scalars = [
        g.constant(1.5f32),
        g.constant(-2.25f64),
        g.constant(7i32),
        g.constant(-8i64),
        g.constant(true),
    ];
    let out = run(&sess, &scalars, &[]);
    assert_f32(&out[0], &[], &[1.5]);
    assert_f64(&out[1], &[], &[-2.25]);
    assert_exact(&out[2], DType::I32, &[], &[7.0]);
    assert_exact(&out[3], DType::I64, &[], &[-8.0]);
    assert_bools(&out[4], &[], &[true]);
    let arrays = [
        g.constant([1.0f32, 2.0]),
        g.constant([[1i32, 2, 3], [4, 5, 6]]),
        g.constant([[[1.0f64], [2.0]], [[3.0], [4.0]]]),
        g.constant(vec![5i64, 6, 7]),
        g.constant(array![[true, false]]),
        g.constant(ArrayD::<f32>::zeros(IxDyn(&[2, 0, 5]))),
        g.constant(Vec::<f32>::new()),
    ];
    let out = run(&sess, &arrays, &[]);
    assert_f32(&out[0], &[2], &[1.0, 2.0]);
    assert_exact(
        &out[1],
        DType::I32,
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_f64(&out[2], &[2, 2, 1], &[1.0, 2.0, 3.0, 4.0]);
    assert_exact(&out[3], DType::I64, &[3], &[5.0, 6.0, 7.0]);
    assert_bools(&out[4], &[1, 2], &[true, false]);
    assert_f32(&out[5], &[2, 0, 5], &[]);
    assert_f32(&out[6], &[0], &[]);
    assert_eq!(arrays[2].shape().to_string(), "[2,2,1]");
    assert_eq!(arrays[5].shape().to_string(), "[2,0,5]");
    // Special float values survive.
    let sp = g.constant([f32::NAN, f32::INFINITY, -0.0]);
    assert_f32(&eval(sp), &[3], &[f64::NAN, f64::INFINITY, 0.0]);
}

#[test]
fn constant_with_dtype_and_shape() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            // A scalar filled out to a shape.
            g.constant_with(3i32, DType::F32, Some(&[2, 2])),
            // A list reshaped (same element count) and cast.
            g.constant_with(
                [1.9f64, -1.9, 3.0, 4.0, 5.0, 6.0],
                DType::I32,
                Some(&[3, 2]),
            ),
            // Cast only.
            g.constant_with([0.0f32, 2.0], DType::Bool, None),
            g.constant_with(1.0f32, DType::I64, Some(&[2, 0, 5])),
            g.constant_with([[1.0f32, 2.0]], DType::F64, Some(&[2])),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 2], &[3.0; 4]);
    assert_exact(
        &out[1],
        DType::I32,
        &[3, 2],
        &[1.0, -1.0, 3.0, 4.0, 5.0, 6.0],
    );
    assert_bools(&out[2], &[2], &[false, true]);
    assert_exact(&out[3], DType::I64, &[2, 0, 5], &[]);
    assert_f64(&out[4], &[2], &[1.0, 2.0]);
    assert_err_contains(
        g.try_constant_with([1.0f32, 2.0, 3.0], DType::F32, Some(&[2, 2])),
        "3 elements",
    );
}

#[test]
fn zeros_ones_fill() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.zeros(&[2, 3], DType::F32),
            g.ones(&[3], DType::I64),
            g.fill(&[2, 2], 2.5, DType::F64),
            g.fill(&[3], -7.9, DType::I32),
            g.ones(&[2, 0, 5], DType::F32),
            g.zeros(&[], DType::Bool),
            g.ones(&[2], DType::Bool),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 3], &[0.0; 6]);
    assert_exact(&out[1], DType::I64, &[3], &[1.0; 3]);
    assert_f64(&out[2], &[2, 2], &[2.5; 4]);
    // A float fill value is converted with `as`: truncated toward zero.
    assert_exact(&out[3], DType::I32, &[3], &[-7.0; 3]);
    assert_f32(&out[4], &[2, 0, 5], &[]);
    assert_bools(&out[5], &[], &[false]);
    assert_bools(&out[6], &[2], &[true, true]);
    assert_f32(
        &eval(g.try_fill(&[1], f64::NAN, DType::F32).unwrap()),
        &[1],
        &[f64::NAN],
    );
}

#[test]
fn linspace_values() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.linspace(0.0, 1.0, 5, DType::F32),
            g.linspace(-1.0, 1.0, 3, DType::F64),
            g.linspace(2.0, 2.0, 1, DType::F32),
            g.linspace(10.0, 0.0, 6, DType::F64),
            g.linspace(0.0, 1.0, 2, DType::F32),
        ],
        &[],
    );
    assert_f32(&out[0], &[5], &[0.0, 0.25, 0.5, 0.75, 1.0]);
    assert_f64(&out[1], &[3], &[-1.0, 0.0, 1.0]);
    assert_f32(&out[2], &[1], &[2.0]);
    assert_f64(&out[3], &[6], &[10.0, 8.0, 6.0, 4.0, 2.0, 0.0]);
    assert_f32(&out[4], &[2], &[0.0, 1.0]);
    // The end point is exact even where start + step * (n - 1) would round.
    let v = eval(g.linspace(0.0, 0.3, 4, DType::F64)).to_f64_vec();
    assert_eq!(v[3], 0.3);
    assert_eq!(
        g.linspace(0.0, 1.0, 7, DType::F32).shape().to_string(),
        "[7]"
    );
    assert!(g.try_linspace(0.0, 1.0, 0, DType::F32).is_err(), "num 0");
    assert!(
        g.try_linspace(0.0, 1.0, 3, DType::I32).is_err(),
        "integer dtype"
    );
}

#[test]
fn range_values() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let ranges = [
        g.range(0.0, 5.0, 1.0, DType::I32),
        g.range(3.0, 18.0, 4.0, DType::I64),
        g.range(5.0, 0.0, -2.0, DType::I32),
        g.range(0.0, 1.0, 0.25, DType::F32),
        g.range(1.0, 0.0, -0.3, DType::F64),
        g.range(2.0, 2.0, 1.0, DType::I32),
        g.range(-3.0, 0.0, 1.0, DType::F64),
    ];
    assert_eq!(ranges[3].shape().to_string(), "[4]");
    let out = run(&sess, &ranges, &[]);
    assert_exact(&out[0], DType::I32, &[5], &[0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_exact(&out[1], DType::I64, &[4], &[3.0, 7.0, 11.0, 15.0]);
    assert_exact(&out[2], DType::I32, &[3], &[5.0, 3.0, 1.0]);
    assert_f32(&out[3], &[4], &[0.0, 0.25, 0.5, 0.75]);
    // NumPy: np.arange(1, 0, -0.3) = [1, 0.7, 0.4, 0.1].
    assert_f64(&out[4], &[4], &[1.0, 0.7, 0.4, 0.1]);
    assert_exact(&out[5], DType::I32, &[0], &[]);
    assert_f64(&out[6], &[3], &[-3.0, -2.0, -1.0]);
    assert!(g.try_range(0.0, 5.0, 0.0, DType::I32).is_err(), "delta 0");
    assert_err_contains(
        g.try_range(5.0, 0.0, 1.0, DType::I32),
        "requires start <= limit",
    );
    assert!(
        g.try_range(0.0, 5.0, -1.0, DType::F32).is_err(),
        "start < limit with a negative delta"
    );
    assert!(
        g.try_range(0.0, 5.0, 1.0, DType::Bool).is_err(),
        "bool dtype"
    );
}

/// Mean and (population) standard deviation.
fn stats(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[test]
fn random_ops_are_seeded() {
    let draw = |seed: Option<u64>| {
        let g = Graph::new();
        let n = g.random_normal(&[50], 0.0, 1.0, DType::F32, seed);
        let u = g.random_uniform(&[50], 0.0, 1.0, DType::F64, seed);
        let t = g.truncated_normal(&[50], 0.0, 1.0, DType::F32, seed);
        let sess = Session::new(&g);
        let first = run(&sess, &[n, u, t], &[]);
        let second = run(&sess, &[n, u, t], &[]);
        (first, second)
    };
    let (a1, a2) = draw(Some(42));
    let (b1, _) = draw(Some(42));
    let (c1, _) = draw(Some(7));
    let (d1, _) = draw(None);
    let (e1, _) = draw(None);
    // Same seed, same program: the same numbers, in a new graph and session too.
    assert_eq!(a1, b1);
    // Without an op seed the graph seed decides, so a rebuilt program repeats too.
    assert_eq!(d1, e1);
    for i in 0..3 {
        assert_ne!(a1[i], c1[i], "another seed draws other numbers");
        assert_ne!(a1[i], a2[i], "every run draws anew");
        assert_eq!(a1[i].shape(), &[50]);
    }
    assert_eq!(a1[1].dtype(), DType::F64);
    // Two unseeded ops in one graph differ from each other.
    let g = Graph::new();
    let x = g.random_normal(&[20], 0.0, 1.0, DType::F64, None);
    let y = g.random_normal(&[20], 0.0, 1.0, DType::F64, None);
    let out = run(&Session::new(&g), &[x, y], &[]);
    assert_ne!(out[0], out[1]);
    // The graph-level seed changes unseeded ops.
    let h = Graph::new();
    h.set_random_seed(1234);
    let z = h.random_normal(&[20], 0.0, 1.0, DType::F64, None);
    assert_ne!(eval(z), out[0]);
}

#[test]
fn random_normal_statistics() {
    let g = Graph::new();
    let x = g.random_normal(&[200, 500], 3.0, 2.0, DType::F64, Some(1));
    let v = eval(x);
    assert_eq!(v.shape(), &[200, 500]);
    let (m, s) = stats(&v.to_f64_vec());
    // 100k samples: the standard error of the mean is 2/316 = 0.006.
    assert!((m - 3.0).abs() < 0.03, "mean {m}");
    assert!((s - 2.0).abs() < 0.03, "stddev {s}");
    let vals = v.to_f64_vec();
    let within1 =
        vals.iter().filter(|&&x| (x - 3.0).abs() < 2.0).count() as f64 / vals.len() as f64;
    assert!(
        (within1 - 0.6827).abs() < 0.01,
        "fraction within one stddev {within1}"
    );
    let y = eval(g.random_normal(&[10_000], -1.0, 0.5, DType::F32, Some(2)));
    assert_eq!(y.dtype(), DType::F32);
    let (m, s) = stats(&y.to_f64_vec());
    assert!(
        (m + 1.0).abs() < 0.03 && (s - 0.5).abs() < 0.03,
        "mean {m} stddev {s}"
    );
}

#[test]
fn random_uniform_bounds_and_statistics() {
    let g = Graph::new();
    let v = eval(g.random_uniform(&[100_000], -2.0, 6.0, DType::F64, Some(3))).to_f64_vec();
    assert!(
        v.iter().all(|&x| (-2.0..6.0).contains(&x)),
        "value outside [-2, 6)"
    );
    let (m, s) = stats(&v);
    assert!((m - 2.0).abs() < 0.05, "mean {m}");
    // The stddev of U[a, b) is (b - a) / sqrt(12).
    assert!((s - 8.0 / 12f64.sqrt()).abs() < 0.03, "stddev {s}");
    let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        lo < -1.99 && hi > 5.99,
        "the draws should fill the range: [{lo}, {hi}]"
    );
    // Each eighth of the range gets about an eighth of the draws.
    for k in 0..8 {
        let a = -2.0 + k as f64;
        let frac = v.iter().filter(|&&x| x >= a && x < a + 1.0).count() as f64 / v.len() as f64;
        assert!((frac - 0.125).abs() < 0.01, "bin {k}: {frac}");
    }
    let f = eval(g.random_uniform(&[2, 3], 0.0, 1.0, DType::F32, None));
    assert_eq!((f.dtype(), f.shape()), (DType::F32, &[2usize, 3][..]));
    assert!(f.to_f64_vec().iter().all(|&x| (0.0..1.0).contains(&x)));
}

#[test]
fn truncated_normal_within_two_stddev() {
    let g = Graph::new();
    let v = eval(g.truncated_normal(&[100_000], 1.0, 3.0, DType::F64, Some(4))).to_f64_vec();
    assert!(
        v.iter().all(|&x| (x - 1.0).abs() <= 6.0),
        "a value beyond two stddevs"
    );
    let (m, s) = stats(&v);
    assert!((m - 1.0).abs() < 0.05, "mean {m}");
    // A standard normal truncated to [-2, 2] has stddev 0.8796.
    assert!((s - 3.0 * 0.8796).abs() < 0.05, "stddev {s}");
    let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        hi > 6.9,
        "the tails up to two stddevs should be reached: max {hi}"
    );
    let f = eval(g.truncated_normal(&[1000], 0.0, 0.1, DType::F32, Some(5)));
    assert_eq!(f.dtype(), DType::F32);
    assert!(f.to_f64_vec().iter().all(|&x| x.abs() <= 0.2 + 1e-7));
}

#[test]
fn random_empty_and_errors() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.random_normal(&[2, 0, 5], 0.0, 1.0, DType::F32, Some(1)),
            g.random_uniform(&[0], 0.0, 1.0, DType::F64, None),
            g.truncated_normal(&[3, 0], 0.0, 1.0, DType::F32, None),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 0, 5], &[]);
    assert_f64(&out[1], &[0], &[]);
    assert_f32(&out[2], &[3, 0], &[]);
    assert!(
        g.try_random_uniform(&[2], 1.0, 1.0, DType::F32, None)
            .is_err(),
        "min must be below max"
    );
    assert!(
        g.try_random_normal(&[2], 0.0, 1.0, DType::I32, None)
            .is_err(),
        "random ints"
    );
    assert!(g
        .try_truncated_normal(&[2], 0.0, 1.0, DType::Bool, None)
        .is_err());
}

#[test]
fn placeholder_feeds() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    assert_eq!(x.shape().to_string(), "[?,3]");
    let sess = Session::new(&g);
    let xv = Value::from(array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    // Fetching a fed placeholder returns the fed value.
    assert_f32(
        &eval_in(&sess, x, &[feed(x, &xv)]),
        &[2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    );
    let empty = Value::full(DType::F32, &[0, 3], 0.0);
    assert_f32(
        &eval_in(&sess, x * 2.0f32, &[feed(x, &empty)]),
        &[0, 3],
        &[],
    );
    let bad = Value::from(array![[1.0f32, 2.0]]);
    assert_err_contains(
        try_eval_in(&sess, x, &[feed(x, &bad)]),
        "Cannot feed value of shape (1, 2) for Tensor x:0, which has shape (None, 3)",
    );
    let wrong = Value::from(array![[1.0f64, 2.0, 3.0]]);
    assert_err_contains(try_eval_in(&sess, x, &[feed(x, &wrong)]), "dtype");
    assert_err_contains(
        try_eval_in(&sess, x + 1.0f32, &[]),
        "You must feed a value for placeholder tensor 'x'",
    );
    // A scalar placeholder, and one of fully known shape.
    let s = g.placeholder(DType::I64, Shape::scalar(), "s");
    let sv = Value::scalar(9i64);
    assert_exact(
        &eval_in(&sess, s * 2i64, &[feed(s, &sv)]),
        DType::I64,
        &[],
        &[18.0],
    );
    let k = g.placeholder(DType::Bool, [2usize], "k");
    let kv = Value::from(array![true, false]);
    assert_bools(&eval_in(&sess, k, &[feed(k, &kv)]), &[2], &[true, false]);
}
