//! Gradients as graph nodes: finite-difference checks of every differentiable op (f64, central
//! differences, TF's tolerances), second derivatives, and the `gradients` API semantics.

#[path = "common/gradcheck.rs"]
mod gradcheck;

use gradcheck::{array, check};
use ndarray::ArrayD;
use rill::compiler::{gradients, gradients_with, GradientOptions};
use rill::prelude::*;
use std::collections::BTreeSet;

type Build = for<'g> fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>;

/// Values in [lo, hi) with alternating signs, so kinks at zero are avoided.
fn signed(shape: &[usize], seed: u64, lo: f64, hi: f64) -> ArrayD<f64> {
    let mut a = array(shape, seed, lo, hi);
    for (i, v) in a.iter_mut().enumerate() {
        if i % 2 == 1 {
            *v = -*v;
        }
    }
    a
}

fn any(shape: &[usize], seed: u64) -> ArrayD<f64> {
    array(shape, seed, -1.0, 1.0)
}

fn pos(shape: &[usize], seed: u64) -> ArrayD<f64> {
    array(shape, seed, 0.5, 2.0)
}

/// The cases: (name, inputs, function). Every differentiable op appears in at least one.
fn cases() -> Vec<(&'static str, Vec<ArrayD<f64>>, Build)> {
    vec![
        ("neg", vec![any(&[2, 3], 1)], |_, x| -x[0]),
        ("abs", vec![signed(&[2, 3], 2, 0.2, 1.0)], |_, x| x[0].abs()),
        ("sign", vec![signed(&[4], 3, 0.2, 1.0)], |_, x| {
            x[0].sign() * x[0]
        }),
        ("square", vec![any(&[3], 4)], |_, x| x[0].square()),
        ("exp", vec![any(&[2, 2], 5)], |_, x| x[0].exp()),
        ("log", vec![pos(&[3], 6)], |_, x| x[0].log()),
        ("sqrt", vec![pos(&[3], 7)], |_, x| x[0].sqrt()),
        ("rsqrt", vec![pos(&[3], 8)], |_, x| x[0].rsqrt()),
        ("sin", vec![any(&[3], 9)], |_, x| x[0].sin()),
        ("cos", vec![any(&[3], 10)], |_, x| x[0].cos()),
        ("tanh", vec![any(&[3], 11)], |_, x| x[0].tanh()),
        ("sigmoid", vec![any(&[2, 3], 12)], |_, x| x[0].sigmoid()),
        ("relu", vec![signed(&[6], 13, 0.1, 1.0)], |_, x| x[0].relu()),
        ("leaky_relu", vec![signed(&[6], 14, 0.1, 1.0)], |_, x| {
            x[0].leaky_relu(0.2)
        }),
        ("elu", vec![signed(&[6], 15, 0.1, 1.0)], |_, x| {
            x[0].elu(1.0)
        }),
        ("softplus", vec![any(&[4], 16)], |_, x| x[0].softplus()),
        ("log1p", vec![array(&[4], 17, -0.5, 2.0)], |_, x| {
            x[0].log1p()
        }),
        (
            "add broadcast",
            vec![any(&[2, 3], 17), any(&[3], 18)],
            |_, x| x[0] + x[1],
        ),
        (
            "sub broadcast",
            vec![any(&[2, 1], 19), any(&[1, 3], 20)],
            |_, x| x[0] - x[1],
        ),
        ("mul", vec![any(&[2, 3], 21), any(&[2, 3], 22)], |_, x| {
            x[0] * x[1]
        }),
        (
            "mul scalar",
            vec![any(&[2, 3], 23), any(&[], 24)],
            |_, x| x[0] * x[1],
        ),
        (
            "div broadcast",
            vec![any(&[2, 3], 25), pos(&[2, 1], 26)],
            |_, x| x[0] / x[1],
        ),
        ("pow", vec![pos(&[3], 27), any(&[3], 28)], |_, x| {
            x[0].pow(x[1])
        }),
        (
            "maximum",
            vec![array(&[4], 29, 0.0, 1.0), array(&[4], 30, 2.0, 3.0)],
            |_, x| x[0].maximum(x[1] - 2.0),
        ),
        (
            "minimum",
            vec![array(&[4], 31, 0.0, 1.0), array(&[4], 32, 2.0, 3.0)],
            |_, x| x[0].minimum(x[1] - 2.0),
        ),
        ("clip_by_value", vec![signed(&[6], 33, 0.1, 2.0)], |_, x| {
            x[0].clip_by_value(-1.0, 1.0)
        }),
        (
            "select",
            vec![
                signed(&[2, 3], 34, 0.1, 1.0),
                any(&[2, 3], 35),
                any(&[3], 36),
            ],
            |g, x| g.select(x[0].greater(0.0), x[1], x[2]),
        ),
        ("cast", vec![any(&[3], 37)], |_, x| {
            x[0].cast(DType::F64).square()
        }),
        ("identity", vec![any(&[3], 38)], |_, x| {
            x[0].identity() * 3.0
        }),
        ("check_numerics", vec![any(&[3], 39)], |_, x| {
            x[0].check_numerics("bad").exp()
        }),
        (
            "matmul",
            vec![any(&[2, 3], 40), any(&[3, 4], 41)],
            |_, x| x[0].matmul(x[1]),
        ),
        (
            "matmul ta",
            vec![any(&[3, 2], 42), any(&[3, 4], 43)],
            |_, x| x[0].matmul_t(x[1], true, false),
        ),
        (
            "matmul tb",
            vec![any(&[2, 3], 44), any(&[4, 3], 45)],
            |_, x| x[0].matmul_t(x[1], false, true),
        ),
        (
            "matmul ta tb",
            vec![any(&[3, 2], 46), any(&[4, 3], 47)],
            |_, x| x[0].matmul_t(x[1], true, true),
        ),
        (
            "matmul batched",
            vec![any(&[2, 2, 3], 48), any(&[2, 3, 2], 49)],
            |_, x| x[0].matmul(x[1]),
        ),
        (
            "matmul batch broadcast",
            vec![any(&[2, 2, 3], 50), any(&[3, 2], 51)],
            |_, x| x[0].matmul(x[1]),
        ),
        ("sum axis", vec![any(&[2, 3], 52)], |_, x| {
            x[0].sum(1, false)
        }),
        ("sum keep_dims", vec![any(&[2, 3, 2], 53)], |_, x| {
            x[0].sum([0, 2], true)
        }),
        ("sum all", vec![any(&[2, 3], 54)], |_, x| {
            x[0].sum(ALL, false)
        }),
        ("mean", vec![any(&[2, 3], 55)], |_, x| x[0].mean(0, false)),
        ("mean keep_dims", vec![any(&[2, 3], 56)], |_, x| {
            x[0].mean(-1, true)
        }),
        ("max", vec![any(&[3, 4], 57)], |_, x| x[0].max(1, false)),
        ("min keep_dims", vec![any(&[3, 4], 58)], |_, x| {
            x[0].min(0, true)
        }),
        ("softmax", vec![any(&[2, 4], 59)], |_, x| x[0].softmax(-1)),
        ("softmax axis 0", vec![any(&[3, 2], 60)], |_, x| {
            x[0].softmax(0)
        }),
        ("log_softmax", vec![any(&[2, 4], 61)], |_, x| {
            x[0].log_softmax(-1)
        }),
        ("reshape", vec![any(&[2, 3], 62)], |_, x| {
            x[0].reshape(&[3, -1]).square()
        }),
        ("transpose", vec![any(&[2, 3], 63)], |_, x| {
            x[0].transpose() * x[0].transpose()
        }),
        ("permute", vec![any(&[2, 3, 4], 64)], |_, x| {
            x[0].permute(&[1, 2, 0]).square()
        }),
        ("expand_dims", vec![any(&[3], 65)], |_, x| {
            x[0].expand_dims(0).square()
        }),
        ("squeeze", vec![any(&[3, 1], 66)], |_, x| {
            x[0].squeeze(&[]).square()
        }),
        (
            "concat",
            vec![any(&[2, 2], 67), any(&[2, 3], 68)],
            |g, x| g.concat(&[x[0], x[1]], 1).square(),
        ),
        ("stack", vec![any(&[2, 3], 69), any(&[2, 3], 70)], |g, x| {
            g.stack(&[x[0], x[1]], 1).square()
        }),
        ("slice", vec![any(&[3, 4], 71)], |_, x| {
            x[0].slice(&[1, 1], &[2, -1]).square()
        }),
        ("gather", vec![any(&[4, 3], 72)], |g, x| {
            x[0].gather(g.constant([2i64, 0, 2]), 0).square()
        }),
        ("gather axis 1", vec![any(&[2, 4], 73)], |g, x| {
            x[0].gather(g.constant([[3i32, 1], [0, 0]]), 1)
        }),
        (
            "broadcast_to",
            vec![any(&[1, 3], 74), any(&[2, 3], 75)],
            |_, x| x[0].try_broadcast_like(x[1]).unwrap() * x[1],
        ),
        ("sum_to", vec![any(&[2, 3], 76), any(&[3], 77)], |_, x| {
            x[0].try_sum_to_like(x[1]).unwrap() * x[1]
        }),
        (
            "reshape_to",
            vec![any(&[2, 3], 78), any(&[3, 2], 79)],
            |_, x| x[0].try_reshape_like(x[1]).unwrap() * x[1],
        ),
        (
            "slice_grad",
            vec![any(&[2, 2], 80), any(&[3, 4], 81)],
            |_, x| x[0].try_slice_grad(x[1], &[1, 2]).unwrap() * x[1],
        ),
        (
            "gather_grad",
            vec![any(&[3, 2], 82), any(&[4, 2], 83)],
            |g, x| {
                let idx = g.constant([1i64, 3, 1]);
                x[0].try_gather_grad(idx, x[1], 0).unwrap() * x[1]
            },
        ),
        (
            "hessian of sigmoid-matmul net",
            vec![any(&[2, 3], 84), any(&[3, 2], 85)],
            |_, x| {
                let loss = x[0].matmul(x[1]).sigmoid().square().sum(ALL, false);
                gradients(&[loss], &[x[1]], None).unwrap()[0].unwrap()
            },
        ),
        (
            "hessian of softmax cross-entropy",
            vec![any(&[2, 3], 86)],
            |g, x| {
                let labels = g.constant([[0.0f64, 1.0, 0.0], [1.0, 0.0, 0.0]]);
                let loss = -(labels * x[0].log_softmax(-1)).sum(ALL, false);
                gradients(&[loss], &[x[0]], None).unwrap()[0].unwrap()
            },
        ),
        (
            "hessian of reductions and tanh",
            vec![any(&[3, 2], 87)],
            |_, x| {
                let loss = x[0].tanh().max(1, false).sum(ALL, false)
                    + x[0].mean(0, false).exp().sum(ALL, false);
                gradients(&[loss], &[x[0]], None).unwrap()[0].unwrap()
            },
        ),
        ("hessian of div, pow, sqrt", vec![pos(&[3], 88)], |_, x| {
            let loss =
                (x[0].sqrt() / (x[0] + 1.0)).sum(ALL, false) + x[0].pow(x[0]).sum(ALL, false);
            gradients(&[loss], &[x[0]], None).unwrap()[0].unwrap()
        }),
    ]
}

