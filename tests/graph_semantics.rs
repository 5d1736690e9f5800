//! Graph-building semantics: unique names, name scopes, lookup, static shape inference and its
//! errors (with the user's file:line), finalize, and the DOT dump.

use rill::prelude::*;
use rill::GraphError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The text of a panic payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p
            .downcast::<&'static str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

/// `file:line:` of this test file, as a build location starts.
fn here(line: u32) -> String {
    format!("{}:{}:", file!(), line)
}

#[test]
fn names_are_unique_per_graph() {
    let g = Graph::new();
    let a = g.constant(1.0f32);
    let b = g.constant(2.0f32);
    let c = g.constant(3.0f32);
    assert_eq!(a.op_name(), "Const");
    assert_eq!(b.op_name(), "Const_1");
    assert_eq!(c.op_name(), "Const_2");
    assert_eq!(a.name(), "Const:0");
    let s = a + b;
    let s2 = s + c;
    assert_eq!(s.op_name(), "Add");
    assert_eq!(s2.op_name(), "Add_1");
    // Placeholders take the name they are given, uniqued the same way.
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let x1 = g.placeholder(DType::F32, [None, Some(3)], "x");
    assert_eq!(x.op_name(), "x");
    assert_eq!(x1.op_name(), "x_1");
    // A graph of its own starts its counters afresh.
    let g2 = Graph::new();
    assert_eq!(g2.constant(1.0f32).op_name(), "Const");
}

#[test]
fn named_renames_and_stays_unique() {
    let g = Graph::new();
    let a = g.constant(1.0f32).named("a");
    let b = g.constant(2.0f32).named("a");
    assert_eq!(a.op_name(), "a");
    assert_eq!(b.op_name(), "a_1");
    let y = (a + b).named("y");
    assert_eq!(y.name(), "y:0");
    assert_eq!(g.get("y:0").unwrap(), y);
    // The old name is gone.
    assert!(matches!(g.get("Add"), Err(GraphError::NotFound(_))));
    // In a scope, the new name keeps the scope.
    let _s = g.name_scope("layer");
    let z = g.constant(1.0f32).named("z");
    assert_eq!(z.op_name(), "layer/z");
    // Renaming to the name it has is a no-op.
    assert_eq!(z.named("z").op_name(), "layer/z");
}

#[test]
fn name_scopes_nest_and_reentering_uniques_them() {
    let g = Graph::new();
    {
        let _layer = g.name_scope("layer");
        assert_eq!(g.current_scope(), "layer");
        let a = g.constant(1.0f32).named("a");
        assert_eq!(a.op_name(), "layer/a");
        let c = g.constant(1.0f32);
        assert_eq!(c.op_name(), "layer/Const");
        {
            let _inner = g.name_scope("inner");
            assert_eq!(g.current_scope(), "layer/inner");
            let m = g.constant([[1.0f32]]).matmul(g.constant([[2.0f32]]));
            assert_eq!(m.op_name(), "layer/inner/MatMul");
        }
        assert_eq!(g.current_scope(), "layer");
    }
    assert_eq!(g.current_scope(), "");
    {
        let _layer = g.name_scope("layer");
        assert_eq!(g.current_scope(), "layer_1");
        assert_eq!(g.constant(1.0f32).named("a").op_name(), "layer_1/a");
        assert_eq!(g.constant(1.0f32).op_name(), "layer_1/Const");
    }
    {
        let _layer = g.name_scope("layer");
        assert_eq!(
            g.placeholder(DType::F32, [Some(1)], "a").op_name(),
            "layer_2/a"
        );
    }
    // Top-level names are unaffected by scoped ones.
    assert_eq!(g.constant(1.0f32).op_name(), "Const");
}

#[test]
fn lookup_by_name_and_index() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let h = {
        let _s = g.name_scope("layer");
        (x * 2.0f32).named("h")
    };
    assert_eq!(g.get("x:0").unwrap(), x);
    assert_eq!(g.get("x").unwrap(), x);
    assert_eq!(g.get("layer/h:0").unwrap(), h);
    assert_eq!(g.get("x:0").unwrap().shape().to_string(), "[?,3]");
    let err = g.get("x:1").unwrap_err();
    assert!(err.to_string().contains("x:1"), "{err}");
    let err = g.get("nope:0").unwrap_err();
    assert!(matches!(err, GraphError::NotFound(_)));
    assert!(err.to_string().contains("nope:0"), "{err}");
}

