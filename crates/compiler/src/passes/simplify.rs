//! Algebraic simplification: steps that compute their input unchanged are dropped and their
//! readers read the input: `x * 1`, `x / 1`, `x + 0`, `x - 0`, `-(-x)`, a transpose of a
//! transpose that undoes it, a reshape to the shape the input already has, identity.
//! A rewrite applies only when the static shapes prove the result has the input's shape.

use crate::plan::Plan;
use rill_graph::{BinaryOp, Op, Shape, UnaryOp, Value};

/// Whether every element of `v` equals `x`.
fn all_equal(v: &Value, x: f64) -> bool {
    !v.is_empty() && v.to_f64_vec().iter().all(|&e| e == x)
}

/// Simplifies in place; returns the number of steps removed.
pub fn simplify(plan: &mut Plan) -> usize {
    let n_slots = plan.num_slots;
    let mut replace: Vec<usize> = (0..n_slots).collect();
    let mut shape: Vec<Option<Shape>> = vec![None; n_slots];
    let mut constant: Vec<Option<std::sync::Arc<Value>>> = vec![None; n_slots];
    // For Neg and Transpose: the step's (op, input slot), to see through pairs.
    let mut made_by: Vec<Option<(Op, usize)>> = vec![None; n_slots];
    for f in &plan.feeds {
        shape[f.slot] = Some(f.planned.clone());
    }
    let mut keep = vec![true; plan.steps.len()];
    for (k, step) in plan.steps.iter_mut().enumerate() {
        for s in step.inputs.iter_mut() {
            *s = replace[*s];
        }
        if step.output >= n_slots {
            continue;
        }
        shape[step.output] = Some(step.shape.clone());
        if let Op::Const(v) = &step.op {
            constant[step.output] = Some(v.clone());
        }
        if step.fused.is_some() {
            continue;
        }
        let same_shape = |slot: usize| shape[slot].as_ref() == Some(&step.shape);
        let is_const =
            |slot: usize, x: f64| constant[slot].as_ref().is_some_and(|v| all_equal(v, x));
        let alias = match &step.op {
            Op::Identity | Op::StopGradient => Some(step.inputs[0]),
            Op::Binary(op) => {
                let (a, b) = (step.inputs[0], step.inputs[1]);
                match op {
                    BinaryOp::Mul if is_const(b, 1.0) && same_shape(a) => Some(a),
                    BinaryOp::Mul if is_const(a, 1.0) && same_shape(b) => Some(b),
                    BinaryOp::Add if is_const(b, 0.0) && same_shape(a) => Some(a),
                    BinaryOp::Add if is_const(a, 0.0) && same_shape(b) => Some(b),
                    BinaryOp::Sub if is_const(b, 0.0) && same_shape(a) => Some(a),
                    BinaryOp::Div if is_const(b, 1.0) && same_shape(a) => Some(a),
                    _ => None,
                }
            }
            Op::Unary(UnaryOp::Neg) => match &made_by[step.inputs[0]] {
                Some((Op::Unary(UnaryOp::Neg), inner)) => Some(*inner),
                _ => None,
            },
            Op::Transpose { perm } => match &made_by[step.inputs[0]] {
                Some((Op::Transpose { perm: first }, inner))
                    if perm.iter().enumerate().all(|(i, &p)| first[p] == i) =>
                {
                    Some(*inner)
                }
                _ => None,
            },
            Op::Reshape { .. }
            | Op::ReshapeTo { .. }
            | Op::BroadcastTo { .. }
            | Op::SumTo { .. } => {
                let s = step.inputs[0];
                (step.shape.to_known().is_some() && same_shape(s)).then_some(s)
            }
            _ => None,
        };
        match alias {
            // Only when the dtype is kept (a cast would never be aliased, but be explicit).
            Some(src) => {
                replace[step.output] = src;
                keep[k] = false;
            }
            None => {
                if matches!(step.op, Op::Unary(UnaryOp::Neg) | Op::Transpose { .. }) {
                    made_by[step.output] = Some((step.op.clone(), step.inputs[0]));
                }
            }
        }
    }
    for f in plan.fetches.iter_mut() {
        *f = replace[*f];
    }
    let mut k = 0;
    plan.steps.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    let removed = keep.iter().filter(|&&x| !x).count() + super::prune::remove_dead(plan);
    removed
}
