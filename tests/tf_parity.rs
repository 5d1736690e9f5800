//! Parity with TensorFlow: forward values and gradients of the ops, and Keras optimizer
//! trajectories, against `tests/fixtures/tf_ops_optimizers.json` (made by
//! `tools/reference/ops_and_optimizers.py` with TensorFlow; agreement to 1e-6 in f64).

use rill::compiler::gradients;
use rill::nn::losses::{sigmoid_cross_entropy_with_logits, softmax_cross_entropy_with_logits};
use rill::nn::optimizers::schedules::{exponential_decay, global_step, increment_global_step};
use rill::nn::{Adagrad, Adam, GradientDescent, Momentum, Optimizer, RmsProp};
use rill::prelude::*;
use serde_json::Value as Json;

#[path = "common/fixture.rs"]
mod fixture;

const TOLERANCE: f64 = 1e-6;

fn fixture() -> Json {
    fixture::load("tf_ops_optimizers.json")
}

use fixture::array;

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOLERANCE * w.abs().max(1.0),
            "{what}[{i}]: rill {g} vs TensorFlow {w}"
        );
    }
}

/// rill's version of each case in the fixture.
fn build<'g>(g: &'g Graph, name: &str, x: &[Tensor<'g>]) -> Tensor<'g> {
    match name {
        "neg" => -x[0],
        "abs" => x[0].abs(),
        "sign" => x[0].sign(),
        "square" => x[0].square(),
        "exp" => x[0].exp(),
        "log" => x[0].log(),
        "sqrt" => x[0].sqrt(),
        "rsqrt" => x[0].rsqrt(),
        "sin" => x[0].sin(),
        "cos" => x[0].cos(),
        "tanh" => x[0].tanh(),
        "sigmoid" => x[0].sigmoid(),
        "relu" => x[0].relu(),
        "leaky_relu" => x[0].leaky_relu(0.2),
        "elu" => x[0].elu(1.0),
        "softplus" => x[0].softplus(),
        "add" => x[0] + x[1],
        "sub" => x[0] - x[1],
        "mul" => x[0] * x[1],
        "div" => x[0] / x[1],
        "pow" => x[0].pow(x[1]),
        "maximum" => x[0].maximum(x[1]),
        "minimum" => x[0].minimum(x[1]),
        "clip_by_value" => x[0].clip_by_value(-1.0, 1.0),
        "matmul" => x[0].matmul(x[1]),
        "matmul_ta" => x[0].matmul_t(x[1], true, false),
        "matmul_tb" => x[0].matmul_t(x[1], false, true),
        "matmul_batched" => x[0].matmul(x[1]),
        "sum_axis1" => x[0].sum(1, false),
        "sum_keep" => x[0].sum([0, 2], true),
        "mean_all" => x[0].mean(ALL, false),
        "max_axis1" => x[0].max(1, false),
        "min_axis0_keep" => x[0].min(0, true),
        "softmax" => x[0].softmax(-1),
        "log_softmax" => x[0].log_softmax(-1),
        "reshape" => x[0].reshape(&[3, -1]),
        "transpose" => x[0].permute(&[1, 2, 0]),
        "concat" => g.concat(&[x[0], x[1]], 1),
        "stack" => g.stack(&[x[0], x[1]], 1),
        "slice" => x[0].slice(&[1, 1], &[2, -1]),
        "gather" => x[0].gather(g.constant([2i64, 0, 2]), 0),
        "where" => g.select(x[0].greater(0.0), x[1], x[2]),
        "sigmoid_cross_entropy" => sigmoid_cross_entropy_with_logits(x[1], x[0]).unwrap(),
        "softmax_cross_entropy" => softmax_cross_entropy_with_logits(x[1], x[0]).unwrap(),
        other => panic!("fixture case '{other}' has no rill counterpart"),
    }
}

#[test]
fn ops_and_gradients_match_tensorflow() {
    let f = fixture();
    let cases = f["ops"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let g = Graph::new();
        let xs: Vec<Tensor<'_>> = case["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| g.constant(array(j)))
            .collect();
        let y = build(&g, name, &xs);
        let w = g.constant(array(&case["weights"]));
        let loss = (y * w).sum(ALL, false);
        let grads = gradients(&[loss], &xs, None).unwrap();
        let sess = Session::new(&g);
        let out = sess.eval(y, &[]).unwrap();
        let want = array(&case["output"]);
        assert_eq!(out.shape(), want.shape(), "{name}: output shape");
        assert_close(
            &format!("{name} output"),
            &out.to_f64_vec(),
            want.as_slice().unwrap(),
        );
        for (i, expected) in case["grads"].as_array().unwrap().iter().enumerate() {
            if expected.is_null() {
                continue;
            }
            let d = grads[i].unwrap_or_else(|| panic!("{name}: no gradient for input {i}"));
            let got = sess.eval(d, &[]).unwrap();
            let want = array(expected);
            assert_eq!(got.shape(), want.shape(), "{name}: gradient {i} shape");
            assert_close(
                &format!("{name} d/dx{i}"),
                &got.to_f64_vec(),
                want.as_slice().unwrap(),
            );
        }
    }
}

#[test]
fn optimizer_trajectories_match_keras() {
    let f = fixture();
    let opt = &f["optimizers"];
    for case in opt["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let g = Graph::new();
        let x = g.constant(array(&opt["x"]));
        let y = g.constant(array(&opt["y"]));
        let w = g.variable(g.constant(array(&opt["w0"])), "w");
        let b = g.variable(g.constant(array(&opt["b0"])), "b");
        let loss = (x.matmul(w) + b - y).square().mean(ALL, false);
        let train = match name {
            "sgd" => GradientDescent::new(0.125).minimize(loss, None),
            "momentum" => Momentum::new(0.125, 0.9, false).minimize(loss, None),
            "nesterov" => Momentum::new(0.125, 0.9, true).minimize(loss, None),
            "adam" => Adam::new(0.0625).minimize(loss, None),
            "rmsprop" => RmsProp::new(0.0625).minimize(loss, None),
            "adagrad" => Adagrad::new(0.125).minimize(loss, None),
            "sgd_exponential_decay" | "sgd_staircase_decay" => {
                let step = global_step(&g).unwrap();
                let staircase = name == "sgd_staircase_decay";
                let lr = exponential_decay(0.25, step, 2, 0.5, staircase, DType::F64).unwrap();
                let update = GradientDescent::new(lr)
                    .minimize(loss, Some(&[w, b]))
                    .unwrap();
                let _after = g.control_dependencies(&[update]);
                Ok(g.group(&[increment_global_step(step).unwrap()], "train"))
            }
            other => panic!("no rill optimizer for '{other}'"),
        }
        .unwrap();
        let sess = Session::new(&g);
        sess.run_target(g.global_variables_initializer()).unwrap();
        for (k, step) in case["trajectory"].as_array().unwrap().iter().enumerate() {
            let l = sess.run_with_targets(&[loss], &[], &[train]).unwrap()[0]
                .to_scalar_f64()
                .unwrap();
            assert_close(
                &format!("{name} step {k} loss"),
                &[l],
                &[step["loss"].as_f64().unwrap()],
            );
            let wv = sess.eval(w, &[]).unwrap().to_f64_vec();
            let want: Vec<f64> = step["w"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_close(&format!("{name} step {k} w"), &wv, &want);
            let bv = sess.eval(b, &[]).unwrap().to_f64_vec();
            let want: Vec<f64> = step["b"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_close(&format!("{name} step {k} b"), &bv, &want);
        }
    }
}