#[test]
fn static_shapes_are_inferred_when_built() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    assert_eq!(x.shape().to_string(), "[?,3]");
    let w = g.variable(g.zeros(&[3, 4], DType::F32), "w");
    let b = g.variable(g.zeros(&[4], DType::F32), "b");
    let y = x.matmul(w) + b;
    assert_eq!(y.shape().to_string(), "[?,4]");
    assert_eq!(y.dtype(), DType::F32);
    let s = y.sum(1, false);
    assert_eq!(s.shape().to_string(), "[?]");
    let t = y.transpose();
    assert_eq!(t.shape().to_string(), "[4,?]");
    let r = y.reshape(&[-1, 2]);
    assert_eq!(r.shape().to_string(), "[?,2]");
    let cmp = y.greater(0.0f32);
    assert_eq!(cmp.dtype(), DType::Bool);
}

#[test]
fn try_matmul_error_names_node_op_shapes_and_line() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let w = g.constant([[1.0f32, 2.0], [3.0, 4.0]]);
    let ok_w = g.constant([[1.0f32], [2.0], [3.0]]);
    let _first = x.matmul(ok_w);
    let line = line!() + 1;
    let err = x.try_matmul(w).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("Dimensions must be equal, but are 3 and 2 for 'MatMul_1' (op: MatMul) with input shapes: [?,3], [2,2]"),
        "{msg}"
    );
    assert!(
        msg.contains(&here(line)),
        "expected {} in {msg}",
        here(line)
    );
    match err {
        GraphError::InvalidOp {
            node,
            op,
            shapes,
            location,
            ..
        } => {
            assert_eq!(node, "MatMul_1");
            assert_eq!(op, "MatMul");
            assert_eq!(shapes, "[?,3], [2,2]");
            assert!(location.starts_with(&here(line)), "{location}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    // The failed build added no node, and the next MatMul takes the name the error used.
    let n = g.len();
    assert_eq!(x.matmul(ok_w).op_name(), "MatMul_1");
    assert_eq!(g.len(), n + 1);
}

#[test]
fn panicking_matmul_panics_with_the_same_message() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let w = g.constant([[1.0f32, 2.0], [3.0, 4.0]]);
    let _first = x.matmul(g.constant([[1.0f32], [2.0], [3.0]]));
    let expected = x.try_matmul(w).unwrap_err().to_string();
    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| x.matmul(w)));
    let msg = panic_message(r.unwrap_err());
    // The same message; only the location differs.
    let head = |m: &str| m.split("\n  built at").next().unwrap().to_string();
    assert_eq!(head(&msg), head(&expected));
    assert!(
        msg.contains("for 'MatMul_1' (op: MatMul) with input shapes: [?,3], [2,2]"),
        "{msg}"
    );
    assert!(
        msg.contains(&here(line)),
        "expected {} in {msg}",
        here(line)
    );
}

#[test]
fn add_operator_shape_error_names_line() {
    let g = Graph::new();
    let a = g.placeholder(DType::F32, [None, Some(3)], "a");
    let b = g.placeholder(DType::F32, [Some(2), Some(2)], "b");
    let line = line!() + 1;
    let err = a.try_add(b).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("for 'Add' (op: Add) with input shapes: [?,3], [2,2]"),
        "{msg}"
    );
    assert!(msg.contains(&here(line)), "{msg}");
    let line = line!() + 1;
    let r = catch_unwind(AssertUnwindSafe(|| a + b));
    let pmsg = panic_message(r.unwrap_err());
    assert!(
        pmsg.contains("for 'Add' (op: Add) with input shapes: [?,3], [2,2]"),
        "{pmsg}"
    );
    assert!(
        pmsg.contains(&here(line)),
        "expected {} in {pmsg}",
        here(line)
    );
    // A dtype mismatch is an error too, naming the node.
    let i = g.placeholder(DType::I32, [None, Some(3)], "i");
    let err = a.try_mul(i).unwrap_err().to_string();
    assert!(err.contains("'Mul' (op: Mul)"), "{err}");
}

#[test]
fn every_node_records_the_line_that_built_it() {
    let g = Graph::new();
    let line = line!() + 1;
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let line2 = line!() + 1;
    let y = x.exp() * 2.0f32;
    let node = g.node(x.node_id());
    assert_eq!(
        (node.location.file(), node.location.line()),
        (file!(), line)
    );
    let node = g.node(y.node_id());
    assert_eq!(
        (node.location.file(), node.location.line()),
        (file!(), line2)
    );
}

