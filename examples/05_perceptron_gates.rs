//! Chapter 05, the perceptron and logic gates: one sigmoid unit `y = sigmoid(x W + b)` learns
//! AND, OR, NAND and NOR, each a straight line through the unit square; it cannot learn XOR,
//! which no straight line separates, and a hidden layer of four units can.
//!
//! Run with `cargo run --release --example 05_perceptron_gates`. The program checks its own
//! claims and fails if a gate is not learned (or if one perceptron did learn XOR).

use rill::nn::{Adam, Optimizer};
use rill::prelude::*;
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// The four inputs of a two-input gate, in truth-table order.
const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];

fn main() -> Res {
    let steps = if std::env::var_os("RILL_SMALL").is_some() {
        300
    } else {
        1000
    };
    let gates: [(&str, [f32; 4]); 5] = [
        ("AND", [0.0, 0.0, 0.0, 1.0]),
        ("OR", [0.0, 1.0, 1.0, 1.0]),
        ("NAND", [1.0, 1.0, 1.0, 0.0]),
        ("NOR", [1.0, 0.0, 0.0, 0.0]),
        ("XOR", [0.0, 1.0, 1.0, 0.0]),
    ];

    println!("== one perceptron per gate: y = sigmoid(x1 w1 + x2 w2 + b), {steps} Adam steps");
    for (name, targets) in gates {
        let fit = train(&targets, None, steps)?;
        print_table(name, &targets, &fit);
        let [w1, w2, b] = [fit.params[0], fit.params[1], fit.params[2]];
        println!("   learned w1 = {w1:.2}, w2 = {w2:.2}, b = {b:.2}");
        match (name, fit.accuracy) {
            ("XOR", a) if a < 1.0 => println!(
                "   no line x1 w1 + x2 w2 + b = 0 separates XOR's 0s from its 1s: the best a \
                 perceptron can do is {:.0}%",
                a * 100.0
            ),
            ("XOR", _) => return Err("one perceptron learned XOR, which it cannot".into()),
            (_, a) if a < 1.0 => return Err(format!("the perceptron did not learn {name}").into()),
            _ => println!("   the line x1 w1 + x2 w2 + b = 0 separates the 0s from the 1s"),
        }
    }

    println!("\n== XOR with a hidden layer: h = tanh(x W1 + b1) (4 units), y = sigmoid(h W2 + b2)");
    let xor = gates[4].1;
    let fit = train(&xor, Some(4), steps)?;
    print_table("XOR", &xor, &fit);
    if fit.accuracy < 1.0 {
        return Err("the two-layer network did not learn XOR".into());
    }
    println!("   the hidden layer bends the input space so that one line separates the classes");
    Ok(())
}

/// What training left: outputs for the four inputs, accuracy, and the flattened parameters.
struct Fit {
    outputs: Vec<f64>,
    accuracy: f64,
    params: Vec<f64>,
}

/// Trains a perceptron (`hidden = None`) or a network with one tanh hidden layer on the four
/// inputs of a gate, minimising the binary cross-entropy with Adam.
fn train(targets: &[f32; 4], hidden: Option<usize>, steps: usize) -> Res<Fit> {
    let g = Graph::new();
    g.set_random_seed(5);
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let t = g.placeholder(DType::F32, [None, Some(1)], "t");
    let init = Initializer::GlorotUniform { seed: None };
    let (features, width, mut params) = match hidden {
        None => (x, 2, vec![]),
        Some(n) => {
            let w1 = g.variable_init(&[2, n], DType::F32, init, "W1");
            let b1 = g.variable_init(&[n], DType::F32, Initializer::Zeros, "b1");
            ((x.matmul(w1) + b1).tanh(), n, vec![w1, b1])
        }
    };
    let w = g.variable_init(&[width, 1], DType::F32, init, "W");
    let b = g.variable_init(&[1], DType::F32, Initializer::Zeros, "b");
    params.extend([w, b]);
    let y = (features.matmul(w) + b).sigmoid();
    // Binary cross-entropy; the clip keeps log() finite once the unit is very sure.
    let p = y.clip_by_value(1e-7, 1.0 - 1e-7);
    let loss = -(t * p.log() + (1.0f64 - t) * (1.0f64 - p).log()).mean(ALL, false);
    let train = Adam::new(0.1).minimize(loss, None)?;

    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let xs = Value::from_vec(&[4, 2], INPUTS.concat()).ok_or("4 inputs")?;
    let ts = Value::from_vec(&[4, 1], targets.to_vec()).ok_or("4 targets")?;
    let feeds = [feed(x, &xs), feed(t, &ts)];
    for _ in 0..steps {
        sess.run_targets(&[train], &feeds)?;
    }
    let outputs = sess.eval(y, &feeds)?.to_f64_vec();
    let correct = outputs
        .iter()
        .zip(targets)
        .filter(|(y, t)| (**y >= 0.5) == (**t >= 0.5))
        .count();
    let params = if hidden.is_none() {
        sess.run(&[w, b], &[])?
            .iter()
            .flat_map(Value::to_f64_vec)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Fit {
        outputs,
        accuracy: correct as f64 / 4.0,
        params,
    })
}

fn print_table(name: &str, targets: &[f32; 4], fit: &Fit) {
    println!("\n{name:<5} x1 x2 | target | y       | predicted");
    for ((x, t), y) in INPUTS.iter().zip(targets).zip(&fit.outputs) {
        let mark = if (*y >= 0.5) == (*t >= 0.5) {
            ""
        } else {
            "  <- wrong"
        };
        println!(
            "       {}  {} |   {}    | {y:.4}  | {}{mark}",
            x[0],
            x[1],
            t,
            u8::from(*y >= 0.5)
        );
    }
    println!("   accuracy {:.0}%", fit.accuracy * 100.0);
}
