//! Reverse-mode autodiff as graph construction, like `tf.gradients`: gradient nodes are added to
//! the same graph under a `gradients/` scope, so they can be optimised, run, and differentiated
//! again.

mod rules;

use rill_graph::{DType, Graph, GraphError, NodeId, Op, Tensor, TensorId};
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum GradientError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("gradients: {ys} ys but {grad_ys} grad_ys; give one grad_y per y")]
    GradYsLength { ys: usize, grad_ys: usize },
    #[error("gradients: '{tensor}' has dtype {dtype}; only float tensors have gradients")]
    NotFloat { tensor: String, dtype: DType },
    #[error("gradients: tensors from different graphs")]
    MixedGraphs,
    #[error("gradients: no gradient is defined for '{node}' (op: {op}) on the path from ys to xs{detail}")]
    NoRule {
        node: String,
        op: &'static str,
        detail: String,
    },
}

/// Options of `gradients_with`, as TF's keyword arguments.
#[derive(Clone, Debug, Default)]
pub struct GradientOptions {
    /// Tensors held constant: no gradient flows through them.
    pub stop_gradients: Vec<TensorId>,
    /// Give zeros instead of `None` for an x with no path from the ys (TF's
    /// `unconnected_gradients='zero'`).
    pub unconnected_zeros: bool,
}

