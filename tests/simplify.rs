//! Algebraic simplification: identities are dropped when static shapes prove them, kept when
//! broadcasting could change the shape, and results never change.

use rill::compiler::CompileOptions;
use rill::prelude::*;

fn ops(sess: &Session, fetch: Tensor<'_>, feeds: &[TensorId]) -> Vec<String> {
    let plan = sess.plan_for(&[fetch], feeds, &[] as &[TensorId]).unwrap();
    plan.steps
        .iter()
        .map(|s| s.op.type_name().to_string())
        .collect()
}

fn options(simplify: bool) -> CompileOptions {
    CompileOptions {
        simplify,
        fusion: false,
        ..Default::default()
    }
}

#[test]
fn identities_are_dropped() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(3)], "x");
    let y = (-(-((x * 1.0 + 0.0) / 1.0 - 0.0)))
        .transpose()
        .transpose()
        .reshape(&[-1, 3])
        .identity();
    let simple = Session::with_options(&g, options(true));
    let plain = Session::with_options(&g, options(false));
    let s = ops(&simple, y, &[x.id()]);
    // Only the reshape to [?,3] stays: its static shape is not fully known.
    assert_eq!(s, vec!["Reshape"], "{s:?}");
    let xv = Value::from(ndarray::array![[1.0f64, -2.0, 3.5], [0.0, 4.0, -1.0]]);
    assert_eq!(
        simple.eval(y, &[feed(x, &xv)]).unwrap(),
        plain.eval(y, &[feed(x, &xv)]).unwrap()
    );
    assert_eq!(simple.eval(y, &[feed(x, &xv)]).unwrap(), xv);
}

#[test]
fn broadcasting_identities_are_kept() {
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(1)], "x");
    // x * ones[1, 4] broadcasts [?,1] to [?,4]: not an identity.
    let y = x * g.constant([[1.0f64, 1.0, 1.0, 1.0]]);
    let simple = Session::with_options(&g, options(true));
    assert!(ops(&simple, y, &[x.id()]).contains(&"Mul".to_string()));
    let xv = Value::from(ndarray::array![[2.0f64], [3.0]]);
    assert_eq!(simple.eval(y, &[feed(x, &xv)]).unwrap().shape(), &[2, 4]);
    // A transpose pair that does not undo itself stays.
    let z = g.placeholder(DType::F64, [2usize, 3, 4], "z");
    let w = z.permute(&[1, 2, 0]).permute(&[1, 2, 0]);
    assert_eq!(
        ops(&simple, w, &[z.id()])
            .iter()
            .filter(|o| *o == "Transpose")
            .count(),
        2
    );
}
