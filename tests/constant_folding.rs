//! Constant folding: pure steps over constants, and shapes known statically, become constants
//! at compile time; the results are those of the unfolded plan.

use rill::compiler::CompileOptions;
use rill::prelude::*;

fn steps(sess: &Session, fetch: Tensor<'_>, feeds: &[TensorId]) -> Vec<String> {
    let plan = sess.plan_for(&[fetch], feeds, &[] as &[TensorId]).unwrap();
    plan.steps
        .iter()
        .map(|s| s.op.type_name().to_string())
        .collect()
}

#[test]
fn constant_subgraphs_fold_into_one_constant() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let c = (g.constant([1.0f64, 2.0, 3.0]).exp() * 2.0).sum(ALL, true);
    let y = x * c;
    let folded = Session::new(&g);
    let plain = Session::with_options(
        &g,
        CompileOptions {
            constant_folding: false,
            ..Default::default()
        },
    );
    let s = steps(&folded, y, &[x.id()]);
    assert!(!s.iter().any(|t| t == "Exp" || t == "Sum"), "{s:?}");
    assert_eq!(s.iter().filter(|t| *t == "Const").count(), 1, "{s:?}");
    let xv = Value::from(ndarray::array![[1.0f64, 0.5, -1.0]]);
    let a = folded.eval(y, &[feed(x, &xv)]).unwrap();
    let b = plain.eval(y, &[feed(x, &xv)]).unwrap();
    assert_eq!(a, b);
    let k = 2.0 * (1f64.exp() + 2f64.exp() + 3f64.exp());
    assert_eq!(a.to_f64_vec(), vec![k, 0.5 * k, -k]);
}

#[test]
fn known_shapes_fold_and_unknown_ones_stay() {
    let g = Graph::new();
    let known = g.placeholder(DType::F32, [2usize, 3], "known");
    let unknown = g.placeholder(DType::F32, [None, Some(3)], "unknown");
    let sess = Session::new(&g);
    let ks = known.shape_of();
    assert_eq!(steps(&sess, ks, &[known.id()]), vec!["Const"]);
    let kv = Value::from(ndarray::Array2::<f32>::zeros((2, 3)));
    assert_eq!(
        sess.eval(ks, &[feed(known, &kv)]).unwrap().to_f64_vec(),
        vec![2.0, 3.0]
    );
    let us = unknown.shape_of();
    assert_eq!(steps(&sess, us, &[unknown.id()]), vec!["Shape"]);
}

#[test]
fn stateful_ops_are_never_folded() {
    let g = Graph::new();
    let r = g.random_uniform(&[4], 0.0, 1.0, DType::F64, Some(1)) * 2.0;
    let sess = Session::new(&g);
    assert!(steps(&sess, r, &[]).contains(&"RandomUniform".to_string()));
    let a = sess.eval(r, &[]).unwrap();
    let b = sess.eval(r, &[]).unwrap();
    assert_ne!(a, b, "a folded random op would repeat its draw");
}

/// The shape of a variable is known statically, so `Shape` folds, and the read of the variable
/// made for it goes too: otherwise it would hold the variable's value through the run, and the
/// update in the same run could not happen in place. An uninitialised variable that nothing
/// reads any more no longer stops the run, as in TF with Grappler's folding.
#[test]
fn a_variable_read_for_a_folded_shape_goes_with_it() {
    let g = Graph::new();
    let v = g.variable_init(&[3], DType::F32, Initializer::Zeros, "v");
    let s = v.shape_of();
    let sess = Session::new(&g);
    assert_eq!(steps(&sess, s, &[]), vec!["Const"]);
    assert_eq!(sess.eval(s, &[]).unwrap().to_f64_vec(), vec![3.0]);
    // Without folding, the read stays and reports the uninitialised variable.
    let plain = Session::with_options(
        &g,
        CompileOptions {
            constant_folding: false,
            ..Default::default()
        },
    );
    assert_eq!(steps(&plain, s, &[]), vec!["Variable", "Shape"]);
    let err = plain.eval(s, &[]).unwrap_err().to_string();
    assert!(err.contains("uninitialized"), "{err}");
}

/// A pure step run only as a target is dropped, but the variable read made for it stays, so
/// the run still reports the uninitialised variable (TF1: FailedPrecondition).
#[test]
fn a_target_that_reads_an_uninitialised_variable_still_fails() {
    let g = Graph::new();
    let w = g.variable_init(&[3], DType::F32, Initializer::Zeros, "w");
    let y = w * 2.0;
    let sess = Session::new(&g);
    let err = sess.run_targets(&[y], &[]).unwrap_err().to_string();
    assert!(err.contains("uninitialized"), "{err}");
    let grouped = g.group(&[y], "train");
    let err = sess.run_targets(&[grouped], &[]).unwrap_err().to_string();
    assert!(err.contains("uninitialized"), "{err}");
}
