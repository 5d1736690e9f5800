//! Pruning: only what the fetches and targets need runs. At lowering, the walk back from them
//! (stopping at fed tensors) picks the nodes that become steps; as the last rewrite, steps that
//! other passes left without a reader (pure, not fetched) are dropped.

use crate::plan::{Plan, Request};
use rill_graph::{Node, NodeId};

/// Which nodes a request needs: those the fetches and targets reach through data and control
/// inputs, not looking past fed tensors (a fed tensor is needed, its inputs are not).
pub fn needed_nodes(nodes: &[Node], request: &Request, fed: &[bool]) -> Vec<bool> {
    let mut needed = vec![false; nodes.len()];
    let mut stack: Vec<NodeId> = request
        .fetches
        .iter()
        .chain(&request.targets)
        .map(|t| t.node)
        .collect();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut needed[id.index()], true) || fed[id.index()] {
            continue;
        }
        let n = &nodes[id.index()];
        stack.extend(n.inputs.iter().chain(&n.control_inputs).copied());
    }
    needed
}

/// Removes pure steps whose output nothing reads and nobody fetches, until none is left.
/// Returns the number removed.
pub fn remove_dead(plan: &mut Plan) -> usize {
    let mut removed = 0;
    loop {
        let mut read = vec![false; plan.num_slots];
        for &f in &plan.fetches {
            read[f] = true;
        }
        for step in &plan.steps {
            for &s in &step.inputs {
                read[s] = true;
            }
        }
        let before = plan.steps.len();
        plan.steps.retain(|s| {
            let pure = !s.op.is_stateful() && s.op.has_output() && s.variable.is_none();
            !(pure && s.output < read.len() && !read[s.output])
        });
        let gone = before - plan.steps.len();
        if gone == 0 {
            return removed;
        }
        removed += gone;
    }
}
