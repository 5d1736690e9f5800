//! Constant folding: a pure step whose inputs are all constants is computed once, at compile
//! time, and becomes a constant; so does the shape of a tensor whose static shape is fully
//! known (Grappler's shape materialisation). The compiler knows no kernels: the runtime hands
//! it an evaluator.

use crate::plan::Plan;
use rill_graph::{DType, Op, Shape, Value};
use std::sync::Arc;

/// Computes a pure op from constant inputs; `None` if it cannot (the step is left as it is).
pub type Evaluator<'a> = &'a dyn Fn(&Op, &[&Value], &Shape, DType) -> Option<Value>;

/// Folded constants larger than this stay computed at run time (TF's limit is similar).
const MAX_ELEMENTS: usize = 1 << 20;

fn foldable(op: &Op) -> bool {
    !op.is_stateful() && op.has_output() && !matches!(op, Op::Const(_))
}

/// Folds in place; returns the number of steps turned into constants.
pub fn fold(plan: &mut Plan, eval: Evaluator<'_>) -> usize {
    // The constant held by each slot, as far as known.
    let mut constant: Vec<Option<Arc<Value>>> = vec![None; plan.num_slots];
    // The static shape of each slot.
    let mut shape: Vec<Option<Shape>> = vec![None; plan.num_slots];
    for f in &plan.feeds {
        shape[f.slot] = Some(f.planned.clone());
    }
    let mut folded = 0;
    for step in plan.steps.iter_mut() {
        if step.output >= plan.num_slots {
            continue;
        }
        shape[step.output] = Some(step.shape.clone());
        if let Op::Const(v) = &step.op {
            constant[step.output] = Some(v.clone());
            continue;
        }
        if step.fused.is_some() || !foldable(&step.op) {
            continue;
        }
        let value = if let Op::ShapeOf = step.op {
            shape[step.inputs[0]]
                .as_ref()
                .and_then(|s| s.to_known())
                .map(|dims| {
                    let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
                    Value::from_vec(&[dims.len()], dims).expect("length matches")
                })
        } else {
            let inputs: Option<Vec<&Value>> = step
                .inputs
                .iter()
                .map(|&s| constant[s].as_deref())
                .collect();
            inputs.and_then(|inputs| eval(&step.op, &inputs, &step.shape, step.dtype))
        };
        if let Some(v) = value.filter(|v| v.len() <= MAX_ELEMENTS) {
            let v = Arc::new(v);
            constant[step.output] = Some(v.clone());
            step.op = Op::Const(v);
            step.inputs.clear();
            folded += 1;
        }
    }
    if folded > 0 {
        drop_unread(plan);
    }
    folded
}

/// Removes constant steps nothing reads any more (their readers were folded too), and the
/// variable reads made for consumers that were folded (a `Shape`). Such a read would hold the
/// variable's value through the run, so an update in the same run could not happen in place.
fn drop_unread(plan: &mut Plan) {
    let mut read = vec![false; plan.num_slots];
    for &f in &plan.fetches {
        read[f] = true;
    }
    for step in plan.steps.iter().rev() {
        for &s in &step.inputs {
            read[s] = true;
        }
    }
    plan.steps.retain(|s| {
        let droppable = matches!(s.op, Op::Const(_)) || s.consumer_read;
        !droppable || read.get(s.output).copied().unwrap_or(false)
    });
}