/// Ops that have no gradient (integer or boolean outputs, sources, state, effects).
const NOT_DIFFERENTIABLE: &[&str] = &[
    "Placeholder",
    "Const",
    "Variable",
    "Assign",
    "AssignAdd",
    "AssignSub",
    "NoOp",
    "LinSpace",
    "Range",
    "RandomNormal",
    "TruncatedNormal",
    "RandomUniform",
    "Equal",
    "NotEqual",
    "Less",
    "LessEqual",
    "Greater",
    "GreaterEqual",
    "ArgMax",
    "ArgMin",
    "OneHot",
    "Shape",
    "StopGradient",
];

#[test]
fn every_differentiable_op_passes_a_finite_difference_check() {
    let mut covered = BTreeSet::new();
    for (name, inputs, f) in cases() {
        covered.extend(check(name, &inputs, f));
    }
    let missing: Vec<&str> = rill::graph::op::TYPE_NAMES
        .iter()
        .copied()
        .filter(|t| !NOT_DIFFERENTIABLE.contains(t) && !covered.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "differentiable ops without a gradient check: {missing:?}"
    );
}

fn run1(sess: &Session, t: Tensor<'_>, feeds: &[Feed<'_>]) -> Vec<f64> {
    sess.eval(t, feeds).unwrap().to_f64_vec()
}

