//! Scheduling for concurrency: a big pure step that does not depend on the big step before it
//! (the weight gradient of a layer beside its input gradient, say) is moved up next to it, so
//! memory planning can mark the two as a group an executor runs at the same time; a small one
//! (a bias gradient, a small weight gradient) likewise next to a small one, for a pair the
//! executor runs with its companion thread. Only pure
//! steps move, and only past steps they do not depend on, so effects keep their order and
//! every step still follows its inputs. One thing does change: when a moved step fails, the
//! run stops before effects it used to follow (as in TF1, whose executor runs independent ops
//! in any order, which of two independent failures is reported, and which assigns ran before
//! it, is not specified).

use crate::passes::memory::{pairs_beside_others, runs_beside_others};
use crate::plan::{Plan, Step};
use rill_graph::Op;

/// How far ahead a partner is looked for.
const WINDOW: usize = 48;

/// Moves partners next to big and small steps; returns how many moved.
pub fn schedule(plan: &mut Plan) -> usize {
    // Moving steps changes no slot's shape.
    let shapes = plan.slot_shapes();
    let mut moved = 0;
    let mut k = 0;
    while k < plan.steps.len() {
        let step = &plan.steps[k];
        let found = if runs_beside_others(step, &shapes) {
            partner(plan, k, &shapes, runs_beside_others)
        } else if pairs_beside_others(step, &shapes) {
            partner(plan, k, &shapes, pairs_beside_others)
        } else {
            None
        };
        let Some((j, consts)) = found else {
            k += 1;
            continue;
        };
        // Everything taken lies after `k`: remove from the back, so indices stay valid.
        let mut taken: Vec<usize> = consts.iter().copied().chain([j]).collect();
        taken.sort_unstable_by(|a, b| b.cmp(a));
        let mut removed: Vec<(usize, Step)> =
            taken.iter().map(|&i| (i, plan.steps.remove(i))).collect();
        removed.reverse();
        let at = removed
            .iter()
            .position(|(i, _)| *i == j)
            .expect("the partner was taken");
        let (_, partner) = removed.remove(at);
        // The partner's constants go before the big step, the partner right after it.
        let n = removed.len();
        for (offset, (_, c)) in removed.into_iter().enumerate() {
            plan.steps.insert(k + offset, c);
        }
        plan.steps.insert(k + n + 1, partner);
        moved += 1;
        k += n + 2;
    }
    moved
}

/// A later step of the same kind as `k` (`kind`: big, or small enough for the companion) that
/// depends on nothing from `k` on, except constants between them (returned, by index, to move
/// with it).
fn partner(
    plan: &Plan,
    k: usize,
    shapes: &[Option<Vec<usize>>],
    kind: fn(&Step, &[Option<Vec<usize>>]) -> bool,
) -> Option<(usize, Vec<usize>)> {
    let mut produced_since: Vec<usize> = vec![plan.steps[k].output];
    let end = (k + 1 + WINDOW).min(plan.steps.len());
    for j in k + 1..end {
        let cand = &plan.steps[j];
        if j > k + 1 && kind(cand, shapes) {
            let mut consts = Vec::new();
            let independent = cand.inputs.iter().all(|s| {
                if !produced_since.contains(s) {
                    return true;
                }
                // A constant produced in between may move along.
                match (k + 1..j).find(|&i| plan.steps[i].output == *s) {
                    Some(i) if matches!(plan.steps[i].op, Op::Const(_)) => {
                        if !consts.contains(&i) {
                            consts.push(i);
                        }
                        true
                    }
                    _ => false,
                }
            });
            if independent {
                consts.sort_unstable();
                return Some((j, consts));
            }
        }
        produced_since.push(cand.output);
    }
    None
}