#[test]
fn a_finalized_graph_refuses_new_nodes() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [Some(2)], "x");
    let y = x * 2.0f32;
    g.finalize();
    assert!(g.is_finalized());
    let n = g.len();
    let line = line!() + 1;
    let err = g.try_constant(1.0f32).unwrap_err();
    assert!(matches!(err, GraphError::Finalized { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("finalized"), "{msg}");
    assert!(msg.contains("'Const' (op: Const)"), "{msg}");
    assert!(msg.contains(&here(line)), "{msg}");
    let r = catch_unwind(AssertUnwindSafe(|| y + 1.0f32));
    assert!(panic_message(r.unwrap_err()).contains("finalized"));
    assert!(x.try_exp().is_err());
    assert!(g.try_variable(x, "v").is_err());
    assert_eq!(g.len(), n, "no node was added");
    // The finalized graph still runs.
    let sess = Session::new(&g);
    let xv = Value::from(ndarray::array![1.0f32, 2.0]);
    assert_eq!(
        sess.eval(y, &[feed(x, &xv)]).unwrap(),
        Value::from(ndarray::array![2.0f32, 4.0])
    );
}

#[test]
fn using_a_tensor_of_another_graph_is_an_error() {
    let g1 = Graph::new();
    let g2 = Graph::new();
    let a = g1.placeholder(DType::F32, [Some(2)], "a");
    let b = g2.placeholder(DType::F32, [Some(2)], "b");
    let err = a.try_add(b).unwrap_err();
    assert!(matches!(err, GraphError::ForeignTensor { .. }), "{err:?}");
    assert!(err.to_string().contains("b:0"), "{err}");
    assert!(g2.tensor(a.id()).is_err());
}

/// A small two-layer graph, built the same way each time.
fn build_model() -> Graph {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let h = {
        let _s = g.name_scope("layer");
        let w = g.variable(g.constant([[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0]]), "w");
        let b = g.variable(g.zeros(&[2], DType::F32), "b");
        (x.matmul(w) + b).relu()
    };
    let _out = {
        let _s = g.name_scope("out");
        let _inner = g.name_scope("inner");
        h.sum(1, false).named("y")
    };
    let _init = g.global_variables_initializer();
    g
}

#[test]
fn dot_has_every_node_styles_and_clusters() {
    let g = build_model();
    let dot = g.to_dot();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    g.with_nodes(|nodes| {
        for n in nodes {
            let short = n.name.rsplit('/').next().unwrap();
            // Ops without output (NoOp) show no dtype or shape.
            let label = if n.op.has_output() {
                format!("{short}\\n{} {} {}", n.op.type_name(), n.dtype, n.shape)
            } else {
                format!("{short}\\n{}\"", n.op.type_name())
            };
            assert!(dot.contains(&label), "missing label {label} in\n{dot}");
            assert!(
                dot.contains(&format!("tooltip=\"{}\"", n.name)),
                "missing {} in\n{dot}",
                n.name
            );
        }
    });
    // Placeholders, variables and constants are drawn differently.
    let style_of = |name: &str| -> String {
        let line = dot
            .lines()
            .find(|l| l.contains(&format!("tooltip=\"{name}\"")))
            .unwrap();
        line.split_once("tooltip=")
            .unwrap()
            .1
            .split_once(", ")
            .unwrap()
            .1
            .to_string()
    };
    let (p, v, c) = (style_of("x"), style_of("layer/w"), style_of("layer/Const"));
    assert_ne!(p, v);
    assert_ne!(p, c);
    assert_ne!(v, c);
    // Scopes are clusters, nested.
    assert!(dot.contains("subgraph \"cluster_layer\""), "{dot}");
    assert!(dot.contains("subgraph \"cluster_out\""), "{dot}");
    assert!(dot.contains("subgraph \"cluster_out/inner\""), "{dot}");
    assert!(dot.contains("subgraph \"cluster_layer/w\""), "{dot}");
    // Shapes appear on the nodes.
    assert!(dot.contains("[?,3]") && dot.contains("[?,2]"), "{dot}");
}

#[test]
fn dot_is_deterministic() {
    let a = build_model().to_dot();
    let b = build_model().to_dot();
    assert_eq!(a, b);
}

#[test]
fn write_dot_writes_the_file() {
    let g = build_model();
    let dir = std::env::temp_dir().join(format!("rill-dot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.dot");
    g.write_dot(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), g.to_dot());
    // Writing again replaces the file.
    let _extra = g.constant(1.0f32).named("extra");
    g.write_dot(&path).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("tooltip=\"extra\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dot_renders_with_graphviz_when_installed() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let text = build_model().to_dot();
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            println!("notice: graphviz `dot` not found ({e}); checked the DOT text only");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8_lossy(&out.stdout);
    assert!(svg.contains("<svg"), "{svg}");
    assert!(
        svg.contains("cluster_layer") || svg.contains("layer"),
        "{svg}"
    );
}