#[test]
fn broadcasting_is_undone_when_the_batch_size_is_known_only_at_run_time() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let b = g.variable(g.constant([0.5f64, -1.0, 2.0]), "b");
    let loss = (x + b).square().sum(ALL, false);
    let db = gradients(&[loss], &[b], None).unwrap()[0].unwrap();
    assert_eq!(db.shape().to_string(), "[3]");
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let xv = Value::from(ndarray::array![[1.0f64, 2.0, 3.0], [0.0, 1.0, -1.0]]);
    // d/db sum((x+b)^2) = 2 * sum over the batch of (x + b).
    assert_eq!(
        run1(&sess, db, &[feed(x, &xv)]),
        vec![2.0 * (1.5 + 0.5), 2.0 * (1.0 + 0.0), 2.0 * (5.0 + 1.0)]
    );
    let xv1 = Value::from(ndarray::array![[1.0f64, 1.0, 1.0]]);
    assert_eq!(run1(&sess, db, &[feed(x, &xv1)]), vec![3.0, 0.0, 6.0]);
}

#[test]
fn fan_out_gradients_are_summed_and_unconnected_xs_get_none_or_zeros() {
    let g = Graph::new();
    let x = g.constant([1.0f64, 2.0, 3.0]);
    let z = g.constant([4.0f64]);
    let y = x * x + x;
    let grads = gradients(&[y], &[x, z], None).unwrap();
    assert!(grads[1].is_none(), "z does not reach y");
    let sess = Session::new(&g);
    assert_eq!(run1(&sess, grads[0].unwrap(), &[]), vec![3.0, 5.0, 7.0]);
    let opts = GradientOptions {
        unconnected_zeros: true,
        ..Default::default()
    };
    let grads = gradients_with(&[y], &[x, z], None, &opts).unwrap();
    assert_eq!(run1(&sess, grads[1].unwrap(), &[]), vec![0.0]);
}

