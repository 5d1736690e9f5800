//! Forward tests of the shape and indexing ops: reshape, transpose / permute, expand_dims,
//! squeeze, concat, stack, slice, gather, one_hot and shape_of.

use crate::common::*;
use ndarray::array;
use rill::prelude::*;

forward_tests![
    reshape_values_and_wildcard,
    reshape_unknown_batch_dim,
    reshape_empty_and_errors,
    transpose_and_permute,
    transpose_empty_and_errors,
    expand_dims_axes,
    squeeze_axes,
    concat_axes,
    concat_empty_and_errors,
    stack_axes,
    slice_blocks,
    slice_errors,
    gather_axes,
    gather_empty_and_errors,
    one_hot_values,
    shape_of_values,
];

fn iota_f32<'g>(g: &'g Graph, shape: &[usize]) -> Tensor<'g> {
    let n: usize = shape.iter().product();
    g.constant(Value::from_vec(shape, (0..n).map(|v| v as f32).collect()).unwrap())
}

fn iota(n: usize) -> Vec<f64> {
    (0..n).map(|v| v as f64).collect()
}

#[test]
fn reshape_values_and_wildcard() {
    let g = Graph::new();
    let x = iota_f32(&g, &[2, 3, 4]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.reshape(&[6, 4]),
            x.reshape(&[-1]),
            x.reshape(&[4, -1, 2]),
            x.reshape(&[24, 1]),
        ],
        &[],
    );
    assert_f32(&out[0], &[6, 4], &iota(24));
    assert_f32(&out[1], &[24], &iota(24));
    assert_f32(&out[2], &[4, 3, 2], &iota(24));
    assert_f32(&out[3], &[24, 1], &iota(24));
    assert_eq!(x.reshape(&[4, -1, 2]).shape().to_string(), "[4,3,2]");
    // To and from a scalar.
    let s = g.constant([7i64]).reshape(&[]);
    assert_exact(&eval(s), DType::I64, &[], &[7.0]);
    assert_exact(
        &eval(g.constant(7i32).reshape(&[1, 1])),
        DType::I32,
        &[1, 1],
        &[7.0],
    );
}

#[test]
fn reshape_unknown_batch_dim() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(4)], "x");
    let y = x.reshape(&[-1, 2]);
    assert_eq!(y.shape().to_string(), "[?,2]");
    let z = x.reshape(&[-1, 2, 2]);
    let xv = Value::from_vec(&[3, 4], (0..12).map(|v| v as f32).collect()).unwrap();
    let sess = Session::new(&g);
    let out = run(&sess, &[y, z], &[feed(x, &xv)]);
    assert_f32(&out[0], &[6, 2], &iota(12));
    assert_f32(&out[1], &[3, 2, 2], &iota(12));
    // A batch of zero rows.
    let empty = Value::full(DType::F32, &[0, 4], 0.0);
    assert_f32(&eval_in(&sess, y, &[feed(x, &empty)]), &[0, 2], &[]);
    // A fixed target that the fed batch does not fit is a run-time error.
    let w = x.reshape(&[2, 5]);
    assert_err_contains(try_eval_in(&sess, w, &[feed(x, &xv)]), "reshape");
    let ok = Value::full(DType::F32, &[3, 4], 1.0);
    assert!(
        try_eval_in(&sess, x.reshape(&[-1, 5]), &[feed(x, &ok)]).is_err(),
        "12 is not a multiple of 5"
    );
}

#[test]
fn reshape_empty_and_errors() {
    let g = Graph::new();
    let e = g.zeros(&[2, 0, 5], DType::F32);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            e.reshape(&[0, 7]),
            e.reshape(&[-1, 5]),
            e.reshape(&[5, 2, 0]),
        ],
        &[],
    );
    assert_f32(&out[0], &[0, 7], &[]);
    assert_f32(&out[1], &[0, 5], &[]);
    assert_f32(&out[2], &[5, 2, 0], &[]);
    let x = g.ones(&[2, 3], DType::F32);
    assert_err_contains(
        x.try_reshape(&[4, 2]),
        "Cannot reshape a tensor with 6 elements",
    );
    assert!(x.try_reshape(&[-1, -1]).is_err(), "two wildcards");
    assert!(x.try_reshape(&[-1, 4]).is_err(), "6 is not a multiple of 4");
    assert!(x.try_reshape(&[-2, 3]).is_err(), "negative size");
}

