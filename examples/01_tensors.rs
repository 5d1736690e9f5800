//! Chapter 01, tensors: constants, zeros / ones / fill, sequences, random tensors and variables,
//! each with a dtype, a shape and a name, built into a graph and evaluated in a `Session`.
//!
//! Run with `cargo run --release --example 01_tensors`; add `-- --dot PATH` to also write the
//! graph in Graphviz DOT to `PATH`.

use rill::prelude::*;
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// Evaluates `t` and prints its name, dtype, static shape and value.
fn show(sess: &Session, t: Tensor<'_>) -> Res {
    let value = sess.eval(t, &[])?;
    print_value(t, &value);
    Ok(())
}

/// Prints a tensor's description and a value of it, the value indented under it.
fn print_value(t: Tensor<'_>, value: &Value) {
    println!(
        "{:<22} dtype={:<4} shape={}",
        t.name(),
        t.dtype(),
        t.shape()
    );
    for line in value.to_string().lines() {
        println!("    {line}");
    }
}

fn main() -> Res {
    let dot_path = parse_args()?;

    // Everything below only *describes* computations: each call adds a node to the graph.
    let g = Graph::new();
    g.set_random_seed(2024);

    // -- constant tensors: tf.constant(value, dtype, shape, name), tf.zeros, tf.ones
    let scalar = g.constant(3.0f32).named("scalar");
    let vector = g.constant([1i32, 2, 3]).named("vector");
    let matrix = g.constant([[1.0f64, 2.0], [3.0, 4.0]]).named("matrix");
    let flags = g.constant([true, false, true]).named("flags");
    // With a dtype and a shape: a scalar is filled out, a list is reshaped (6 elements -> 2x3).
    let sevens = g
        .constant_with(7, DType::F64, Some(&[2, 3]))
        .named("sevens");
    let reshaped = g
        .constant_with(vec![1i64, 2, 3, 4, 5, 6], DType::F32, Some(&[2, 3]))
        .named("reshaped");
    let zeros = g.zeros(&[2, 3], DType::F32);
    let ones = g.ones(&[3], DType::I32);
    let ones_again = g.ones(&[1], DType::F32); // same base name: rill makes it unique (ones_1)
    let fives = g.fill(&[2, 2], 5.0, DType::I64);

    // -- sequence tensors: tf.linspace(start, stop, num), tf.range(start, limit, delta)
    let lin = g.linspace(0.0, 1.0, 5, DType::F32);
    let int_range = g.range(0.0, 10.0, 3.0, DType::I32);
    let float_range = g.range(1.0, 2.0, 0.25, DType::F64);
    let countdown = g.range(5.0, 0.0, -1.0, DType::I64);

    // -- random tensors: new values at every run, the same ones every time the program runs
    let normal = g
        .random_normal(&[2, 3], 0.0, 1.0, DType::F32, Some(7))
        .named("normal");
    let uniform = g
        .random_uniform(&[4], -1.0, 1.0, DType::F64, Some(7))
        .named("uniform");

    // -- variable tensors: tf.Variable(initial_value, dtype, name)
    // An initializer builds the ops that draw the initial value (Keras's default for kernels).
    let glorot = Initializer::GlorotUniform { seed: Some(1) }.build(&g, &[2, 3], DType::F32)?;
    let w = g.variable(glorot, "W");
    let b = g.variable(g.constant([0.5f32, -0.5, 0.0]), "b");
    let counter = g.variable(g.constant(0i64), "counter");
    let step = counter.assign_add(g.constant(1i64));
    let init = g.global_variables_initializer();

    println!("== the graph: {} nodes, nothing computed yet", g.len());
    g.with_nodes(|nodes| {
        for n in nodes {
            println!(
                "  {:<28} {:<14} {:<4} {}",
                n.name,
                n.op.type_name(),
                n.dtype,
                n.shape
            );
        }
    });

    // Running a graph needs a session; it keeps the variables' values between runs.
    let sess = Session::new(&g);

    println!("\n== constants");
    for t in [
        scalar, vector, matrix, flags, sevens, reshaped, zeros, ones, ones_again, fives,
    ] {
        show(&sess, t)?;
    }

    println!("\n== sequences");
    for t in [lin, int_range, float_range, countdown] {
        show(&sess, t)?;
    }

    println!("\n== random tensors (two runs draw different numbers)");
    for t in [normal, uniform] {
        show(&sess, t)?;
        show(&sess, t)?;
    }

    println!("\n== variables");
    // Before `init` runs, a variable has no value and reading it is an error.
    match sess.eval(w, &[]) {
        Ok(_) => println!("unexpected: W has a value before init"),
        Err(e) => println!(
            "reading W before init fails, as in TF:\n  {}",
            e.to_string().replace('\n', "\n  ")
        ),
    }
    sess.run_target(init)?;
    println!("after init, W initialised: {}", sess.is_initialized(w));
    for t in [w, b, counter] {
        show(&sess, t)?;
    }
    // A value fetched together with others: one run, several results.
    let values = sess.run(&[w, b], &[])?;
    println!(
        "W and b in one run: shapes {:?} and {:?}",
        values[0].shape(),
        values[1].shape()
    );
    // Variables keep their value across runs: the counter counts.
    for _ in 0..3 {
        sess.run_target(step)?;
    }
    show(&sess, counter)?;

    // A fetched `Value` converts back into an ndarray of the right element type.
    let m = sess
        .eval(matrix, &[])?
        .into_array::<f64>()
        .map_err(|v| format!("matrix is {}, not f64", v.dtype()))?;
    println!(
        "\nmatrix as an ndarray: sum {}, shape {:?}",
        m.sum(),
        m.shape()
    );

    if let Some(path) = dot_path {
        g.write_dot(&path)?;
        println!("\nwrote the graph in DOT to {path} (render it: dot -Tsvg {path} -o graph.svg)");
    }
    Ok(())
}

/// `--dot PATH` is the only option.
fn parse_args() -> Res<Option<String>> {
    let mut args = std::env::args().skip(1);
    let mut dot = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dot" => dot = Some(args.next().ok_or("--dot needs a path")?),
            other => {
                return Err(format!("unknown argument '{other}' (expected: --dot PATH)").into())
            }
        }
    }
    Ok(dot)
}
