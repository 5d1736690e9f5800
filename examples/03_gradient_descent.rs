//! Chapter 03, gradient descent: minimise `loss(W) = (W - 3)²` first by hand-written updates
//! (`W ← W − lr · dloss/dW`, the gradient built by `gradients`), then with the
//! `GradientDescent` optimizer, and compare learning rates.
//!
//! Run with `cargo run --release --example 03_gradient_descent`. With `--write-docs` the plot
//! of loss against step is written to docs/img/03-gradient-descent.svg, with `--svg PATH` to
//! `PATH`; without either nothing is written.

#[path = "common/args.rs"]
mod args;

use rill::compiler::gradients;
use rill::nn::plot::{Chart, Figure, Legend, Series};
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

const STEPS: usize = 20;

fn main() -> Res {
    let svg_path = args::svg_output("03-gradient-descent.svg")?;

    // -- 1. by hand: the gradient is a graph node, the update an assign op
    let g = Graph::new();
    let w = g.variable(g.constant(0.0f32), "W");
    let loss = (w - 3.0).square().named("loss");
    // d loss / dW = 2 (W - 3), built by reverse-mode autodiff as more nodes of the graph.
    let grad = gradients(&[loss], &[w], None)?[0].ok_or("loss does not depend on W")?;
    let lr: f64 = 0.1;
    let update = w.assign_sub(grad * lr);

    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    println!("== by hand: W <- W - {lr} * dloss/dW, loss(W) = (W - 3)^2");
    println!(
        "{:>4} {:>10} {:>12} {:>12}",
        "step", "W", "loss", "dloss/dW"
    );
    let mut by_hand = Vec::new();
    for step in 0..=STEPS {
        let v = sess.run(&[w, loss, grad], &[])?;
        let [wv, lv, gv] = [0, 1, 2].map(|i| v[i].to_scalar_f64().unwrap_or(f64::NAN));
        if step % 4 == 0 {
            println!("{step:>4} {wv:>10.6} {lv:>12.6} {gv:>12.6}");
        }
        by_hand.push((wv, lv));
        if step < STEPS {
            sess.run_target(update)?;
        }
    }
    // Each step multiplies the error W - 3 by 1 - 2 lr = 0.8, so after 20 steps it is
    // 3 * 0.8^20.
    let expected = 3.0 - 3.0 * (1.0 - 2.0 * lr).powi(STEPS as i32);
    println!(
        "after {STEPS} steps W = {:.6} (closed form 3 - 3 * 0.8^{STEPS} = {expected:.6})",
        by_hand[STEPS].0
    );

    // -- 2. the same with an optimizer: minimize = gradients + apply the update, one op
    let optimized = descend(lr, STEPS)?;
    let max_diff = by_hand
        .iter()
        .zip(&optimized)
        .map(|(a, b)| (a.0 - b.0).abs())
        .fold(0.0, f64::max);
    println!("\n== GradientDescent::new({lr}).minimize(loss, None)");
    for (step, (wv, lv)) in optimized.iter().enumerate().step_by(4) {
        println!("{step:>4} {wv:>10.6} {lv:>12.6}");
    }
    println!("largest |W_by_hand - W_optimizer| over {STEPS} steps: {max_diff:e}");
    if max_diff > 1e-6 {
        return Err("the optimizer's trajectory differs from the hand-written one".into());
    }

    // -- 3. the learning rate: too small is slow, too large overshoots, beyond 1 diverges
    println!("\n== learning rates: loss after {STEPS} steps");
    let rates = [0.01, 0.1, 0.25, 0.8, 1.05];
    let mut runs = Vec::new();
    for lr in rates {
        let t = descend(lr, STEPS)?;
        let w_end = t[STEPS].0;
        let verdict = match t[STEPS].1 {
            l if l > t[0].1 => "diverges",
            l if l > 1e-2 => "slow",
            _ => "converged",
        };
        println!(
            "lr = {lr:<5} W = {w_end:>11.6}  loss = {:>10.3e}  {verdict}",
            t[STEPS].1
        );
        runs.push((lr, t));
    }

    if let Some(path) = svg_path {
        let steps = |t: &[(f64, f64)]| -> Vec<(f64, f64)> {
            t.iter().enumerate().map(|(i, p)| (i as f64, p.1)).collect()
        };
        let mut left = Chart::new("by hand and by optimizer (lr = 0.1)")
            .x_label("step")
            .y_label("loss (log scale)")
            .log_y()
            .series(Series::line("by hand", steps(&by_hand)).width(4.0))
            .series(Series::line_and_dots("GradientDescent", steps(&optimized)).dashed());
        left.legend = Legend::TopRight;
        let mut right = Chart::new("learning rates")
            .x_label("step")
            .y_label("loss (log scale)")
            .log_y()
            .legend(Legend::BottomLeft);
        for (lr, t) in &runs {
            right.push(Series::line(&format!("lr = {lr}"), steps(t)));
        }
        Figure::new("gradient descent on loss(W) = (W - 3)²")
            .panel(left)
            .panel(right)
            .write(&path)?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// Runs `steps` steps of `GradientDescent` from W = 0; returns (W, loss) before each step and
/// after the last.
fn descend(lr: f64, steps: usize) -> Res<Vec<(f64, f64)>> {
    let g = Graph::new();
    let w = g.variable(g.constant(0.0f32), "W");
    let loss = (w - 3.0).square().named("loss");
    let train = GradientDescent::new(lr).minimize(loss, None)?;
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let mut out = Vec::with_capacity(steps + 1);
    for step in 0..=steps {
        let v = sess.run(&[w, loss], &[])?;
        out.push((
            v[0].to_scalar_f64().unwrap_or(f64::NAN),
            v[1].to_scalar_f64().unwrap_or(f64::NAN),
        ));
        if step < steps {
            sess.run_target(train)?;
        }
    }
    Ok(out)
}
