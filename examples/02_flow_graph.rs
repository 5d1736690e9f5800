//! Chapter 02, the flow graph: build a one-layer network `y = sigmoid(x W + b)`, inspect it
//! (node list and Graphviz DOT), then run it with feeds and fetches, including an intermediate
//! fetched and an intermediate fed, and the errors TF1 users know, printed.
//!
//! Run with `cargo run --release --example 02_flow_graph`. The DOT goes to the system's temp
//! directory unless `--dot PATH` names another file; `dot -Tsvg` draws it (docs/img/).

use ndarray::array;
use rill::prelude::*;
use std::error::Error;
use std::path::PathBuf;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn main() -> Res {
    let dot_path = parse_args()?;

    // -- build: nothing is computed here, every call adds a node
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let (w, b, z, y) = {
        // Nodes built while the guard lives are named `layer/...` and drawn in one box.
        let _layer = g.name_scope("layer");
        let w = g.variable(g.constant([[1.0f32], [-1.0]]), "W");
        let b = g.variable(g.constant([0.5f32]), "b");
        let z = (x.matmul(w) + b).named("z");
        let y = z.sigmoid().named("y");
        (w, b, z, y)
    };
    let init = g.global_variables_initializer();

    // -- inspect
    println!(
        "== {} nodes, in the order they were built (a topological order)",
        g.len()
    );
    g.with_nodes(|nodes| {
        for n in nodes {
            let inputs: Vec<&str> = n
                .inputs
                .iter()
                .map(|i| nodes[i.index()].name.as_str())
                .collect();
            println!(
                "  {:<18} {:<12} {:<4} {:<6} <- {}",
                n.name,
                n.op.type_name(),
                n.dtype,
                n.shape,
                inputs.join(", ")
            );
        }
    });
    println!("x = {x:?}\nW = {w:?}\ny = {y:?}");

    let dot_path = dot_path.unwrap_or_else(|| std::env::temp_dir().join("rill-02-flow-graph.dot"));
    g.write_dot(&dot_path)?;
    println!("wrote the graph in DOT to {}", dot_path.display());

    // -- run
    let sess = Session::new(&g);
    sess.run_target(init)?;
    println!(
        "\n== variables after init\nW = {}\nb = {}",
        indent(&sess.eval(w, &[])?),
        sess.eval(b, &[])?
    );

    // Feeds in, fetches out: the batch dimension of x is None, so any number of rows fits.
    let xs = Value::from(array![[0.0f32, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]);
    let out = sess.eval(y, &[feed(x, &xs)])?;
    println!(
        "\n== y for a batch of {} rows\ny = {}",
        xs.shape()[0],
        indent(&out)
    );

    // Several fetches in one run: the intermediate z and the output y come from the same pass.
    let zy = sess.run(&[z, y], &[feed(x, &xs)])?;
    println!(
        "\n== z and y fetched together\nz = {}\ny = {}",
        indent(&zy[0]),
        indent(&zy[1])
    );

    // Any tensor can be fed, not only placeholders: feeding z skips x, W, b and the matmul, so
    // x need not be fed at all.
    let zs = Value::from(array![[-2.0f32], [0.0], [2.0]]);
    println!(
        "\n== y with z fed directly (x not needed)\ny = {}",
        indent(&sess.eval(y, &[feed(z, &zs)])?)
    );

    // -- errors: each names the tensor, its dtype and shape, and the line that built it
    println!("\n== errors");
    report("y without feeding x", sess.eval(y, &[]));
    let bad_shape = Value::from(array![[1.0f32, 2.0, 3.0]]);
    report("x fed a [1, 3] value", sess.eval(y, &[feed(x, &bad_shape)]));
    let bad_dtype = Value::from(array![[1.0f64, 2.0]]);
    report("x fed f64 values", sess.eval(y, &[feed(x, &bad_dtype)]));
    // Shapes are checked while building, before any run: [?,2] x [3,1] cannot multiply.
    let v = g.constant([[1.0f32], [2.0], [3.0]]);
    report("x matmul a [3, 1] matrix", x.try_matmul(v));
    Ok(())
}

/// A value's text with its continuation lines indented to sit under `name = `.
fn indent(v: &Value) -> String {
    v.to_string().replace('\n', "\n    ")
}

/// Prints the outcome of something expected to fail.
fn report<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) {
    match result {
        Ok(_) => println!("- {what}: unexpectedly succeeded"),
        Err(e) => println!("- {what}:\n    {}", e.to_string().replace('\n', "\n    ")),
    }
}

/// `--dot PATH` is the only option.
fn parse_args() -> Res<Option<PathBuf>> {
    let mut args = std::env::args_os().skip(1);
    let mut dot = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--dot") => dot = Some(PathBuf::from(args.next().ok_or("--dot needs a path")?)),
            _ => return Err(format!("unknown argument {arg:?} (expected: --dot PATH)").into()),
        }
    }
    Ok(dot)
}
