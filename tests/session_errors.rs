//! Session semantics (TF1): feeding any tensor, pruning to what the fetches need, variables,
//! assign ops, control dependencies, a growing graph, threads; and every run-time error, each
//! of which must name the node and never panic.

use ndarray::{array, ArrayD};
use rill::prelude::*;
use rill::{GraphError, RunError};

fn f32s(v: &Value) -> Vec<f32> {
    v.view::<f32>()
        .expect("an f32 value")
        .iter()
        .copied()
        .collect()
}

#[test]
fn session_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Session>();
    assert_send_sync::<Graph>();
}

#[test]
fn any_tensor_can_be_fed() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let h = x * 2.0f32;
    let y = h + 1.0f32;
    let sess = Session::new(&g);
    // Feeding the intermediate `h` means `x` need not be fed.
    let hv = Value::from(array![[1.0f32, 2.0]]);
    assert_eq!(
        sess.eval(y, &[feed(h, &hv)]).unwrap(),
        Value::from(array![[2.0f32, 3.0]])
    );
    // Feeding x computes h from it.
    let xv = Value::from(array![[1.0f32, 2.0]]);
    assert_eq!(
        sess.eval(y, &[feed(x, &xv)]).unwrap(),
        Value::from(array![[3.0f32, 5.0]])
    );
    // A fed tensor overrides what it would compute, even a constant.
    let c = g.constant([1.0f32, 1.0]);
    let z = c * 3.0f32;
    let cv = Value::from(array![2.0f32, 5.0]);
    assert_eq!(f32s(&sess.eval(z, &[feed(c, &cv)]).unwrap()), [6.0, 15.0]);
    // Fetching a fed tensor returns the fed value.
    assert_eq!(sess.eval(h, &[feed(h, &hv)]).unwrap(), hv);
}

#[test]
fn only_the_needed_subgraph_runs() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [Some(2)], "x");
    let _unused = g.placeholder(DType::F32, [Some(2)], "unused");
    let bad = g.constant([-1.0f32, 1.0]).log().check_numerics("bad");
    let _bad_user = bad + 1.0f32;
    let y = x * 2.0f32;
    let sess = Session::new(&g);
    let xv = Value::from(array![1.0f32, 2.0]);
    // Neither the unfed placeholder nor the failing check_numerics is needed.
    assert_eq!(f32s(&sess.eval(y, &[feed(x, &xv)]).unwrap()), [2.0, 4.0]);
    // An unneeded feed is fine too.
    let uv = Value::from(array![0.0f32, 0.0]);
    let u = g.get("unused:0").unwrap();
    assert_eq!(
        f32s(&sess.run(&[y], &[feed(x, &xv), feed(u, &uv)]).unwrap()[0]),
        [2.0, 4.0]
    );
    // A variable that is not needed need not be initialised.
    let _w = g.variable(g.constant(1.0f32), "w");
    assert_eq!(f32s(&sess.eval(y, &[feed(x, &xv)]).unwrap()), [2.0, 4.0]);
    // Fetching the check does run it.
    let err = sess.eval(bad, &[]).unwrap_err();
    assert!(
        err.to_string().starts_with("bad : Tensor had NaN values"),
        "{err}"
    );
}

#[test]
fn variables_keep_values_and_assign_returns_the_new_value() {
    let g = Graph::new();
    let w = g.variable(g.constant([1.0f32, 2.0]), "w");
    let inc = w.assign_add(g.constant([1.0f32, 1.0]));
    let dec = w.assign_sub(g.constant([0.5f32, 0.5]));
    let set = w.assign(g.constant([10.0f32, 20.0]));
    let sess = Session::new(&g);
    assert!(!sess.is_initialized(w));
    sess.run_target(g.global_variables_initializer()).unwrap();
    assert!(sess.is_initialized(w));
    assert_eq!(f32s(&sess.eval(w, &[]).unwrap()), [1.0, 2.0]);
    assert_eq!(f32s(&sess.eval(inc, &[]).unwrap()), [2.0, 3.0]);
    assert_eq!(f32s(&sess.eval(inc, &[]).unwrap()), [3.0, 4.0]);
    assert_eq!(f32s(&sess.eval(w, &[]).unwrap()), [3.0, 4.0]);
    assert_eq!(f32s(&sess.eval(dec, &[]).unwrap()), [2.5, 3.5]);
    assert_eq!(f32s(&sess.eval(set, &[]).unwrap()), [10.0, 20.0]);
    assert_eq!(f32s(&sess.eval(w, &[]).unwrap()), [10.0, 20.0]);
    // Each session has its own variable values.
    let other = Session::new(&g);
    assert!(!other.is_initialized(w));
    other.run_target(g.global_variables_initializer()).unwrap();
    assert_eq!(f32s(&other.eval(w, &[]).unwrap()), [1.0, 2.0]);
    assert_eq!(f32s(&sess.eval(w, &[]).unwrap()), [10.0, 20.0]);
    // Re-running the initializer resets the value.
    sess.run_target(g.global_variables_initializer()).unwrap();
    assert_eq!(f32s(&sess.eval(w, &[]).unwrap()), [1.0, 2.0]);
}

