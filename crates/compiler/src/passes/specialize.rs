//! Shape specialisation, the first pass: with the shapes of the fed values known (plans are
//! compiled per feed shapes), every step's static shape is inferred again from its inputs, so
//! the `?` of a batch dimension becomes a number. Later passes profit: constant folding turns
//! `Shape` ops into constants, simplification drops the broadcasts and sums they fed that now
//! provably change nothing, and memory planning sizes buffers exactly.

use crate::plan::Plan;
use rill_graph::{infer_output, DType, Op, Shape, Value};

/// Specialises `plan` to `feed_shapes` (one per feed, in order). A fed shape the placeholder
/// does not admit is ignored (the run rejects that feed), and a step whose inference fails with
/// the new shapes keeps its static shape: its kernel reports the error at run time, naming the
/// node and the user's line.
pub fn specialize(plan: &mut Plan, feed_shapes: &[Vec<usize>]) {
    if feed_shapes.len() != plan.feeds.len() {
        return;
    }
    let mut dtype: Vec<DType> = vec![DType::F32; plan.num_slots];
    let mut shape: Vec<Shape> = vec![Shape::scalar(); plan.num_slots];
    // The value of each slot that holds a statically known shape vector (from `Shape` ops or
    // i64 constants): what the run-time-shape ops of the gradients take.
    let mut dims: Vec<Option<Vec<usize>>> = vec![None; plan.num_slots];
    for (f, fed) in plan.feeds.iter_mut().zip(feed_shapes) {
        if f.shape.admits(fed) {
            f.planned = Shape::known(fed);
        }
        dtype[f.slot] = f.dtype;
        shape[f.slot] = f.planned.clone();
    }
    for step in &mut plan.steps {
        if step.output >= plan.num_slots {
            continue;
        }
        let input = |i: usize| &shape[step.inputs[i]];
        let shape_arg = |i: usize| dims[step.inputs[i]].as_ref().map(|d| Shape::known(d));
        let inferred: Option<Shape> = match &step.op {
            Op::Placeholder
            | Op::Const(_)
            | Op::Variable { .. }
            | Op::Assign { .. }
            | Op::NoOp
            | Op::LinSpace { .. }
            | Op::Range { .. } => None,
            Op::Random { .. } => (!step.inputs.is_empty()).then(|| shape_arg(0)).flatten(),
            Op::Identity | Op::StopGradient | Op::CheckNumerics { .. } => Some(input(0).clone()),
            // The target shape is the last input; the static attribute may hold `?`s.
            Op::BroadcastTo { .. }
            | Op::SumTo { .. }
            | Op::ReshapeTo { .. }
            | Op::SliceGrad { .. }
            | Op::GatherGrad { .. } => shape_arg(step.inputs.len() - 1),
            op if step.fused.is_none() => {
                let ins: Vec<(DType, &Shape)> =
                    step.inputs.iter().map(|&s| (dtype[s], &shape[s])).collect();
                infer_output(op, &ins).ok().map(|(_, s)| s)
            }
            _ => None,
        };
        // Keep the static shape unless the new one is at least as known and agrees with it.
        if let Some(new) = inferred {
            if step.shape.refined_by(&new) {
                step.shape = new;
            }
        }
        dtype[step.output] = step.dtype;
        shape[step.output] = step.shape.clone();
        dims[step.output] = match &step.op {
            Op::ShapeOf => step.inputs.first().and_then(|&s| shape[s].to_known()),
            Op::Const(v) => match &**v {
                Value::I64(a) if a.ndim() == 1 && a.iter().all(|&d| d >= 0) => {
                    Some(a.iter().map(|&d| d as usize).collect())
                }
                _ => None,
            },
            _ => None,
        };
    }
}
