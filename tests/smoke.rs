//! End-to-end smoke test: build, initialise, run, update a variable.

use ndarray::array;
use rill::prelude::*;

#[test]
fn builds_and_runs_a_small_graph() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let w = g.variable(g.constant([[1.0f32], [2.0]]), "w");
    let y = x.matmul(w) + 1.0;
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let xv = Value::from(array![[1.0f32, 1.0], [2.0, 0.5]]);
    let out = sess.eval(y, &[feed(x, &xv)]).unwrap();
    assert_eq!(out, Value::from(array![[4.0f32], [4.0]]));
    let step = w.assign_add(g.constant([[1.0f32], [1.0]]));
    sess.run_target(step).unwrap();
    let out = sess.eval(y, &[feed(x, &xv)]).unwrap();
    assert_eq!(out, Value::from(array![[6.0f32], [6.5]]));
}