/// `d(sum of ys)/d(x)` for each x, added to the graph; `None` for an x no y depends on.
/// `grad_ys` (one per y, default ones) weights each y, for vector-Jacobian products.
#[track_caller]
pub fn gradients<'g>(
    ys: &[Tensor<'g>],
    xs: &[Tensor<'g>],
    grad_ys: Option<&[Tensor<'g>]>,
) -> Result<Vec<Option<Tensor<'g>>>, GradientError> {
    gradients_with(ys, xs, grad_ys, &GradientOptions::default())
}

/// `gradients` with options (stop_gradients, zeros for unconnected xs).
#[track_caller]
pub fn gradients_with<'g>(
    ys: &[Tensor<'g>],
    xs: &[Tensor<'g>],
    grad_ys: Option<&[Tensor<'g>]>,
    options: &GradientOptions,
) -> Result<Vec<Option<Tensor<'g>>>, GradientError> {
    let Some(first) = ys.first().or(xs.first()) else {
        return Ok(Vec::new());
    };
    let g: &'g Graph = first.graph();
    if ys
        .iter()
        .chain(xs)
        .chain(grad_ys.unwrap_or(&[]))
        .any(|t| t.graph() != g)
    {
        return Err(GradientError::MixedGraphs);
    }
    if let Some(gy) = grad_ys {
        if gy.len() != ys.len() {
            return Err(GradientError::GradYsLength {
                ys: ys.len(),
                grad_ys: gy.len(),
            });
        }
    }
    for t in ys.iter().chain(xs) {
        if !t.dtype().is_float() {
            return Err(GradientError::NotFloat {
                tensor: t.name(),
                dtype: t.dtype(),
            });
        }
    }
    let between = nodes_between(g, ys, xs, options);
    let _scope = g.name_scope("gradients");

    // Gradients received so far by each node, summed when the node is processed.
    let mut pending: HashMap<NodeId, Vec<Tensor<'g>>> = HashMap::new();
    for (i, y) in ys.iter().enumerate() {
        let dy = match grad_ys {
            Some(gy) => gy[i],
            None => ones_like(g, *y)?,
        };
        pending.entry(y.node_id()).or_default().push(dy);
    }
    let x_ids: Vec<NodeId> = xs.iter().map(|x| x.node_id()).collect();
    let mut done: HashMap<NodeId, Tensor<'g>> = HashMap::new();
    let last = between.iter().rposition(|&b| b).unwrap_or(0);
    for id in (0..=last).rev().map(|i| NodeId(i as u32)) {
        if !between[id.index()] {
            continue;
        }
        let Some(parts) = pending.remove(&id) else {
            continue;
        };
        let dy = sum_all(&parts)?;
        if x_ids.contains(&id) {
            done.insert(id, dy);
        }
        let node = g.node(id);
        if is_stop(&node.op, id, options) {
            continue;
        }
        // Only inputs on a path to an x need gradients.
        let wanted: Vec<bool> = node.inputs.iter().map(|i| between[i.index()]).collect();
        if !wanted.iter().any(|&w| w) {
            continue;
        }
        let _op_scope = g.name_scope(&format!("{}_grad", short_name(&node.name)));
        let inputs: Vec<Tensor<'g>> = node.inputs.iter().map(|&i| g.handle(i)).collect();
        let output = g.handle(id);
        let grads =
            rules::gradient(&node, &inputs, output, dy)?.ok_or_else(|| GradientError::NoRule {
                node: node.name.clone(),
                op: node.op.type_name(),
                detail: String::new(),
            })?;
        for ((input, grad), want) in node.inputs.iter().zip(grads).zip(wanted) {
            if let (Some(grad), true) = (grad, want) {
                pending.entry(*input).or_default().push(grad);
            }
        }
    }
    xs.iter()
        .map(|x| match done.get(&x.node_id()) {
            Some(t) => Ok(Some(*t)),
            None if options.unconnected_zeros => Ok(Some(zeros_like(g, *x)?)),
            None => Ok(None),
        })
        .collect()
}

fn short_name(name: &str) -> &str {
    name.rsplit_once('/').map_or(name, |(_, s)| s)
}

/// Whether gradient stops at this node (it still receives one; its inputs do not).
fn is_stop(op: &Op, id: NodeId, options: &GradientOptions) -> bool {
    matches!(op, Op::StopGradient) || options.stop_gradients.iter().any(|t| t.node == id)
}

/// The nodes on a data path from some x to some y, xs and ys included, indexed by node id.
fn nodes_between(
    g: &Graph,
    ys: &[Tensor<'_>],
    xs: &[Tensor<'_>],
    options: &GradientOptions,
) -> Vec<bool> {
    g.with_nodes(|nodes| {
        let mut from_x = vec![false; nodes.len()];
        for x in xs {
            from_x[x.node_id().index()] = true;
        }
        // Ids are a topological order: one forward sweep finds everything downstream of an x.
        for (i, n) in nodes.iter().enumerate() {
            if from_x[i] {
                continue;
            }
            // A stop node is a constant to the gradient: nothing upstream flows through it.
            let stop = is_stop(&n.op, NodeId(i as u32), options);
            from_x[i] =
                !stop && n.dtype.is_float() && n.inputs.iter().any(|inp| from_x[inp.index()]);
        }
        let mut between = vec![false; nodes.len()];
        let mut stack: Vec<NodeId> = ys.iter().map(|y| y.node_id()).collect();
        while let Some(id) = stack.pop() {
            if !from_x[id.index()] || std::mem::replace(&mut between[id.index()], true) {
                continue;
            }
            stack.extend(nodes[id.index()].inputs.iter().copied());
        }
        between
    })
}

/// A tensor of ones shaped like `t` (statically when the shape is known).
#[track_caller]
pub(crate) fn ones_like<'g>(g: &'g Graph, t: Tensor<'g>) -> Result<Tensor<'g>, GraphError> {
    fill_like(g, t, 1.0)
}

/// A tensor of zeros shaped like `t`.
#[track_caller]
pub(crate) fn zeros_like<'g>(g: &'g Graph, t: Tensor<'g>) -> Result<Tensor<'g>, GraphError> {
    fill_like(g, t, 0.0)
}

#[track_caller]
fn fill_like<'g>(g: &'g Graph, t: Tensor<'g>, value: f64) -> Result<Tensor<'g>, GraphError> {
    match t.shape().to_known() {
        Some(dims) => g.try_fill(&dims, value, t.dtype()),
        None => g
            .try_constant(rill_graph::Value::full(t.dtype(), &[], value))?
            .try_broadcast_like(t),
    }
}

/// The sum of the gradients a node received from its consumers.
#[track_caller]
fn sum_all<'g>(parts: &[Tensor<'g>]) -> Result<Tensor<'g>, GraphError> {
    let mut acc = parts[0];
    for p in &parts[1..] {
        acc = acc.try_add(*p)?;
    }
    Ok(acc)
}
