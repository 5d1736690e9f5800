//! Chapter 07, nonlinear regression: noisy samples of `sin(x)` fitted by a straight line
//! (which cannot bend) and by a small network, 1-32-32-1 with tanh hidden layers, trained
//! with Adam; losses, errors against the true curve, and a plot.
//!
//! Run with `cargo run --release --example 07_nonlinear_regression`. With `--write-docs` the
//! plot goes to docs/img/07-nonlinear-regression.svg, with `--svg PATH` to `PATH`.
//! `RILL_SMALL=1` trains for fewer steps.

#[path = "common/args.rs"]
mod args;

use rill::nn::plot::{Chart, Figure, Legend, Series};
use rill::nn::{Adam, Optimizer};
use rill::prelude::*;
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

const N: usize = 200;
const NOISE: f64 = 0.1;

fn main() -> Res {
    let svg_path = args::svg_output("07-nonlinear-regression.svg")?;
    let small = std::env::var_os("RILL_SMALL").is_some();
    let steps = if small { 600 } else { 2000 };

    // -- the data, made by a graph too: x evenly spaced on [-3, 3], y = sin(x) + noise
    let data = Graph::new();
    let xs = data
        .linspace(-3.0, 3.0, N, DType::F32)
        .reshape(&[N as i64, 1]);
    let noise = data.random_normal(&[N, 1], 0.0, NOISE, DType::F32, Some(7));
    let ys = xs.sin() + noise;
    let v = Session::new(&data).run(&[xs, ys], &[])?;
    let (x_data, y_data) = (v[0].clone(), v[1].clone());
    println!("== {N} samples of y = sin(x) + noise (stddev {NOISE}) on [-3, 3]");

    // -- the same training loop for both models; only the model differs
    let line = fit("a straight line, y = x w + b", &x_data, &y_data, &[], steps)?;
    let net = fit(
        "a 1-32-32-1 tanh network",
        &x_data,
        &y_data,
        &[32, 32],
        steps,
    )?;

    // A good fit's training MSE is about the noise variance: what is left is the noise.
    println!(
        "\nnoise variance {:.4}: the network's training MSE {:.4} is close to it, the line's {:.4} is not",
        NOISE * NOISE,
        net.losses[steps - 1],
        line.losses[steps - 1]
    );
    if net.curve_mse > 0.01 {
        return Err(format!(
            "the network did not fit sin(x): MSE {:.4} against the true curve",
            net.curve_mse
        )
        .into());
    }

    if let Some(path) = svg_path {
        let xv = x_data.to_f64_vec();
        let grid = |ys: &[f64]| -> Vec<(f64, f64)> {
            line.grid.iter().copied().zip(ys.iter().copied()).collect()
        };
        let truth: Vec<f64> = line.grid.iter().map(|x| x.sin()).collect();
        let fit_chart = Chart::new("data and fits")
            .x_label("x")
            .y_label("y")
            .legend(Legend::TopLeft)
            .series(
                Series::dots("data", xv.iter().copied().zip(y_data.to_f64_vec()))
                    .color("#9e9e9e")
                    .width(2.0),
            )
            .series(
                Series::line("sin(x)", grid(&truth))
                    .color("#000000")
                    .dashed(),
            )
            .series(
                Series::line("straight line", grid(&line.curve))
                    .color("#1f77b4")
                    .width(2.5),
            )
            .series(
                Series::line("1-32-32-1 network", grid(&net.curve))
                    .color("#d62728")
                    .width(2.5),
            );
        let loss_chart = Chart::new("training loss")
            .x_label("step")
            .y_label("training MSE (log scale)")
            .log_y()
            .series(Series::from_ys("straight line", &line.losses).color("#1f77b4"))
            .series(Series::from_ys("1-32-32-1 network", &net.losses).color("#d62728"))
            .series(
                Series::line(
                    "noise variance",
                    [(0.0, NOISE * NOISE), (steps as f64, NOISE * NOISE)],
                )
                .color("#7f7f7f")
                .dashed(),
            );
        Figure::new("nonlinear regression: y = sin(x) + noise")
            .panel(fit_chart)
            .panel(loss_chart)
            .write(&path)?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// A trained model's loss per step, its curve on a grid of x, and its MSE against sin(x) there.
struct Fit {
    losses: Vec<f64>,
    grid: Vec<f64>,
    curve: Vec<f64>,
    curve_mse: f64,
}

/// Builds a network with the given hidden layer widths (none: a straight line), trains it with
/// Adam on the full data set for `steps` steps, and reports.
fn fit(what: &str, x_data: &Value, y_data: &Value, hidden: &[usize], steps: usize) -> Res<Fit> {
    let g = Graph::new();
    g.set_random_seed(1);
    let x = g.placeholder(DType::F32, [None, Some(1)], "x");
    let y = g.placeholder(DType::F32, [None, Some(1)], "y");
    let mut h = x;
    let mut width = 1;
    for (i, &units) in hidden.iter().enumerate() {
        h = dense(&g, h, width, units, &format!("hidden{}", i + 1)).tanh();
        width = units;
    }
    let pred = dense(&g, h, width, 1, "output");
    let loss = (pred - y).square().mean(ALL, false).named("mse");
    let train = Adam::new(0.01).minimize(loss, None)?;

    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let feeds = [feed(x, x_data), feed(y, y_data)];
    println!("\n== {what}: {steps} Adam steps on the full batch");
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let l = sess.run_with_targets(&[loss], &feeds, &[train])?[0]
            .to_scalar_f64()
            .unwrap_or(f64::NAN);
        if step % (steps / 5) == 0 {
            println!("step {step:>5}  training MSE {l:.4}");
        }
        losses.push(l);
    }
    println!(
        "step {steps:>5}  training MSE {:.4}",
        sess.eval(loss, &feeds)?.to_scalar_f64().unwrap_or(f64::NAN)
    );

    // The fitted curve, on a fine grid, against the noise-free truth.
    let grid: Vec<f64> = (0..=240).map(|i| -3.0 + 6.0 * i as f64 / 240.0).collect();
    let gx = Value::from_vec(&[grid.len(), 1], grid.iter().map(|&v| v as f32).collect())
        .ok_or("grid")?;
    let curve = sess.eval(pred, &[feed(x, &gx)])?.to_f64_vec();
    let curve_mse = grid
        .iter()
        .zip(&curve)
        .map(|(x, c)| (c - x.sin()).powi(2))
        .sum::<f64>()
        / grid.len() as f64;
    println!("MSE against the true sin(x) on [-3, 3]: {curve_mse:.4}");
    Ok(Fit {
        losses,
        grid,
        curve,
        curve_mse,
    })
}

/// A fully connected layer `x W + b`, Glorot-uniform weights and zero bias, in its own scope.
fn dense<'g>(g: &'g Graph, x: Tensor<'g>, inputs: usize, units: usize, name: &str) -> Tensor<'g> {
    let _scope = g.name_scope(name);
    let w = g.variable_init(
        &[inputs, units],
        DType::F32,
        Initializer::GlorotUniform { seed: None },
        "kernel",
    );
    let b = g.variable_init(&[units], DType::F32, Initializer::Zeros, "bias");
    x.matmul(w) + b
}
