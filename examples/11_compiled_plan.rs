//! Inside the compiler: the tutorial's model (chapter 08) in TF1 style, its training step
//! compiled for a batch of 500, and the plan after each pass: how many steps, which fused
//! kernels, how much memory, which steps run side by side. Checks what the passes promise:
//! fewer steps, every matmul fused with its bias and activation, buffers shared, the same
//! numbers with the compiler's passes off. Then traces one step: what each kernel cost.
//!
//! `cargo run --release --example 11_compiled_plan [-- --out DIR | --write-docs]` writes the
//! plan as lowering made it and as it runs (DOT, and SVG where Graphviz is installed).

#[path = "common/args.rs"]
mod args;

use ndarray::Array2;
use rill::compiler::CompileOptions;
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;
use rill::runtime::{RunMetadata, RunOptions};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let out_dir = args::picture_dir()?;
    let g = Graph::new();
    g.set_random_seed(1);
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let y = g.placeholder(DType::F32, [None, Some(1)], "y");
    let mut h = x;
    for (i, (a, b)) in [(2, 10), (10, 10), (10, 1)].into_iter().enumerate() {
        let w = g.variable_init(
            &[a, b],
            DType::F32,
            Initializer::GlorotUniform { seed: None },
            &format!("W{i}"),
        );
        let bias = g.variable_init(&[b], DType::F32, Initializer::Zeros, &format!("b{i}"));
        h = (h.matmul(w) + bias).sigmoid();
    }
    let loss = (h - y).square().mean(ALL, false).named("loss");
    let train = GradientDescent::new(0.01).minimize(loss, None)?;

    // A batch of 500 points of the unit-circle task.
    let xs = Array2::from_shape_fn((500, 2), |(i, j)| {
        ((i * 7 + j * 13) % 31) as f32 / 10.0 - 1.5
    });
    let ys = Array2::from_shape_fn((500, 1), |(i, _)| {
        f32::from(u8::from(xs[[i, 0]].powi(2) + xs[[i, 1]].powi(2) < 1.0))
    });
    let (xv, yv) = (Value::from(xs), Value::from(ys));
    let feeds = [feed(x, &xv), feed(y, &yv)];

    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let stages = sess.plan_stages_for_feeds(&[loss], &feeds, &[train])?;
    println!(
        "the graph has {} nodes; the training step, compiled for a batch of 500, after each pass:",
        g.len()
    );
    println!("{:<18} {:>6} {:>7}", "pass", "steps", "fused");
    for (name, plan) in &stages {
        let fused = plan.steps.iter().filter(|s| s.fused.is_some()).count();
        println!("{name:<18} {:>6} {fused:>7}", plan.steps.len());
    }
    let (_, lowered) = &stages[0];
    let (_, compiled) = stages.last().ok_or("no stages")?;
    println!("\nthe plan that runs:\n{}", compiled.summary());

    // What the passes promise.
    assert!(compiled.steps.len() * 2 < lowered.steps.len());
    let labels: Vec<String> = compiled
        .steps
        .iter()
        .filter_map(|s| s.fused.as_ref().map(|p| p.label()))
        .collect();
    assert_eq!(
        labels
            .iter()
            .filter(|l| *l == "Fused[MatMul, Add, Sigmoid]")
            .count(),
        3,
        "{labels:?}"
    );
    let occupants: usize = compiled.buffers.iter().map(|b| b.occupants).sum();
    assert!(compiled.buffers.len() < occupants);

    // The same training with every pass off gives the same losses (to float rounding: fusion
    // keeps every bit, and so does everything else here).
    let plain = Session::with_options(&g, CompileOptions::NONE);
    // Its first run draws the same initial weights as `sess`'s first run did (random ops are
    // seeded by op and run number).
    plain.run_target(g.global_variables_initializer())?;
    let steps = if std::env::var("RILL_SMALL").is_ok() {
        20
    } else {
        200
    };
    let (mut first, mut last) = (0.0, 0.0);
    for i in 0..steps {
        let a = sess.run_with_targets(&[loss], &feeds, &[train])?[0]
            .to_scalar_f64()
            .ok_or("a scalar loss")?;
        let b = plain.run_with_targets(&[loss], &feeds, &[train])?[0]
            .to_scalar_f64()
            .ok_or("a scalar loss")?;
        assert!((a - b).abs() <= 1e-6 * b.abs(), "step {i}: {a} vs {b}");
        if i == 0 {
            first = a;
        }
        last = a;
    }
    println!("loss over {steps} steps: {first:.6} -> {last:.6}, the same with every pass off");
    assert!(last < first);

    // Where the time of one step goes (TF1's `RunOptions(trace_level=FULL_TRACE)`).
    let mut meta = RunMetadata::default();
    let traced = RunOptions::traced();
    sess.run_with_options(&[loss], &feeds, &[train], &traced, &mut meta)?;
    println!(
        "\none traced step, its costliest steps:\n{}",
        meta.summary(5)
    );
    assert_eq!(meta.step_stats().len(), compiled.steps.len());

    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir)?;
        let trace = dir.join("11-trace.json");
        rill::graph::dot::write_atomically(&trace, meta.chrome_trace().as_bytes())?;
        println!(
            "wrote {} (open it in chrome://tracing or ui.perfetto.dev)",
            trace.display()
        );
        for (name, plan) in [("lowered", lowered), ("compiled", compiled)] {
            let dot = dir.join(format!("11-plan-{name}.dot"));
            rill::graph::dot::write_atomically(&dot, plan.to_dot().as_bytes())?;
            let svg = dir.join(format!("11-plan-{name}.svg"));
            let drawn = std::process::Command::new("dot")
                .arg("-Tsvg")
                .arg(&dot)
                .arg("-o")
                .arg(&svg)
                .status();
            match drawn {
                Ok(s) if s.success() => {
                    std::fs::remove_file(&dot)?;
                    println!("wrote {}", svg.display());
                }
                _ => println!("wrote {} (install Graphviz for the SVG)", dot.display()),
            }
        }
    }
    Ok(())
}
