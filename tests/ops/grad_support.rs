//! Forward tests of the ops gradients are built from: BroadcastTo, SumTo, ReshapeTo, SliceGrad
//! and GatherGrad, each taking its target shape at run time.

use crate::common::*;
use rill::prelude::*;

forward_tests![
    broadcast_like_values,
    sum_to_like_values,
    reshape_like_values,
    slice_grad_values,
    gather_grad_values,
    grad_support_errors,
];

#[test]
fn broadcast_like_values() {
    let g = Graph::new();
    let like = g.zeros(&[2, 3], DType::F32);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            g.constant([1.0f32, 2.0, 3.0])
                .try_broadcast_like(like)
                .unwrap(),
            g.constant([[1.0f32], [2.0]])
                .try_broadcast_like(like)
                .unwrap(),
            g.constant(7.0f32).try_broadcast_like(like).unwrap(),
            g.constant([4.0f32])
                .try_broadcast_like(g.zeros(&[2, 0, 5], DType::F32))
                .unwrap(),
        ],
        &[],
    );
    assert_f32(&out[0], &[2, 3], &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    assert_f32(&out[1], &[2, 3], &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    assert_f32(&out[2], &[2, 3], &[7.0; 6]);
    assert_f32(&out[3], &[2, 0, 5], &[]);
    // The target's batch size is known only at run time.
    let p = g.placeholder(DType::F64, [None, Some(2)], "p");
    let b = g.constant([1.0f64, -1.0]).try_broadcast_like(p).unwrap();
    assert_eq!(b.shape().to_string(), "[?,2]");
    let pv = Value::full(DType::F64, &[3, 2], 0.0);
    assert_f64(
        &eval_in(&sess, b, &[feed(p, &pv)]),
        &[3, 2],
        &[1.0, -1.0, 1.0, -1.0, 1.0, -1.0],
    );
    let i = g
        .constant([5i32])
        .try_broadcast_like(g.zeros(&[3], DType::I32))
        .unwrap();
    assert_exact(&eval(i), DType::I32, &[3], &[5.0; 3]);
}

#[test]
fn sum_to_like_values() {
    let g = Graph::new();
    let x = g.constant([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.try_sum_to_like(g.zeros(&[3], DType::F32)).unwrap(),
            x.try_sum_to_like(g.zeros(&[2, 1], DType::F32)).unwrap(),
            x.try_sum_to_like(g.zeros(&[], DType::F32)).unwrap(),
            x.try_sum_to_like(g.zeros(&[1, 3], DType::F32)).unwrap(),
            x.try_sum_to_like(x).unwrap(),
        ],
        &[],
    );
    assert_f32(&out[0], &[3], &[5.0, 7.0, 9.0]);
    assert_f32(&out[1], &[2, 1], &[6.0, 15.0]);
    assert_f32(&out[2], &[], &[21.0]);
    assert_f32(&out[3], &[1, 3], &[5.0, 7.0, 9.0]);
    assert_f32(&out[4], &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // Empty: summing (2,0,5) down to (5,) gives zeros; to (2,1,5) too.
    let e = g.zeros(&[2, 0, 5], DType::F64);
    let out = run(
        &sess,
        &[
            e.try_sum_to_like(g.zeros(&[5], DType::F64)).unwrap(),
            e.try_sum_to_like(g.zeros(&[2, 1, 5], DType::F64)).unwrap(),
        ],
        &[],
    );
    assert_f64(&out[0], &[5], &[0.0; 5]);
    assert_f64(&out[1], &[2, 1, 5], &[0.0; 10]);
    let i = g
        .constant([[1i64, 2], [3, 4]])
        .try_sum_to_like(g.zeros(&[2], DType::I64))
        .unwrap();
    assert_exact(&eval(i), DType::I64, &[2], &[4.0, 6.0]);
    // With a run-time target shape.
    let p = g.placeholder(DType::F32, [None, Some(1)], "p");
    let s = x.try_sum_to_like(p).unwrap();
    let pv = Value::full(DType::F32, &[2, 1], 0.0);
    assert_f32(&eval_in(&sess, s, &[feed(p, &pv)]), &[2, 1], &[6.0, 15.0]);
}

#[test]
fn reshape_like_values() {
    let g = Graph::new();
    let x = g.constant([1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            x.try_reshape_like(g.zeros(&[2, 3], DType::F64)).unwrap(),
            x.try_reshape_like(g.zeros(&[3, 1, 2], DType::I32)).unwrap(),
            g.zeros(&[2, 0, 5], DType::F32)
                .try_reshape_like(g.zeros(&[0, 3], DType::F32))
                .unwrap(),
            g.constant([9i32])
                .try_reshape_like(g.constant(0.0f32))
                .unwrap(),
        ],
        &[],
    );
    let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert_f32(&out[0], &[2, 3], &v);
    assert_f32(&out[1], &[3, 1, 2], &v);
    assert_f32(&out[2], &[0, 3], &[]);
    assert_exact(&out[3], DType::I32, &[], &[9.0]);
    let p = g.placeholder(DType::F32, [None, Some(2)], "p");
    let r = x.try_reshape_like(p).unwrap();
    let pv = Value::full(DType::F32, &[3, 2], 0.0);
    assert_f32(&eval_in(&sess, r, &[feed(p, &pv)]), &[3, 2], &v);
    let pv = Value::full(DType::F32, &[2, 2], 0.0);
    assert_err_contains(try_eval_in(&sess, r, &[feed(p, &pv)]), "Cannot reshape");
}

#[test]
fn slice_grad_values() {
    let g = Graph::new();
    let like = g.zeros(&[3, 4], DType::F32);
    let grad = g.constant([[1.0f32, 2.0], [3.0, 4.0]]);
    let sess = Session::new(&g);
    let out = run(
        &sess,
        &[
            grad.try_slice_grad(like, &[1, 2]).unwrap(),
            grad.try_slice_grad(like, &[0, 0]).unwrap(),
        ],
        &[],
    );
    #[rustfmt::skip]
    let want = [
        0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 1.0, 2.0,
        0.0, 0.0, 3.0, 4.0,
    ];
    assert_f32(&out[0], &[3, 4], &want);
    #[rustfmt::skip]
    let want = [
        1.0, 2.0, 0.0, 0.0,
        3.0, 4.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0,
    ];
    assert_f32(&out[1], &[3, 4], &want);
    // It inverts a slice: slice_grad(slice(x)) keeps the block and zeros the rest.
    let x = g.constant([[1.0f64, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let s = x.slice(&[0, 1], &[-1, 1]);
    assert_f64(
        &eval(s.try_slice_grad(x, &[0, 1]).unwrap()),
        &[2, 3],
        &[0.0, 2.0, 0.0, 0.0, 5.0, 0.0],
    );
    // An empty slice gives all zeros; an empty target gives an empty result.
    let none = g.zeros(&[0, 2], DType::F32);
    assert_f32(
        &eval(none.try_slice_grad(like, &[3, 1]).unwrap()),
        &[3, 4],
        &[0.0; 12],
    );
    let e = g.zeros(&[2, 0, 5], DType::F32);
    let eg = g.zeros(&[1, 0, 3], DType::F32);
    assert_f32(
        &eval(eg.try_slice_grad(e, &[1, 0, 2]).unwrap()),
        &[2, 0, 5],
        &[],
    );
    // A block that does not fit is a run-time error.
    let p = g.placeholder(DType::F32, [None, Some(4)], "p");
    let sg = grad.try_slice_grad(p, &[1, 2]).unwrap();
    let pv = Value::full(DType::F32, &[2, 4], 0.0);
    assert_err_contains(try_eval_in(&sess, sg, &[feed(p, &pv)]), "does not fit");
}

#[test]
fn gather_grad_values() {
    let g = Graph::new();
    let params = g.zeros(&[4, 2], DType::F32);
    let grad = g.constant([[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    let idx = g.constant([3i32, 0, 3]);
    let sess = Session::new(&g);
    // Repeated indices add up, as in TF's unsorted_segment_sum.
    let out = eval_in(&sess, grad.try_gather_grad(idx, params, 0).unwrap(), &[]);
    assert_f32(&out, &[4, 2], &[3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 6.0, 8.0]);
    // Along axis 1 of a (2,3) tensor with (2,2) indices: grad has shape (2, 2, 2).
    let p2 = g.zeros(&[2, 3], DType::F64);
    let i2 = g.constant([[2i64, 0], [2, 2]]);
    let g2 = g.constant(
        ndarray::Array3::from_shape_vec((2, 2, 2), vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
            .unwrap(),
    );
    // out[i, idx[a, b]] += grad[i, a, b]
    let out = eval(g2.try_gather_grad(i2, p2, 1).unwrap());
    assert_f64(
        &out,
        &[2, 3],
        &[2.0, 0.0, 1.0 + 3.0 + 4.0, 6.0, 0.0, 5.0 + 7.0 + 8.0],
    );
    // It is the adjoint of gather: <gather(x, i), y> == <x, gather_grad(y, i)>.
    let x = g.constant([[1.0f64, -1.0, 2.0], [0.5, 3.0, -2.0]]);
    let ii = g.constant([1i32, 1, 2, 0]);
    let y = g.constant([[1.0f64, 2.0, 3.0, 4.0], [-1.0, 0.0, 1.0, 2.0]]);
    let lhs = (x.gather(ii, 1) * y).sum(ALL, false);
    let rhs = (x * y.try_gather_grad(ii, x, 1).unwrap()).sum(ALL, false);
    let out = run(&sess, &[lhs, rhs], &[]);
    assert_f64(&out[0], &[], &[out[1].to_f64_vec()[0]]);
    // Row 0: -1*1 - 1*2 + 2*3 + 1*4 = 7; row 1: 3*-1 + 3*0 - 2*1 + 0.5*2 = -4.
    assert_f64(&out[0], &[], &[3.0]);
    // Empty indices give zeros.
    let none = g.zeros(&[0, 2], DType::F32);
    let z = none
        .try_gather_grad(g.zeros(&[0], DType::I32), params, 0)
        .unwrap();
    assert_f32(&eval(z), &[4, 2], &[0.0; 8]);
    // Out-of-range indices are a run-time error.
    let bad = grad
        .try_gather_grad(g.constant([0i32, 4, 1]), params, 0)
        .unwrap();
    assert_err_contains(try_eval(bad), "indices[1] = 4 is not in [0, 4)");
}

#[test]
fn grad_support_errors() {
    let g = Graph::new();
    let x = g.ones(&[2, 3], DType::F32);
    assert!(
        x.try_broadcast_like(g.zeros(&[3, 3], DType::F32)).is_err(),
        "(2,3) does not broadcast to (3,3)"
    );
    assert!(
        x.try_broadcast_like(g.zeros(&[3], DType::F32)).is_err(),
        "rank cannot shrink"
    );
    assert!(
        x.try_sum_to_like(g.zeros(&[4], DType::F32)).is_err(),
        "(4,) does not broadcast to (2,3)"
    );
    assert!(
        x.try_reshape_like(g.zeros(&[4], DType::F32)).is_err(),
        "6 elements into 4"
    );
    assert!(
        x.try_slice_grad(g.zeros(&[4], DType::F32), &[0]).is_err(),
        "rank differs"
    );
    // Run-time shapes that do not fit.
    let p = g.placeholder(DType::F32, [None, Some(3)], "p");
    let b = x.try_broadcast_like(p).unwrap();
    let pv = Value::full(DType::F32, &[4, 3], 0.0);
    let sess = Session::new(&g);
    assert_err_contains(
        try_eval_in(&sess, b, &[feed(p, &pv)]),
        "Unable to broadcast",
    );
    let s = x.try_sum_to_like(p).unwrap();
    let pv = Value::full(DType::F32, &[3, 3], 0.0);
    assert_err_contains(try_eval_in(&sess, s, &[feed(p, &pv)]), "cannot sum");
}
