//! Common-subexpression elimination: a step that repeats an earlier step (same op, same
//! attributes, same input slots) is dropped and its readers read the earlier result.
//! Stateful ops (variables, assigns, random draws, checks) are never merged.

use crate::plan::Plan;
use rill_graph::Op;
use std::collections::HashMap;

/// Whether two steps with equal ops and inputs are guaranteed to compute the same value.
fn mergeable(op: &Op) -> bool {
    !op.is_stateful() && op.has_output()
}

/// Merges repeated steps in place; returns how many were removed.
pub fn eliminate(plan: &mut Plan) -> usize {
    // Replacement of each slot by the slot of the earlier, identical step.
    let mut replace: Vec<usize> = (0..plan.num_slots).collect();
    // Candidates by (op type, inputs), compared in full on a hit.
    let mut seen: HashMap<(&'static str, Vec<usize>), Vec<usize>> = HashMap::new();
    let mut keep = vec![true; plan.steps.len()];
    // An index loop: step `k` is rewritten while earlier steps (`j`) are read.
    #[allow(clippy::needless_range_loop)]
    for k in 0..plan.steps.len() {
        let inputs: Vec<usize> = plan.steps[k].inputs.iter().map(|&s| replace[s]).collect();
        plan.steps[k].inputs.clone_from(&inputs);
        let step = &plan.steps[k];
        if !mergeable(&step.op) || step.fused.is_some() || step.variable.is_some() {
            continue;
        }
        let key = (step.op.type_name(), inputs);
        let bucket = seen.entry(key).or_default();
        match bucket
            .iter()
            .find(|&&j| plan.steps[j].op == step.op && plan.steps[j].dtype == step.dtype)
        {
            Some(&j) => {
                replace[step.output] = plan.steps[j].output;
                keep[k] = false;
            }
            None => bucket.push(k),
        }
    }
    for f in plan.fetches.iter_mut() {
        *f = replace[*f];
    }
    let removed = keep.iter().filter(|&&k| !k).count();
    let mut k = 0;
    plan.steps.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    removed
}
