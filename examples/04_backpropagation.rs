//! Chapter 04, backpropagation: a tiny 2-3-1 network, its forward pass, the gradients of its
//! loss by reverse-mode autodiff (`gradients`, which adds the backward pass to the graph as
//! nodes under `gradients/`), a check of every gradient entry against a finite difference,
//! and the whole graph, forward and backward, drawn.
//!
//! Run with `cargo run --release --example 04_backpropagation`. `--dot PATH` writes the graph
//! in DOT to `PATH`; `--write-docs` also draws it with Graphviz (`dot -Tsvg`) into
//! docs/img/04-backpropagation.svg. Without either nothing is written.

use ndarray::{array, ArrayD};
use rill::compiler::gradients;
use rill::prelude::*;
use std::error::Error;
use std::path::PathBuf;
use std::process::Command;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn main() -> Res {
    let (dot_path, write_docs) = parse_args()?;

    // -- the network: h = tanh(x W1 + b1), y = sigmoid(h W2 + b2), loss = mean((y - t)^2).
    // f64 so that the finite differences below are accurate.
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(2)], "x");
    let t = g.placeholder(DType::F64, [None, Some(1)], "t");
    let (w1, b1, h) = {
        let _s = g.name_scope("hidden");
        let w1 = g.variable(
            g.constant(array![[0.5f64, -0.3, 0.8], [-0.6, 0.4, 0.2]]),
            "W1",
        );
        let b1 = g.variable(g.constant(array![0.1f64, -0.1, 0.0]), "b1");
        (w1, b1, (x.matmul(w1) + b1).tanh().named("h"))
    };
    let (w2, b2, y) = {
        let _s = g.name_scope("output");
        let w2 = g.variable(g.constant(array![[0.7f64], [-0.5], [0.3]]), "W2");
        let b2 = g.variable(g.constant(array![0.05f64]), "b2");
        (w2, b2, (h.matmul(w2) + b2).sigmoid().named("y"))
    };
    let loss = {
        let _s = g.name_scope("loss");
        (y - t).square().mean(ALL, false).named("mse")
    };

    // -- backward: one call adds the gradient subgraph, d loss / d each parameter
    let params = [w1, b1, w2, b2];
    let grads: Vec<Tensor<'_>> = gradients(&[loss], &params, None)?
        .into_iter()
        .map(|d| d.ok_or("a parameter does not affect the loss"))
        .collect::<Result<_, _>>()?;
    let n_grad = g.with_nodes(|ns| {
        ns.iter()
            .filter(|n| n.name.starts_with("gradients/"))
            .count()
    });
    println!(
        "== the graph: {} nodes, {n_grad} of them the backward pass under gradients/",
        g.len()
    );
    // The picture is taken now, before the update ops below are added.
    let dot = g.to_dot();

    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let xs = Value::from(array![[0.0f64, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]);
    let ts = Value::from(array![[0.0f64], [1.0], [1.0], [0.0]]);
    let feeds = [feed(x, &xs), feed(t, &ts)];

    // -- forward: the input flows through the parameters to the output and the loss
    let fwd = sess.run(&[h, y, loss], &feeds)?;
    println!("\n== forward pass on 4 samples");
    println!("h = {}", show(&fwd[0], 4));
    println!("y = {}", show(&fwd[1], 4));
    println!("loss = {:.6}", scalar(&fwd[2]));

    // -- backward: fetch the gradients, then check each entry by a central difference,
    //    (loss(p + eps) - loss(p - eps)) / 2 eps, feeding the perturbed parameter in place of
    //    the variable (any tensor can be fed)
    let grad_values = sess.run(&grads, &feeds)?;
    let param_values = sess.run(&params, &[])?;
    let eps = 1e-6;
    let mut worst: f64 = 0.0;
    println!("\n== gradients (symbolic) and the largest gap to finite differences");
    for (i, (p, label)) in params.iter().zip(["W1", "b1", "W2", "b2"]).enumerate() {
        let base = param_values[i]
            .view::<f64>()
            .ok_or("f64 parameter")?
            .to_owned();
        let mut numeric = ArrayD::<f64>::zeros(base.shape());
        for k in 0..base.len() {
            let at = |delta: f64| -> Res<f64> {
                let mut moved = base.clone();
                moved.as_slice_mut().ok_or("contiguous")?[k] += delta;
                let moved = Value::from(moved);
                let v = sess.eval(loss, &[feed(x, &xs), feed(t, &ts), feed(*p, &moved)])?;
                Ok(v.to_scalar_f64().ok_or("scalar loss")?)
            };
            numeric.as_slice_mut().ok_or("contiguous")?[k] = (at(eps)? - at(-eps)?) / (2.0 * eps);
        }
        let symbolic = grad_values[i].to_f64_vec();
        let gap = symbolic
            .iter()
            .zip(numeric.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(gap);
        let name = format!("dloss/d{label}");
        println!(
            "{name} = {}\n    max |symbolic - numeric| = {gap:.1e}",
            show(&grad_values[i], name.len() + 3)
        );
    }
    if worst > 1e-7 {
        return Err(format!("gradient check failed: a gap of {worst:e}").into());
    }
    println!(
        "all {} gradient entries agree to {worst:.1e}",
        count(&param_values)
    );

    // -- one step of gradient descent with these gradients lowers the loss
    let lr = 0.5;
    let step: Vec<Tensor<'_>> = params
        .iter()
        .zip(&grads)
        .map(|(p, d)| p.assign_sub(*d * lr))
        .collect();
    sess.run_targets(&step, &feeds)?;
    let after = sess.eval(loss, &feeds)?;
    println!(
        "\n== after one step p <- p - {lr} dloss/dp: loss {:.6} -> {:.6}",
        scalar(&fwd[2]),
        scalar(&after)
    );

    // -- the picture: the backward pass mirrors the forward one
    if let Some(path) =
        dot_path.or_else(|| write_docs.then(|| std::env::temp_dir().join("rill-04.dot")))
    {
        rill::graph::dot::write_atomically(&path, dot.as_bytes())?;
        println!("\nwrote the graph in DOT to {}", path.display());
        if write_docs {
            let svg =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/img/04-backpropagation.svg");
            let status = Command::new("dot")
                .arg("-Tsvg")
                .arg(&path)
                .arg("-o")
                .arg(&svg)
                .status()
                .map_err(|e| format!("cannot run Graphviz's dot ({e}); install graphviz"))?;
            if !status.success() {
                return Err(format!("dot -Tsvg failed: {status}").into());
            }
            println!("drew it to {}", svg.display());
        }
    }
    Ok(())
}

fn count(values: &[Value]) -> usize {
    values.iter().map(Value::len).sum()
}

fn scalar(v: &Value) -> f64 {
    v.to_scalar_f64().unwrap_or(f64::NAN)
}

/// A vector or matrix with six decimals, continuation lines indented by `by` spaces.
fn show(v: &Value, by: usize) -> String {
    let cols = v.shape().last().copied().unwrap_or(1).max(1);
    let rows: Vec<String> = v
        .to_f64_vec()
        .chunks(cols)
        .map(|r| {
            let r: Vec<String> = r.iter().map(|x| format!("{x:>9.6}")).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    if v.ndim() < 2 {
        return rows.join("");
    }
    format!("[{}]", rows.join(&format!(",\n{}", " ".repeat(by + 1))))
}

/// `--dot PATH` and `--write-docs`.
fn parse_args() -> Res<(Option<PathBuf>, bool)> {
    let mut args = std::env::args_os().skip(1);
    let (mut dot, mut docs) = (None, false);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--dot") => dot = Some(PathBuf::from(args.next().ok_or("--dot needs a path")?)),
            Some("--write-docs") => docs = true,
            _ => {
                return Err(
                    format!("unknown argument {arg:?} (expected --dot PATH, --write-docs)").into(),
                )
            }
        }
    }
    Ok((dot, docs))
}