#[test]
fn transpose_and_permute() {
    let g = Graph::new();
    let m = g.constant([[1i32, 2, 3], [4, 5, 6]]);
    assert_exact(
        &eval(m.transpose()),
        DType::I32,
        &[3, 2],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
    let x = iota_f32(&g, &[2, 3, 4]);
    let p = x.permute(&[2, 0, 1]);
    assert_eq!(p.shape().to_string(), "[4,2,3]");
    // NumPy: np.arange(24).reshape(2,3,4).transpose(2,0,1)[k,i,j] = 12i + 4j + k.
    let mut want = Vec::new();
    for k in 0..4 {
        for i in 0..2 {
            for j in 0..3 {
                want.push((12 * i + 4 * j + k) as f64);
            }
        }
    }
    assert_f32(&eval(p), &[4, 2, 3], &want);
    // transpose() of rank 3 reverses the axes: [k,j,i] = 12i + 4j + k.
    let mut want = Vec::new();
    for k in 0..4 {
        for j in 0..3 {
            for i in 0..2 {
                want.push((12 * i + 4 * j + k) as f64);
            }
        }
    }
    assert_f32(&eval(x.transpose()), &[4, 3, 2], &want);
    assert_f32(&eval(x.permute(&[0, 1, 2])), &[2, 3, 4], &iota(24));
    let b = g.constant([[true, false]]);
    assert_bools(&eval(b.transpose()), &[2, 1], &[true, false]);
}

#[test]
fn transpose_empty_and_errors() {
    let g = Graph::new();
    let e = g.zeros(&[2, 0, 5], DType::F64);
    assert_f64(&eval(e.permute(&[2, 0, 1])), &[5, 2, 0], &[]);
    assert_f64(&eval(e.transpose()), &[5, 0, 2], &[]);
    assert_f64(&eval(g.constant(2.0f64).transpose()), &[], &[2.0]);
    assert_err_contains(e.try_permute(&[0, 0, 1]), "not a permutation");
    assert!(e.try_permute(&[0, 1]).is_err());
    assert!(e.try_permute(&[0, 1, 3]).is_err());
}

#[test]
fn expand_dims_axes() {
    let g = Graph::new();
    let x = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.expand_dims(0),
            x.expand_dims(1),
            x.expand_dims(-1),
            x.expand_dims(2),
        ],
        &[],
    );
    let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert_f32(&out[0], &[1, 2, 3], &v);
    assert_f32(&out[1], &[2, 1, 3], &v);
    assert_f32(&out[2], &[2, 3, 1], &v);
    assert_f32(&out[3], &[2, 3, 1], &v);
    assert_exact(
        &eval(g.constant(5i64).expand_dims(0)),
        DType::I64,
        &[1],
        &[5.0],
    );
    assert_f32(
        &eval(g.zeros(&[2, 0, 5], DType::F32).expand_dims(1)),
        &[2, 1, 0, 5],
        &[],
    );
    assert_err_contains(x.try_expand_dims(3), "out of range");
    assert!(x.try_expand_dims(-4).is_err());
}

#[test]
fn squeeze_axes() {
    let g = Graph::new();
    let x = g.constant(Value::from_vec(&[1, 3, 1, 2], (0..6).map(|v| v as f64).collect()).unwrap());
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.squeeze(&[]),
            x.squeeze(&[0]),
            x.squeeze(&[-2]),
            x.squeeze(&[2, 0]),
        ],
        &[],
    );
    assert_f64(&out[0], &[3, 2], &iota(6));
    assert_f64(&out[1], &[3, 1, 2], &iota(6));
    assert_f64(&out[2], &[1, 3, 2], &iota(6));
    assert_f64(&out[3], &[3, 2], &iota(6));
    assert_f64(&eval(g.constant([[4.0f64]]).squeeze(&[])), &[], &[4.0]);
    assert_f32(
        &eval(g.zeros(&[1, 0, 1, 5], DType::F32).squeeze(&[])),
        &[0, 5],
        &[],
    );
    assert_err_contains(x.try_squeeze(&[1]), "Can not squeeze dim[1]");
    // An unknown dimension is checked when the graph runs.
    let p = g.placeholder(DType::F32, [None, Some(2)], "p");
    let pv = Value::full(DType::F32, &[3, 2], 1.0);
    assert_err_contains(
        try_eval_in(&sess, p.squeeze(&[0]), &[feed(p, &pv)]),
        "Can not squeeze dim[0]",
    );
    let one = Value::full(DType::F32, &[1, 2], 1.5);
    assert_f32(
        &eval_in(&sess, p.squeeze(&[0]), &[feed(p, &one)]),
        &[2],
        &[1.5, 1.5],
    );
}