#[test]
fn several_ys_are_summed_and_grad_ys_weight_them() {
    let g = Graph::new();
    let x = g.constant([2.0f64, 3.0]);
    let y1 = x.square();
    let y2 = x * 3.0;
    let d = gradients(&[y1, y2], &[x], None).unwrap()[0].unwrap();
    let sess = Session::new(&g);
    assert_eq!(run1(&sess, d, &[]), vec![7.0, 9.0]);
    let w1 = g.constant([1.0f64, 0.0]);
    let w2 = g.constant([0.0f64, 2.0]);
    let d = gradients(&[y1, y2], &[x], Some(&[w1, w2])).unwrap()[0].unwrap();
    assert_eq!(run1(&sess, d, &[]), vec![4.0, 6.0]);
}

#[test]
fn stop_gradient_and_stop_gradients_hold_tensors_constant() {
    let g = Graph::new();
    let x = g.constant([2.0f64, -1.0]);
    let y = x.stop_gradient() * x;
    let sess = Session::new(&g);
    let d = gradients(&[y], &[x], None).unwrap()[0].unwrap();
    assert_eq!(run1(&sess, d, &[]), vec![2.0, -1.0]);
    let a = x * 2.0;
    let b = a * x;
    let opts = GradientOptions {
        stop_gradients: vec![a.id()],
        ..Default::default()
    };
    let d = gradients_with(&[b], &[x], None, &opts).unwrap()[0].unwrap();
    assert_eq!(run1(&sess, d, &[]), vec![4.0, -2.0]);
    // Only a stopped path: no gradient at all.
    let only = x.stop_gradient().square();
    assert!(gradients(&[only], &[x], None).unwrap()[0].is_none());
}

