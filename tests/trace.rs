//! Step tracing (`RunOptions::traced()`, TF1's `FULL_TRACE`): a traced run gives the
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
    let options = RunOptions::traced();
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
    let events: Vec<&serde_json::Value> = json["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] != "M")
        .collect();
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
fn steps_on_the_in_place_and_pass_through_paths_are_traced_on_every_run() {
    // Unfused and unsimplified, a chain of identities and small elementwise ops runs almost all on
    // the executor's fast paths (the output shares its input's buffer, or is computed into the
    // buffer its last occupant left, from the second run on).
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [4usize, 3], "x");
    let mut y = x;
    for i in 0..8 {
        y = (y * 1.5).identity().named(&format!("same{i}")) + 0.25;
    }
    let sess = Session::with_options(
        &g,
        rill::compiler::CompileOptions {
            constant_folding: false,
            simplify: false,
            fusion: false,
            ..Default::default()
        },
    );
    let xv = Value::from(Array2::from_elem((4, 3), 0.5f32));
    let feeds = [feed(x, &xv)];
    let plan = sess
        .plan_for_feeds(&[y], &feeds, &[] as &[TensorId])
        .unwrap();
    for run in 0..3 {
        let (value, meta) = traced(&sess, y, &feeds);
        assert_eq!(bits(&value), bits(&sess.eval(y, &feeds).unwrap()));
        let stats = meta.step_stats();
        assert_eq!(stats.len(), plan.steps.len(), "run {run}: {stats:?}");
        assert!(stats.iter().any(|s| s.node == "same7"), "run {run}");
    }
}

#[test]
fn a_failed_run_is_traced_up_to_the_step_that_failed() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [3usize], "x");
    let checked = x.log().check_numerics("log of x").named("checked");
    let sess = Session::new(&g);
    let xv = Value::from(ndarray::arr1(&[1.0f32, -1.0, 2.0]));
    let mut meta = RunMetadata::default();
    let err = sess
        .run_with_options(
            &[checked],
            &[feed(x, &xv)],
            &[] as &[TensorId],
            &RunOptions::traced(),
            &mut meta,
        )
        .unwrap_err();
    assert!(err.to_string().contains("log of x"), "{err}");
    let stats = meta.step_stats();
    let last = stats.last().expect("the failed run was traced");
    assert_eq!(last.node, "checked", "{stats:?}");
    assert_eq!(last.op, "CheckNumerics");
}

#[test]
fn run_with_options_starts_the_metadata_afresh() {
    let g = Graph::new();
    let (x, loss, xv) = model(&g, 8);
    let sess = Session::new(&g);
    let feeds = [feed(x, &xv)];
    let (_, mut meta) = traced(&sess, loss, &feeds);
    assert!(meta.is_traced());
    // An untraced run with options gives the plain run's bits and records nothing.
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
    assert!(!meta.is_traced(), "{meta:?}");
    assert!(meta.step_stats().is_empty());
    // A request that does not compile leaves no trace either.
    let (_, mut meta) = traced(&sess, loss, &feeds);
    let bad = sess.run_with_options(
        &[loss],
        &[],
        &[] as &[TensorId],
        &RunOptions::traced(),
        &mut meta,
    );
    assert!(bad.is_err());
    assert!(
        !meta.is_traced() && meta.step_stats().is_empty(),
        "{meta:?}"
    );
}

#[test]
fn events_name_the_sessions_pool_threads() {
    let g = Graph::new();
    let (x, loss, xv) = model(&g, 300);
    let feeds = [feed(x, &xv)];
    // One thread: everything on the calling thread.
    let (_, meta) = traced(&Session::new(&g).with_threads(1).unwrap(), loss, &feeds);
    assert!(meta.step_stats().iter().all(|s| s.thread == 0));
    // Two threads: a plan with kernels big enough to split runs on the pool, every step of it.
    let sess = Session::new(&g).with_threads(2).unwrap();
    let (_, meta) = traced(&sess, loss, &feeds);
    let stats = meta.step_stats();
    assert!(
        stats.iter().all(|s| s.thread == 1 || s.thread == 2),
        "{stats:?}"
    );
    // The Chrome trace names each row used.
    let json: serde_json::Value = serde_json::from_str(&meta.chrome_trace()).unwrap();
    let rows: Vec<&str> = json["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "M")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    for s in &stats {
        let name = format!("rill-{}", s.thread - 1);
        assert!(rows.contains(&name.as_str()), "{rows:?}");
    }
}

/// Two small independent reductions of one value run as a companion pair: the second on the
/// session's companion thread, which the trace names as its own thread (one past the pool's),
/// so steps on one thread still never overlap.
#[test]
fn a_companion_pair_traces_its_second_step_on_the_companion_thread() {
    let g = Graph::new();
    let y = g.placeholder(DType::F32, [Some(32), Some(32)], "y");
    let w = y * 3.0f32;
    let (sum, max) = (w.sum(ALL, false), w.max(ALL, false));
    let loss = sum + max;
    let ys = Value::from(Array2::from_shape_fn((32, 32), |(i, j)| {
        (i * 32 + j) as f32
    }));
    let sess = Session::new(&g).with_threads(2).unwrap();
    let feeds = [feed(y, &ys)];
    let plan = sess
        .plan_for_feeds(&[loss], &feeds, &[] as &[TensorId])
        .unwrap();
    assert_eq!(plan.companion_pairs().len(), 1, "{}", plan.summary());
    let plain = sess.eval(loss, &feeds).unwrap();
    let companion = 3;
    // The companion parks when idle and a caller never waits for it to wake: it takes the
    // step back. Runs in a row keep it awake, so one soon takes the step.
    let started = std::time::Instant::now();
    let mut seen = false;
    while !seen && started.elapsed() < std::time::Duration::from_secs(5) {
        let (value, meta) = traced(&sess, loss, &feeds);
        assert_eq!(bits(&value), bits(&plain));
        let stats = meta.step_stats();
        for s in &stats {
            assert!(s.thread == 0 || s.thread == companion, "{s:?}");
        }
        let mut by_start = stats.clone();
        by_start.sort_by(|a, b| a.start_micros.total_cmp(&b.start_micros));
        for (i, a) in by_start.iter().enumerate() {
            for b in by_start[i + 1..].iter().filter(|b| b.thread == a.thread) {
                assert!(
                    a.start_micros + a.duration_micros <= b.start_micros + 1e-3,
                    "{a:?} {b:?}"
                );
            }
        }
        seen = stats.iter().any(|s| s.thread == companion);
        if seen {
            assert!(meta.chrome_trace().contains("rill-companion"));
        }
    }
    assert!(seen, "no traced run had a step on the companion in 5 s");
}