#[test]
fn control_dependencies_and_group() {
    let g = Graph::new();
    let w = g.variable(g.constant(0.0f32), "w");
    let v = g.variable(g.constant(0.0f32), "v");
    let step = w.assign_add(g.constant(1.0f32));
    let read = {
        let _deps = g.control_dependencies(&[step]);
        w.identity()
    };
    // Built outside the block: no dependency.
    let plain = w.identity();
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    assert_eq!(sess.eval(read, &[]).unwrap().to_scalar_f64(), Some(1.0));
    assert_eq!(sess.eval(read, &[]).unwrap().to_scalar_f64(), Some(2.0));
    assert_eq!(sess.eval(plain, &[]).unwrap().to_scalar_f64(), Some(2.0));
    // group runs all its inputs and has no value.
    let both = g.group(
        &[
            w.assign_add(g.constant(10.0f32)),
            v.assign_add(g.constant(5.0f32)),
        ],
        "both",
    );
    sess.run_target(both).unwrap();
    sess.run_targets(&[both], &[]).unwrap();
    assert_eq!(sess.eval(w, &[]).unwrap().to_scalar_f64(), Some(22.0));
    assert_eq!(sess.eval(v, &[]).unwrap().to_scalar_f64(), Some(10.0));
    // Fetching a group's value is an error naming it, not a panic.
    let err = sess.run(&[both], &[]).unwrap_err();
    assert!(err.to_string().contains("both"), "{err}");
    // Fetch and target in one run.
    // (As in TF1, whether the fetch sees the target's update is not defined without a
    // control dependency; the target does run.)
    let out = sess.run_with_targets(&[v], &[], &[both]).unwrap();
    assert!(
        matches!(out[0].to_scalar_f64(), Some(x) if x == 10.0 || x == 15.0),
        "{:?}",
        out[0]
    );
    assert_eq!(sess.eval(v, &[]).unwrap().to_scalar_f64(), Some(15.0));
    // Reads ordered after an assign by control dependencies see its value, every time.
    let bump = v.assign_add(g.constant(1.0f32));
    let after = {
        let _deps = g.control_dependencies(&[bump]);
        (v * 1.0f32) + v
    };
    assert_eq!(sess.eval(after, &[]).unwrap().to_scalar_f64(), Some(32.0));
    assert_eq!(sess.eval(after, &[]).unwrap().to_scalar_f64(), Some(34.0));
}

#[test]
fn the_graph_can_grow_after_a_session_exists() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [Some(2)], "x");
    let y = x * 2.0f32;
    let sess = Session::new(&g);
    let xv = Value::from(array![1.0f32, 2.0]);
    assert_eq!(f32s(&sess.eval(y, &[feed(x, &xv)]).unwrap()), [2.0, 4.0]);
    let z = y + 1.0f32;
    let w = g.variable(g.constant([1.0f32, 1.0]), "w");
    let zw = z * w;
    assert_eq!(f32s(&sess.eval(z, &[feed(x, &xv)]).unwrap()), [3.0, 5.0]);
    sess.run_target(g.global_variables_initializer()).unwrap();
    assert_eq!(f32s(&sess.eval(zw, &[feed(x, &xv)]).unwrap()), [3.0, 5.0]);
    // The old fetch still works after growth.
    assert_eq!(f32s(&sess.eval(y, &[feed(x, &xv)]).unwrap()), [2.0, 4.0]);
}

#[test]
fn missing_feed_names_placeholder_dtype_and_shape() {
    let g = Graph::new();
    let line = line!() + 1;
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let y = x.sum(1, false);
    let sess = Session::new(&g);
    let err = sess.eval(y, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "You must feed a value for placeholder tensor 'x' with dtype float and shape [?,3]"
        ),
        "{msg}"
    );
    assert!(msg.contains(&format!("{}:{line}:", file!())), "{msg}");
    // Also through an intermediate that is not fed.
    let z = y * 2.0f32;
    assert!(sess
        .eval(z, &[])
        .unwrap_err()
        .to_string()
        .contains("placeholder tensor 'x'"));
}