#[test]
fn concat_axes() {
    let g = Graph::new();
    let a = g.constant([[1.0f32, 2.0], [3.0, 4.0]]);
    let b = g.constant([[5.0f32, 6.0]]);
    let c = g.constant([[7.0f32], [8.0]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.concat(&[a, b], 0),
            g.concat(&[a, c, a], 1),
            g.concat(&[a, c], -1),
            g.concat(&[a], 0),
        ],
        &[],
    );
    assert_f32(&out[0], &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_f32(
        &out[1],
        &[2, 5],
        &[1.0, 2.0, 7.0, 1.0, 2.0, 3.0, 4.0, 8.0, 3.0, 4.0],
    );
    assert_f32(&out[2], &[2, 3], &[1.0, 2.0, 7.0, 3.0, 4.0, 8.0]);
    assert_f32(&out[3], &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let i = g.concat(&[g.constant([1i64, 2]), g.constant([3i64])], 0);
    assert_exact(&eval(i), DType::I64, &[3], &[1.0, 2.0, 3.0]);
    // Unknown batch dimensions are joined at run time.
    let p = g.placeholder(DType::F32, [None, Some(2)], "p");
    let j = g.concat(&[p, a], 0);
    assert_eq!(j.shape().to_string(), "[?,2]");
    let pv = Value::from(array![[9.0f32, 9.5]]);
    assert_f32(
        &eval_in(&sess, j, &[feed(p, &pv)]),
        &[3, 2],
        &[9.0, 9.5, 1.0, 2.0, 3.0, 4.0],
    );
}

#[test]
fn concat_empty_and_errors() {
    let g = Graph::new();
    let a = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let e = g.zeros(&[2, 0], DType::F32);
    let out = eval(g.concat(&[e, a, e], 1));
    assert_f32(&out, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let e3 = g.zeros(&[2, 0, 5], DType::F32);
    assert_f32(&eval(g.concat(&[e3, e3], 1)), &[2, 0, 5], &[]);
    assert_f32(&eval(g.concat(&[e3, e3], 0)), &[4, 0, 5], &[]);
    assert_err_contains(
        g.try_concat(&[a, g.ones(&[2, 2], DType::F32)], 0),
        "Dimension 1 in both shapes must be equal",
    );
    assert!(
        g.try_concat(&[a, g.ones(&[3], DType::F32)], 0).is_err(),
        "ranks differ"
    );
    assert!(
        g.try_concat(&[a, g.ones(&[2, 3], DType::F64)], 0).is_err(),
        "dtypes differ"
    );
    assert!(g.try_concat(&[], 0).is_err(), "nothing to concat");
    assert!(g.try_concat(&[a], 2).is_err(), "axis out of range");
    // Mismatched unknown dimensions fail when the graph runs.
    let p = g.placeholder(DType::F32, [None, None], "p");
    let pv = Value::full(DType::F32, &[1, 4], 0.0);
    assert!(try_eval_in(&Session::new(&g), g.concat(&[p, a], 0), &[feed(p, &pv)]).is_err());
}

#[test]
fn stack_axes() {
    let g = Graph::new();
    let a = g.constant([1.0f32, 2.0, 3.0]);
    let b = g.constant([4.0f32, 5.0, 6.0]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.stack(&[a, b], 0),
            g.stack(&[a, b], 1),
            g.stack(&[a, b, a], -1),
            g.stack(&[a], 0),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_f32(&out[1], &[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_f32(
        &out[2],
        &[3, 3],
        &[1.0, 4.0, 1.0, 2.0, 5.0, 2.0, 3.0, 6.0, 3.0],
    );
    assert_f32(&out[3], &[1, 3], &[1.0, 2.0, 3.0]);
    let s = g.stack(&[g.constant(1i32), g.constant(2i32)], 0);
    assert_exact(&eval(s), DType::I32, &[2], &[1.0, 2.0]);
    let e = g.zeros(&[2, 0, 5], DType::F32);
    assert_f32(&eval(g.stack(&[e, e, e], 1)), &[2, 3, 0, 5], &[]);
    assert!(
        g.try_stack(&[a, g.ones(&[2], DType::F32)], 0).is_err(),
        "shapes differ"
    );
    assert!(g.try_stack(&[a, b], 2).is_err(), "axis out of range");
    assert!(g.try_stack(&[], 0).is_err());
}

#[test]
fn slice_blocks() {
    let g = Graph::new();
    let x = iota_f32(&g, &[3, 4]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.slice(&[1, 1], &[2, 2]),
            x.slice(&[0, 2], &[-1, -1]),
            x.slice(&[2, 0], &[1, -1]),
            x.slice(&[1, 3], &[0, 1]),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 2], &[5.0, 6.0, 9.0, 10.0]);
    assert_f32(&out[1], &[3, 2], &[2.0, 3.0, 6.0, 7.0, 10.0, 11.0]);
    assert_f32(&out[2], &[1, 4], &[8.0, 9.0, 10.0, 11.0]);
    assert_f32(&out[3], &[0, 1], &[]);
    // To the end from the last index gives an empty axis.
    assert_f32(&eval(x.slice(&[3, 0], &[-1, -1])), &[0, 4], &[]);
    let e = g.zeros(&[2, 0, 5], DType::I32);
    assert_exact(
        &eval(e.slice(&[1, 0, 2], &[1, -1, 3])),
        DType::I32,
        &[1, 0, 3],
        &[],
    );
    // With an unknown batch dimension.
    let p = g.placeholder(DType::I64, [None, Some(3)], "p");
    let s = p.slice(&[1, 1], &[-1, 2]);
    assert_eq!(s.shape().to_string(), "[?,2]");
    let pv = Value::from(array![[1i64, 2, 3], [4, 5, 6], [7, 8, 9]]);
    assert_exact(
        &eval_in(&sess, s, &[feed(p, &pv)]),
        DType::I64,
        &[2, 2],
        &[5.0, 6.0, 8.0, 9.0],
    );
}

#[test]
fn slice_errors() {
    let g = Graph::new();
    let x = g.ones(&[3, 4], DType::F32);
    assert_err_contains(x.try_slice(&[2, 0], &[2, 1]), "out of range");
    assert!(
        x.try_slice(&[4, 0], &[-1, -1]).is_err(),
        "begin past the end"
    );
    assert!(x.try_slice(&[0], &[1]).is_err(), "one entry per axis");
    let p = g.placeholder(DType::F32, [None], "p");
    let pv = Value::full(DType::F32, &[2], 1.0);
    let r = try_eval_in(&Session::new(&g), p.slice(&[1], &[3]), &[feed(p, &pv)]);
    assert_err_contains(r, "to fit in input of shape");
}

#[test]
fn gather_axes() {
    let g = Graph::new();
    let params = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
    let sess = Session::new(&g);
    let rows = params.gather(g.constant([2i32, 0, 2]), 0);
    let cols = params.gather(g.constant([1i64]), 1);
    let nested = params.gather(g.constant([[0i64, 1], [1, 0]]), 0);
    let scalar = params.gather(g.constant(1i32), -1);
    let out = run(&sess, &[rows, cols, nested, scalar], &[]);
    assert_f32(
        &out[0],
        &[3, 3],
        &[7.0, 8.0, 9.0, 1.0, 2.0, 3.0, 7.0, 8.0, 9.0],
    );
    assert_f32(&out[1], &[3, 1], &[2.0, 5.0, 8.0]);
    assert_f32(
        &out[2],
        &[2, 2, 3],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0],
    );
    assert_f32(&out[3], &[3], &[2.0, 5.0, 8.0]);
    // Rank 3 params, middle axis, 2-D indices: out[i, a, b, k] = x[i, idx[a, b], k].
    let x = iota_f32(&g, &[2, 3, 2]);
    let idx = g.constant([[2i32], [0]]);
    let y = x.gather(idx, 1);
    assert_eq!(y.shape().to_string(), "[2,2,1,2]");
    assert_f32(
        &eval(y),
        &[2, 2, 1, 2],
        &[4.0, 5.0, 0.0, 1.0, 10.0, 11.0, 6.0, 7.0],
    );
    let words = g.constant([10i64, 20, 30]);
    assert_exact(
        &eval(words.gather(g.constant([2i64, 2, 1]), 0)),
        DType::I64,
        &[3],
        &[30.0, 30.0, 20.0],
    );
}

#[test]
fn gather_empty_and_errors() {
    let g = Graph::new();
    let params = g.constant([[1.0f32, 2.0], [3.0, 4.0]]);
    let sess = Session::new(&g);
    let none = g.zeros(&[0], DType::I32);
    let out = run(
        &sess,
        &[params.gather(none, 0), params.gather(none, 1)],
        &[],
    );
    assert_f32(&out[0], &[0, 2], &[]);
    assert_f32(&out[1], &[2, 0], &[]);
    let e = g.zeros(&[2, 0, 5], DType::F32);
    assert_f32(&eval(e.gather(g.constant([4i32, 0]), 2)), &[2, 0, 2], &[]);
    assert_err_contains(
        try_eval(params.gather(g.constant([0i32, 2]), 0)),
        "indices[1] = 2 is not in [0, 2)",
    );
    assert_err_contains(
        try_eval(params.gather(g.constant([-1i64]), 1)),
        "is not in [0, 2)",
    );
    assert!(
        params.try_gather(g.constant([0.0f32]), 0).is_err(),
        "float indices"
    );
    assert!(
        params.try_gather(g.constant([0i32]), 2).is_err(),
        "axis out of range"
    );
}

#[test]
fn one_hot_values() {
    let g = Graph::new();
    let idx = g.constant([0i32, 2, -1, 3, 1]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            idx.one_hot(3, 1.0, 0.0, DType::F32),
            idx.one_hot(3, 5.0, -1.0, DType::I64),
        ],
        &[],
    );
    // Out-of-range indices (-1, 3) give a row of off values, as in TF.
    #[rustfmt::skip]
    let want = [
        1.0, 0.0, 0.0,
        0.0, 0.0, 1.0,
        0.0, 0.0, 0.0,
        0.0, 0.0, 0.0,
        0.0, 1.0, 0.0,
    ];
    assert_f32(&out[0], &[5, 3], &want);
    let want2: Vec<f64> = want
        .iter()
        .map(|&v| if v == 1.0 { 5.0 } else { -1.0 })
        .collect();
    assert_exact(&out[1], DType::I64, &[5, 3], &want2);
    let m = g
        .constant([[1i64, 0], [0, 1]])
        .one_hot(2, 1.0, 0.0, DType::F64);
    assert_f64(
        &eval(m),
        &[2, 2, 2],
        &[0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
    );
    let e = g
        .zeros(&[2, 0], DType::I32)
        .one_hot(4, 1.0, 0.0, DType::F32);
    assert_f32(&eval(e), &[2, 0, 4], &[]);
    assert_f32(
        &eval(g.constant(1i32).one_hot(3, 1.0, 0.0, DType::F32)),
        &[3],
        &[0.0, 1.0, 0.0],
    );
    assert!(
        g.constant([1.0f32])
            .try_one_hot(3, 1.0, 0.0, DType::F32)
            .is_err(),
        "float indices"
    );
}

#[test]
fn shape_of_values() {
    let g = Graph::new();
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.zeros(&[2, 0, 5], DType::F32).shape_of(),
            g.constant(1.0f32).shape_of(),
            g.ones(&[4], DType::Bool).shape_of(),
        ],
        &[],
    );
    assert_exact(&out[0], DType::I64, &[3], &[2.0, 0.0, 5.0]);
    assert_exact(&out[1], DType::I64, &[0], &[]);
    assert_exact(&out[2], DType::I64, &[1], &[4.0]);
    let p = g.placeholder(DType::F32, [None, Some(3)], "p");
    let s = p.shape_of();
    assert_eq!(s.shape().to_string(), "[2]");
    let pv = Value::full(DType::F32, &[7, 3], 0.0);
    assert_exact(
        &eval_in(&sess, s, &[feed(p, &pv)]),
        DType::I64,
        &[2],
        &[7.0, 3.0],
    );
}
