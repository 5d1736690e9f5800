//! Common-subexpression elimination: repeated pure steps are merged, stateful ones never are,
//! and results do not change.

use rill::compiler::CompileOptions;
use rill::prelude::*;

fn count(sess: &Session, fetch: Tensor<'_>, op: &str) -> usize {
    let plan = sess.plan_for(&[fetch], &[], &[] as &[TensorId]).unwrap();
    plan.steps
        .iter()
        .filter(|s| s.fused.is_none() && s.op.type_name() == op)
        .count()
}

#[test]
fn repeated_pure_steps_are_merged() {
    let g = Graph::new();
    let x = g.constant([0.5f64, -1.0, 2.0]);
    let y = x.exp() + x.exp() * x.exp();
    // Folding off: it would compute this all-constant graph at compile time.
    let only_cse = CompileOptions {
        cse: true,
        memory_planning: true,
        concurrency: true,
        ..CompileOptions::NONE
    };
    let none = CompileOptions::NONE;
    let merged = Session::with_options(&g, only_cse);
    let plain = Session::with_options(&g, none);
    assert_eq!(count(&merged, y, "Exp"), 1);
    assert_eq!(count(&plain, y, "Exp"), 3);
    assert_eq!(merged.eval(y, &[]).unwrap(), plain.eval(y, &[]).unwrap());
    let e: Vec<f64> = [0.5f64, -1.0, 2.0]
        .iter()
        .map(|v| v.exp() + v.exp() * v.exp())
        .collect();
    assert_eq!(merged.eval(y, &[]).unwrap().to_f64_vec(), e);
}

#[test]
fn random_draws_are_never_merged() {
    let g = Graph::new();
    let a = g.random_uniform(&[1000], 0.0, 1.0, DType::F64, Some(3));
    let b = g.random_uniform(&[1000], 0.0, 1.0, DType::F64, Some(4));
    let y = a - b;
    let sess = Session::new(&g);
    assert_eq!(count(&sess, y, "RandomUniform"), 2);
    assert!(sess
        .eval(y, &[])
        .unwrap()
        .to_f64_vec()
        .iter()
        .any(|v| *v != 0.0));
}