#[test]
fn feed_of_wrong_shape_or_dtype_is_refused() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let y = x * 2.0f32;
    let sess = Session::new(&g);
    let v = Value::from(array![[1.0f32, 2.0]]);
    let err = sess.eval(y, &[feed(x, &v)]).unwrap_err();
    assert!(matches!(err, RunError::FeedShape { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Cannot feed value of shape (1, 2) for Tensor x:0, which has shape (None, 3)"
    );
    // Wrong rank.
    let v1 = Value::from(array![1.0f32, 2.0, 3.0]);
    let err = sess.eval(y, &[feed(x, &v1)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Cannot feed value of shape (3,) for Tensor x:0, which has shape (None, 3)"
    );
    // Wrong dtype.
    let vi = Value::from(array![[1i32, 2, 3]]);
    let err = sess.eval(y, &[feed(x, &vi)]).unwrap_err();
    assert!(matches!(err, RunError::FeedDType { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("x:0") && msg.contains("int32") && msg.contains("float"),
        "{msg}"
    );
    // A fed intermediate is checked against its static shape too.
    let h = g.constant([[1.0f32, 2.0]]);
    let hy = h + 1.0f32;
    let bad = Value::from(array![[1.0f32, 2.0, 3.0]]);
    let err = sess.eval(hy, &[feed(h, &bad)]).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("for Tensor {}, which has shape (1, 2)", h.name())),
        "{err}"
    );
    // Feeding the same tensor twice is an error.
    let ok = Value::from(array![[1.0f32, 2.0, 3.0]]);
    let err = sess.run(&[y], &[feed(x, &ok), feed(x, &ok)]).unwrap_err();
    assert!(err.to_string().contains("x:0"), "{err}");
}

#[test]
fn fetching_a_tensor_of_another_graph_is_refused() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.constant(1.0f32);
    let b = g2.constant(2.0f32).named("other");
    let sess = Session::new(&g1);
    let err = sess.run(&[a, b], &[]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("other:0"), "{msg}");
    assert!(msg.contains("not an element of this graph"), "{msg}");
    // As a feed and as a target, too.
    let v = Value::scalar(1.0f32);
    assert!(sess
        .eval(a, &[feed(b, &v)])
        .unwrap_err()
        .to_string()
        .contains("other:0"));
    assert!(sess
        .run_targets(&[b], &[])
        .unwrap_err()
        .to_string()
        .contains("other:0"));
}

#[test]
fn reading_an_uninitialised_variable_is_an_error() {
    let g = Graph::new();
    let w = g.variable(g.constant([1.0f32, 2.0]), "w");
    let y = w * 2.0f32;
    let inc = w.assign_add(g.constant([1.0f32, 1.0]));
    let sess = Session::new(&g);
    let err = sess.eval(y, &[]).unwrap_err();
    assert!(matches!(err, RunError::Uninitialized { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("Attempting to use uninitialized value w"),
        "{err}"
    );
    assert!(err.to_string().contains(file!()), "{err}");
    let err = sess.eval(inc, &[]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Attempting to use uninitialized value w"),
        "{err}"
    );
    // Scoped variables are named in full.
    let v = {
        let _s = g.name_scope("layer");
        g.variable(g.constant(1.0f32), "v")
    };
    let err = sess.eval(v, &[]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Attempting to use uninitialized value layer/v"),
        "{err}"
    );
}

#[test]
fn check_numerics_names_the_node_and_what_it_found() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None], "x");
    let checked = x.log().check_numerics("msg");
    let y = checked * 2.0f32;
    let sess = Session::new(&g);
    let fine = Value::from(array![1.0f32, 2.0]);
    assert!(sess.eval(y, &[feed(x, &fine)]).is_ok());
    let nan = Value::from(array![-1.0f32, 2.0]);
    let err = sess.eval(y, &[feed(x, &nan)]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("msg : Tensor had NaN values"), "{msg}");
    assert!(msg.contains("CheckNumerics"), "{msg}");
    assert!(msg.contains(file!()), "{msg}");
    match &err {
        RunError::CheckNumerics { node, .. } => assert_eq!(node, &checked.op_name()),
        other => panic!("unexpected {other:?}"),
    }
    let inf = Value::from(array![0.0f32, 2.0]);
    let msg = sess.eval(y, &[feed(x, &inf)]).unwrap_err().to_string();
    assert!(msg.starts_with("msg : Tensor had Inf values"), "{msg}");
    let both = Value::from(array![0.0f32, -1.0]);
    let msg = sess.eval(y, &[feed(x, &both)]).unwrap_err().to_string();
    assert!(
        msg.starts_with("msg : Tensor had Inf and NaN values"),
        "{msg}"
    );
}

