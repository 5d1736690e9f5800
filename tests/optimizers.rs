//! Optimizers as graph ops: `minimize` semantics, learning rates as tensors, var_list, and the
//! "no gradients" error.

use rill::nn::{GradientDescent, Momentum, NnError, Optimizer};
use rill::prelude::*;

#[test]
fn minimize_without_any_gradient_names_the_variables_and_the_loss() {
    let g = Graph::new();
    let w = g.variable(g.constant([1.0f32, 2.0]), "w");
    let v = g.variable(g.constant([3.0f32]), "v");
    let loss = (g.constant([1.0f32]) * 2.0).sum(ALL, false).named("loss");
    let err = GradientDescent::new(0.1)
        .minimize(loss, Some(&[w, v]))
        .unwrap_err();
    assert!(matches!(err, NnError::NoGradients { .. }));
    let text = err.to_string();
    assert!(
        text.starts_with("No gradients provided for any variable"),
        "{text}"
    );
    assert!(
        text.contains("w:0") && text.contains("v:0") && text.contains("loss:0"),
        "{text}"
    );
}

#[test]
fn only_the_var_list_is_updated_and_a_learning_rate_can_be_fed() {
    let g = Graph::new();
    let w = g.variable(g.constant([1.0f32]), "w");
    let u = g.variable(g.constant([1.0f32]), "u");
    let lr = g.placeholder(DType::F32, [0usize; 0], "lr");
    let loss = (w * u).sum(ALL, false);
    let train = GradientDescent::new(lr).minimize(loss, Some(&[w])).unwrap();
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let half = Value::scalar(0.5f32);
    sess.run_targets(&[train], &[feed(lr, &half)]).unwrap();
    // d loss / d w = u = 1; w -= 0.5 * 1. u is not in var_list.
    assert_eq!(sess.eval(w, &[]).unwrap().to_f64_vec(), vec![0.5]);
    assert_eq!(sess.eval(u, &[]).unwrap().to_f64_vec(), vec![1.0]);
    let two = Value::scalar(2.0f32);
    sess.run_targets(&[train], &[feed(lr, &two)]).unwrap();
    assert_eq!(sess.eval(w, &[]).unwrap().to_f64_vec(), vec![-1.5]);
}

#[test]
fn slots_are_not_trainable_and_momentum_accumulates() {
    let g = Graph::new();
    let w = g.variable(g.constant([0.0f64]), "w");
    let loss = (w * 1.0).sum(ALL, false);
    let train = Momentum::new(1.0, 0.5, false).minimize(loss, None).unwrap();
    assert_eq!(
        g.trainable_variables().len(),
        1,
        "momentum slots must not be trainable"
    );
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        sess.run_target(train).unwrap();
        seen.push(sess.eval(w, &[]).unwrap().to_f64_vec()[0]);
    }
    // v = 0.5 v - 1; w += v: v = -1, -1.5, -1.75; w = -1, -2.5, -4.25.
    assert_eq!(seen, vec![-1.0, -2.5, -4.25]);
}
