//! Helpers for the forward op tests: run graphs while recording which op types they executed,
//! and compare values with NumPy-style expectations.

use rill::graph::{Graph, Node, NodeId};
use rill::{AsTensorId, DType, Feed, RunError, Session, Tensor, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;

thread_local! {
    /// Op type names of the nodes that successful runs on this thread executed.
    static EXECUTED: RefCell<BTreeSet<&'static str>> = const { RefCell::new(BTreeSet::new()) };
}

/// Forgets what this thread has recorded (the registry test starts from nothing).
pub fn clear_executed() {
    EXECUTED.with(|e| e.borrow_mut().clear());
}

/// The op type names executed by successful runs on this thread since the last clear.
pub fn executed() -> BTreeSet<&'static str> {
    EXECUTED.with(|e| e.borrow().clone())
}

/// Records the op types of the nodes a run of `roots` needs: the roots and, transitively, their
/// inputs and control inputs, stopping at fed tensors (their producers do not run).
fn record(graph: &Graph, roots: &[NodeId], fed: &[NodeId]) {
    graph.with_nodes(|nodes: &[Node]| {
        let mut seen = vec![false; nodes.len()];
        let mut stack: Vec<NodeId> = roots.to_vec();
        EXECUTED.with(|e| {
            let mut e = e.borrow_mut();
            while let Some(id) = stack.pop() {
                if std::mem::replace(&mut seen[id.index()], true) {
                    continue;
                }
                let n = &nodes[id.index()];
                e.insert(n.op.type_name());
                if fed.contains(&id) {
                    continue;
                }
                stack.extend(&n.inputs);
                stack.extend(&n.control_inputs);
            }
        });
    });
}

fn node_ids<T: AsTensorId>(ts: &[T]) -> Vec<NodeId> {
    ts.iter().map(|t| t.tensor_id().node).collect()
}

/// `sess.run_with_targets`, recording the executed op types when it succeeds.
pub fn try_run_all<F: AsTensorId, T: AsTensorId>(
    sess: &Session,
    fetches: &[F],
    feeds: &[Feed<'_>],
    targets: &[T],
) -> Result<Vec<Value>, RunError> {
    let out = sess.run_with_targets(fetches, feeds, targets)?;
    let mut roots = node_ids(fetches);
    roots.extend(node_ids(targets));
    let fed: Vec<NodeId> = feeds.iter().map(|f| f.tensor.node).collect();
    record(sess.graph(), &roots, &fed);
    Ok(out)
}

/// Fetches `fetches`, recording the executed op types; panics on a run error.
pub fn run(sess: &Session, fetches: &[Tensor<'_>], feeds: &[Feed<'_>]) -> Vec<Value> {
    try_run_all(sess, fetches, feeds, &[] as &[Tensor<'_>])
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Runs `targets` for their effects, recording the executed op types; panics on a run error.
pub fn run_targets(sess: &Session, targets: &[Tensor<'_>]) {
    try_run_all(sess, &[] as &[Tensor<'_>], &[], targets)
        .unwrap_or_else(|e| panic!("run failed: {e}"));
}

/// One fetch in an existing session.
pub fn try_eval_in(sess: &Session, t: Tensor<'_>, feeds: &[Feed<'_>]) -> Result<Value, RunError> {
    try_run_all(sess, &[t], feeds, &[] as &[Tensor<'_>]).map(|mut v| v.pop().expect("one fetch"))
}

pub fn eval_in(sess: &Session, t: Tensor<'_>, feeds: &[Feed<'_>]) -> Value {
    try_eval_in(sess, t, feeds).unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// One fetch in a fresh session of `t`'s graph.
pub fn try_eval(t: Tensor<'_>) -> Result<Value, RunError> {
    try_eval_in(&Session::new(t.graph()), t, &[])
}

pub fn eval(t: Tensor<'_>) -> Value {
    try_eval(t).unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Whether `got` is within `tol` (absolute plus relative) of `want`; NaN matches NaN and
/// infinities match themselves.
pub fn close(got: f64, want: f64, tol: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= tol * (1.0 + want.abs())
}

/// Asserts dtype, shape and every element (to `tol`, see `close`).
#[track_caller]
pub fn assert_close(v: &Value, dtype: DType, shape: &[usize], want: &[f64], tol: f64) {
    assert_eq!(v.dtype(), dtype, "dtype of {v:?}");
    assert_eq!(v.shape(), shape, "shape of {v:?}");
    let got = v.to_f64_vec();
    assert_eq!(got.len(), want.len(), "element count of {v:?}");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            close(g, w, tol),
            "element {i}: got {g}, want {w} (tolerance {tol}) in {v:?}"
        );
    }
}

/// Asserts an f32 value to 1e-6.
#[track_caller]
pub fn assert_f32(v: &Value, shape: &[usize], want: &[f64]) {
    assert_close(v, DType::F32, shape, want, 1e-6);
}

/// Asserts an f64 value to 1e-12.
#[track_caller]
pub fn assert_f64(v: &Value, shape: &[usize], want: &[f64]) {
    assert_close(v, DType::F64, shape, want, 1e-12);
}

/// Asserts an exact value of any dtype (integers and bools as f64: true is 1).
#[track_caller]
pub fn assert_exact(v: &Value, dtype: DType, shape: &[usize], want: &[f64]) {
    assert_close(v, dtype, shape, want, 0.0);
}

/// Asserts a bool value.
#[track_caller]
pub fn assert_bools(v: &Value, shape: &[usize], want: &[bool]) {
    let want: Vec<f64> = want.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    assert_exact(v, DType::Bool, shape, &want);
}

/// Asserts that `r` failed and that its message contains `needle`.
#[track_caller]
pub fn assert_err_contains<T: std::fmt::Debug, E: std::fmt::Display>(
    r: Result<T, E>,
    needle: &str,
) {
    match r {
        Ok(v) => panic!("expected an error containing {needle:?}, got {v:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(needle),
                "error {msg:?} does not contain {needle:?}"
            );
        }
    }
}

/// Lists a test module's `#[test]` functions so the registry can run them again while
/// recording: `forward_tests![a, b, c];`. The registry checks the list against the number of
/// `#[test]` attributes in the file, so a test left out of the list is noticed.
macro_rules! forward_tests {
    ($($name:ident),* $(,)?) => {
        pub const TESTS: &[(&str, fn())] = &[$((stringify!($name), $name as fn())),*];
    };
}
