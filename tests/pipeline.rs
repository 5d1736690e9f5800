//! The pass pipeline as a whole: the plan after each pass is inspectable, and on random graphs
//! (elementwise trees with broadcasting, matmuls, reductions, repeated subexpressions, constant
//! subgraphs, gradients) every pass alone and all together compute what the unoptimised plan
//! computes, to 1e-6 in f64, Grappler's way.

#[path = "common/lcg.rs"]
mod lcg;

use lcg::Lcg;
use rill::compiler::CompileOptions;
use rill::prelude::*;

const OFF: CompileOptions = CompileOptions::NONE;

/// Every single pass on its own, then all of them.
fn configurations() -> Vec<(&'static str, CompileOptions)> {
    vec![
        (
            "constant_folding",
            CompileOptions {
                constant_folding: true,
                ..OFF
            },
        ),
        (
            "simplify",
            CompileOptions {
                simplify: true,
                ..OFF
            },
        ),
        ("cse", CompileOptions { cse: true, ..OFF }),
        (
            "fusion",
            CompileOptions {
                fusion: true,
                ..OFF
            },
        ),
        (
            "memory_planning",
            CompileOptions {
                memory_planning: true,
                ..OFF
            },
        ),
        (
            "memory_planning and concurrency",
            CompileOptions {
                memory_planning: true,
                concurrency: true,
                ..OFF
            },
        ),
        ("all", CompileOptions::default()),
    ]
}

/// A random graph over `x: [?, 4]` and a variable `w: [4, 4]`: a pool of tensors of shapes
/// [?, 4], [4] and [] grown by random ops, ending in a scalar loss and its gradient.
fn random_graph<'g>(g: &'g Graph, rng: &mut Lcg) -> (Tensor<'g>, Vec<Tensor<'g>>) {
    let x = g.placeholder(DType::F64, [None, Some(4)], "x");
    let w = g.variable(g.constant(rng.value64(&[4, 4])), "w");
    let c = g.constant(rng.value64(&[4]));
    let mut rows = vec![x, x.matmul(w)];
    let mut vecs = vec![c, c * 2.0 + 1.0];
    for _ in 0..(6 + rng.below(10)) {
        let a = rows[rng.below(rows.len())];
        let b = rows[rng.below(rows.len())];
        let v = vecs[rng.below(vecs.len())];
        match rng.below(14) {
            0 => rows.push(a + v),
            1 => rows.push(a * b),
            2 => rows.push((a - b).tanh()),
            3 => rows.push(a.sigmoid() * 1.0 + 0.0),
            4 => rows.push(-(-a)),
            5 => rows.push(a.exp() + a.exp()),
            6 => rows.push(a.matmul(w).relu()),
            7 => rows.push(g.select(a.greater(b), a, b * 0.5)),
            8 => rows.push(a.transpose().transpose() / (v.square() + 1.0)),
            9 => vecs.push(a.sum(0, false)),
            10 => vecs.push(a.mean(0, false).sin()),
            11 => vecs.push((v * v).sqrt() + c.exp()),
            12 => rows.push(a.reshape(&[-1, 4]) * a.sum(1, true)),
            _ => rows.push(a.maximum(v) - a.minimum(b)),
        }
    }
    let loss =
        rows.last().unwrap().square().mean(ALL, false) + vecs.last().unwrap().sum(ALL, false);
    let grads = rill::compiler::gradients(&[loss], &[w, x], None).unwrap();
    let mut fetches = vec![loss, *rows.last().unwrap(), *vecs.last().unwrap()];
    fetches.extend(grads.into_iter().flatten());
    (x, fetches)
}

fn close(a: &Value, b: &Value) -> bool {
    a.shape() == b.shape()
        && a.to_f64_vec()
            .iter()
            .zip(b.to_f64_vec())
            .all(|(p, q)| (p - q).abs() <= 1e-6 * (1.0 + q.abs()) || (p.is_nan() && q.is_nan()))
}

#[test]
fn every_pass_preserves_results_on_random_graphs() {
    let mut rng = Lcg(2024);
    for case in 0..40 {
        let g = Graph::new();
        let (x, fetches) = random_graph(&g, &mut rng);
        let rows = 1 + rng.below(5);
        let xs = rng.value64(&[rows, 4]);
        let reference = Session::with_options(&g, OFF);
        reference
            .run_target(g.global_variables_initializer())
            .unwrap();
        let want = reference.run(&fetches, &[feed(x, &xs)]).unwrap();
        for (name, options) in configurations() {
            let sess = Session::with_options(&g, options);
            sess.run_target(g.global_variables_initializer()).unwrap();
            // Twice: the second run reuses the first run's buffers.
            for run in 0..2 {
                let got = sess.run(&fetches, &[feed(x, &xs)]).unwrap();
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        close(a, b),
                        "case {case}, {name}, run {run}, fetch {i}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_plan_after_each_pass_can_be_inspected() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(3)], "x");
    let w = g.variable(g.constant([[0.5f32, -1.0], [0.25, 2.0], [1.0, 0.0]]), "w");
    let b = g.variable(g.constant([0.1f32, -0.1]), "b");
    let y = (x.matmul(w) + b).sigmoid() * 1.0;
    let loss = y.square().mean(ALL, false);
    let grads = rill::compiler::gradients(&[loss], &[w], None).unwrap();
    let dw = grads[0].unwrap();
    let sess = Session::new(&g);
    let xs = Value::from(ndarray::array![[1.0f32, 2.0, 3.0], [-1.0, 0.5, 0.0]]);
    let stages = sess
        .plan_stages_for_feeds(&[dw], &[feed(x, &xs)], &[] as &[TensorId])
        .unwrap();
    let names: Vec<&str> = stages.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "lowered",
            "specialize",
            "constant_folding",
            "simplify",
            "cse",
            "fusion",
            "prune",
            "schedule",
            "memory"
        ]
    );
    let steps = |name: &str| {
        stages
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| p.steps.len())
            .unwrap()
    };
    // Folding turns the gradients' run-time shapes into constants, simplification drops what
    // they made redundant, fusion merges the rest.
    assert!(steps("constant_folding") <= steps("specialize"));
    assert!(steps("simplify") < steps("constant_folding"));
    assert!(steps("fusion") < steps("cse"));
    let lowered = stages[0].1.to_dot();
    let fused = stages[5].1.to_dot();
    assert!(
        lowered.contains("Shape") && !lowered.contains("Fused["),
        "{lowered}"
    );
    assert!(fused.contains("Fused[MatMul, Add, Sigmoid]"), "{fused}");
    // The last stage is the plan `run` executes.
    let run_plan = sess
        .plan_for_feeds(&[dw], &[feed(x, &xs)], &[] as &[TensorId])
        .unwrap();
    let last = &stages.last().unwrap().1;
    assert_eq!(last.to_dot(), run_plan.to_dot());
    assert_eq!(last.summary(), run_plan.summary());
}
