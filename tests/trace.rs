//! Step tracing (`RunOptions { trace: true }`, TF1's `FULL_TRACE`): a traced run gives the
//! untraced run's values and records every step it executed once, with its op, shape, time and
//! thread; the Chrome trace is valid JSON with one event per step.

use ndarray::Array2;
use rill::prelude::*;
use rill::runtime::{RunMetadata, RunOptions};

fn bits(v: &Value) -> Vec<u64> {
    v.to_f64_vec().iter().map(|x| x.to_bits()).collect()
}

/// Two layers beside each other (fused MatMul+bias+ReLU) and a loss over both.
fn model(g: &Graph, batch: usize) -> (Tensor<'_>, Tensor<'_>, Value) {
    let x = g.placeholder(DType::F32, [None, Some(64)], "x");
    let w = g.constant(Array2::from_shape_fn((64, 300), |(i, j)| {
        ((i * 31 + j * 7) % 13) as f32 * 0.01 - 0.06
    }));
    let b = g.constant(Array2::from_shape_fn((1, 300), |(_, j)| j as f32 * 1e-3));
    let h = (x.matmul(w) + b).relu();
    let v = (x.matmul(w * 0.5) - b).relu();
    let loss = h.square().mean(ALL, false) + v.mean(ALL, false);
    let xv = Value::from(Array2::from_shape_fn((batch, 64), |(i, j)| {
        ((i + 3 * j) % 17) as f32 * 0.1 - 0.8
    }));
    (x, loss, xv)
}

fn traced(sess: &Session, fetch: Tensor<'_>, feeds: &[Feed<'_>]) -> (Value, RunMetadata) {
    let mut meta = RunMetadata::default();
    let options = RunOptions { trace: true };
    let mut out = sess
        .run_with_options(&[fetch], feeds, &[] as &[TensorId], &options, &mut meta)
        .unwrap();
    (out.pop().unwrap(), meta)
}

#[test]
fn a_traced_run_gives_the_untraced_values_and_times_every_step_once() {
    let g = Graph::new();
    let (x, loss, xv) = model(&g, 200);
    for threads in [1, 2] {
        let sess = Session::new(&g).with_threads(threads).unwrap();
        let feeds = [feed(x, &xv)];
        let plain = sess.eval(loss, &feeds).unwrap();
        let (value, meta) = traced(&sess, loss, &feeds);
        assert_eq!(bits(&value), bits(&plain), "{threads} threads");
        assert!(meta.is_traced());

        let plan = sess
            .plan_for_feeds(&[loss], &feeds, &[] as &[TensorId])
            .unwrap();
        let stats = meta.step_stats();
        let mut nodes: Vec<&str> = stats.iter().map(|s| s.node.as_str()).collect();
        let mut planned: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
        nodes.sort_unstable();
        planned.sort_unstable();
        assert_eq!(nodes, planned, "one event per step of the plan");

        let layer = stats
            .iter()
            .find(|s| s.op.starts_with("Fused[MatMul"))
            .unwrap_or_else(|| panic!("no fused matmul in {stats:?}"));
        assert_eq!(layer.shape, "[200,300]");
        for s in &stats {
            assert!(s.start_micros >= 0.0 && s.duration_micros >= 0.0, "{s:?}");
            assert!(
                s.start_micros + s.duration_micros <= meta.total_micros() + 1.0,
                "{s:?} ends after the run ({} us)",
                meta.total_micros()
            );
        }
        // Steps that ran one after another do not overlap on one thread.
        let mut by_start = stats.clone();
        by_start.sort_by(|a, b| a.start_micros.total_cmp(&b.start_micros));
        for pair in by_start.windows(2) {
            if pair[0].thread == pair[1].thread {
                assert!(
                    pair[0].start_micros + pair[0].duration_micros <= pair[1].start_micros + 1e-3,
                    "{pair:?}"
                );
            }
        }
        if threads == 2 {
            // The two layers do not depend on each other: they ran as a group, both traced.
            assert!(
                plan.steps.iter().any(|s| s.joins_previous),
                "{}",
                plan.summary()
            );
        }
    }
}

#[test]
fn the_summary_names_the_costliest_step_first_and_counts_the_steps() {
    let g = Graph::new();
    let (x, loss, xv) = model(&g, 400);
    let sess = Session::new(&g).with_threads(1).unwrap();
    let (_, meta) = traced(&sess, loss, &[feed(x, &xv)]);
    let stats = meta.step_stats();
    let costliest = stats
        .iter()
        .max_by(|a, b| a.duration_micros.total_cmp(&b.duration_micros))
        .unwrap();
    let summary = meta.summary(2);
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 3, "{summary}");
    assert!(lines[0].contains(&costliest.node), "{summary}");
    assert!(
        lines[2].starts_with(&format!("{} steps:", stats.len())),
        "{summary}"
    );
}

#[test]
fn the_chrome_trace_is_json_with_one_complete_event_per_step() {
    let g = Graph::new();
    let (x, loss, xv) = model(&g, 64);
    let sess = Session::new(&g);
    let (_, meta) = traced(&sess, loss, &[feed(x, &xv)]);
    let json: serde_json::Value = serde_json::from_str(&meta.chrome_trace()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let stats = meta.step_stats();
    assert_eq!(events.len(), stats.len());
    for (e, s) in events.iter().zip(&stats) {
        assert_eq!(e["ph"], "X");
        assert_eq!(e["name"], s.node.as_str());
        assert_eq!(e["args"]["op"], s.op.as_str());
        assert_eq!(e["dur"].as_f64().unwrap(), s.duration_micros);
        assert_eq!(e["tid"].as_u64().unwrap(), s.thread as u64);
    }
}

#[test]
fn an_untraced_run_with_options_records_nothing() {
    let g = Graph::new();
    let (x, loss, xv) = model(&g, 8);
    let sess = Session::new(&g);
    let mut meta = RunMetadata::default();
    let feeds = [feed(x, &xv)];
    let out = sess
        .run_with_options(
            &[loss],
            &feeds,
            &[] as &[TensorId],
            &RunOptions::default(),
            &mut meta,
        )
        .unwrap();
    assert_eq!(bits(&out[0]), bits(&sess.eval(loss, &feeds).unwrap()));
    assert!(!meta.is_traced());
    assert!(meta.step_stats().is_empty());
}