#[test]
fn gradient_nodes_live_under_a_gradients_scope_and_matmul_grad_is_a_transposed_matmul() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let w = g.variable(g.zeros(&[3, 2], DType::F32), "w");
    let loss = x.matmul(w).sum(ALL, false);
    let dw = gradients(&[loss], &[w], None).unwrap()[0].unwrap();
    assert!(
        dw.op_name().starts_with("gradients/MatMul_grad/"),
        "{}",
        dw.op_name()
    );
    assert_eq!(
        dw.op(),
        rill::Op::MatMul {
            transpose_a: true,
            transpose_b: false
        }
    );
    assert_eq!(dw.shape().to_string(), "[3,2]");
    let again = gradients(&[loss], &[w], None).unwrap()[0].unwrap();
    assert!(
        again.op_name().starts_with("gradients_1/"),
        "{}",
        again.op_name()
    );
    let dot = g.to_dot();
    assert!(dot.contains("subgraph \"cluster_gradients\""));
}

#[test]
fn second_derivatives_and_hessian_vector_products() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [3], "x");
    let v = g.placeholder(DType::F64, [3], "v");
    // f(x) = sum(x^3) + x0 * x1: H = diag(6x) + [[0,1,0],[1,0,0],[0,0,0]].
    let f = x.pow(3.0).sum(ALL, false) + x.slice(&[0], &[1]) * x.slice(&[1], &[1]);
    let df = gradients(&[f], &[x], None).unwrap()[0].unwrap();
    let d2 = gradients(&[df], &[x], None).unwrap()[0].unwrap();
    let hv = gradients(&[(df * v).sum(ALL, false)], &[x], None).unwrap()[0].unwrap();
    let sess = Session::new(&g);
    let xv = Value::from(ndarray::array![1.0f64, 2.0, -1.0]);
    let vv = Value::from(ndarray::array![1.0f64, -1.0, 2.0]);
    let close = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-9);
    // Sum of Hessian rows: 6x + [1, 1, 0].
    assert!(close(
        run1(&sess, d2, &[feed(x, &xv)]),
        vec![7.0, 13.0, -6.0]
    ));
    // H v = [6*1*1 + 1*(-1), 1*1 + 6*2*(-1), 6*(-1)*2] = [5, -11, -12].
    assert!(close(
        run1(&sess, hv, &[feed(x, &xv), feed(v, &vv)]),
        vec![5.0, -11.0, -12.0]
    ));
}

#[test]
fn bad_requests_are_errors() {
    let g = Graph::new();
    let x = g.constant([1.0f64]);
    let i = g.constant([1i32]);
    assert!(gradients(&[x], &[i], None)
        .unwrap_err()
        .to_string()
        .contains("only float tensors"));
    let other = Graph::new();
    let y = other.constant([1.0f64]);
    assert!(gradients(&[x], &[y], None).is_err());
    assert!(gradients(&[x], &[x], Some(&[]))
        .unwrap_err()
        .to_string()
        .contains("1 ys but 0 grad_ys"));
}