#[test]
fn runtime_shape_errors_name_the_node() {
    let g = Graph::new();
    let a = g.placeholder(DType::F32, [None, Some(3)], "a");
    let b = g.placeholder(DType::F32, [None, Some(3)], "b");
    let line = line!() + 1;
    let s = (a + b).named("sum");
    assert_eq!(s.shape().to_string(), "[?,3]");
    let sess = Session::new(&g);
    let av = Value::from(ArrayD::<f32>::zeros(vec![2, 3]));
    let bv = Value::from(ArrayD::<f32>::zeros(vec![4, 3]));
    let err = sess.eval(s, &[feed(a, &av), feed(b, &bv)]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("Incompatible shapes: [2, 3] vs. [4, 3]"),
        "{msg}"
    );
    assert!(msg.contains("node sum (op: Add)"), "{msg}");
    assert!(msg.contains(&format!("{}:{line}:", file!())), "{msg}");
    // A matmul whose inner dims only meet at run time.
    let p = g.placeholder(DType::F32, [None, None], "p");
    let q = g.placeholder(DType::F32, [None, None], "q");
    let m = p.matmul(q);
    let pv = Value::from(ArrayD::<f32>::zeros(vec![2, 3]));
    let qv = Value::from(ArrayD::<f32>::zeros(vec![2, 3]));
    let err = sess.eval(m, &[feed(p, &pv), feed(q, &qv)]).unwrap_err();
    assert!(err.to_string().contains(&m.op_name()), "{err}");
    // A reshape that cannot hold the fed elements.
    let r = a.reshape(&[-1, 4]);
    let err = sess.eval(r, &[feed(a, &av)]).unwrap_err();
    assert!(err.to_string().contains(&r.op_name()), "{err}");
    // An assign whose value does not fit the variable.
    let w = g.variable(g.zeros(&[3], DType::F32), "w");
    let x = g.placeholder(DType::F32, [None], "xv");
    let set = w.assign(x);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let xv = Value::from(array![1.0f32, 2.0]);
    let err = sess.eval(set, &[feed(x, &xv)]).unwrap_err();
    assert!(err.to_string().contains(&set.op_name()), "{err}");
    assert_eq!(
        f32s(&sess.eval(w, &[]).unwrap()),
        [0.0, 0.0, 0.0],
        "the failed assign changed nothing"
    );
}

#[test]
fn graph_errors_pass_through_run_error() {
    let g = Graph::new();
    let e: RunError = GraphError::NotFound("x".into()).into();
    assert!(e.to_string().contains("'x'"));
    assert!(g.get("x:0").is_err());
}

#[test]
fn concurrent_runs_match_sequential_ones() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let w = g.variable(g.constant([[1.0f32, -1.0], [0.5, 2.0], [-0.25, 1.0]]), "w");
    let y = (x.matmul(w) + 0.5f32).tanh().sum(1, false);
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let inputs: Vec<Value> = (0..16)
        .map(|i| {
            let data: Vec<f32> = (0..3 * (i + 1))
                .map(|k| ((k * 7 + i) % 11) as f32 / 5.0 - 1.0)
                .collect();
            Value::from_vec(&[i + 1, 3], data).unwrap()
        })
        .collect();
    let sequential: Vec<Value> = inputs
        .iter()
        .map(|v| sess.eval(y, &[feed(x, v)]).unwrap())
        .collect();
    let concurrent: Vec<Vec<(usize, Value)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (sess, inputs) = (&sess, &inputs);
                s.spawn(move || {
                    let mut out = Vec::new();
                    for round in 0..5 {
                        for (i, v) in inputs.iter().enumerate() {
                            if (i + t + round) % 2 == 0 {
                                out.push((i, sess.eval(y, &[feed(x, v)]).unwrap()));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut count = 0;
    for (i, v) in concurrent.into_iter().flatten() {
        assert_eq!(v, sequential[i], "input {i}");
        count += 1;
    }
    assert!(count > 0);
}

#[test]
fn concurrent_assign_add_loses_no_update() {
    let g = Graph::new();
    let counter = g.variable(g.constant(0.0f64), "counter");
    let inc = counter.assign_add(g.constant(1.0f64));
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer()).unwrap();
    let (threads, per_thread) = (4, 250);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    sess.run_target(inc).unwrap();
                }
            });
        }
    });
    assert_eq!(
        sess.eval(counter, &[]).unwrap().to_scalar_f64(),
        Some((threads * per_thread) as f64)
    );
}

#[test]
fn errors_do_not_poison_the_session() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [Some(1)], "x");
    let y = x.log().check_numerics("y");
    let sess = Session::new(&g);
    let bad = Value::from(array![-1.0f32]);
    let good = Value::from(array![1.0f32]);
    std::thread::scope(|s| {
        for t in 0..4 {
            let (sess, bad, good) = (&sess, &bad, &good);
            s.spawn(move || {
                for _ in 0..20 {
                    if t % 2 == 0 {
                        assert!(sess.eval(y, &[feed(x, bad)]).is_err());
                    } else {
                        assert_eq!(f32s(&sess.eval(y, &[feed(x, good)]).unwrap()), [0.0]);
                    }
                }
            });
        }
    });
}
