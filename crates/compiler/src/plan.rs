//! `Plan`: the steps one `Session::run` executes, in dependency order, with value slots and
//! the step after which each slot is dead.

use rill_graph::{DType, Graph, Node, NodeId, Op, Shape, TensorId};
use std::panic::Location;
use thiserror::Error;

/// What a run asks for: tensors to fetch, tensors fed, ops run only for their effects; and the
/// shapes of the fed values, one per feed, when the plan is to be specialised to them (empty:
/// a plan for any shapes the placeholders admit).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    pub fetches: Vec<TensorId>,
    pub feeds: Vec<TensorId>,
    pub targets: Vec<TensorId>,
    pub feed_shapes: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum PlanError {
    #[error("You must feed a value for placeholder tensor '{name}' with dtype {dtype} and shape {shape}\n  (placeholder built at {location})")]
    MissingFeed {
        name: String,
        dtype: &'static str,
        shape: Shape,
        location: String,
    },
    #[error("Tensor {name} is not an element of this graph (graph #{graph}); it belongs to graph #{other}")]
    ForeignTensor {
        /// The tensor's name in its own graph (`x:0`), or its id if that graph is gone.
        name: String,
        tensor: TensorId,
        graph: u32,
        other: u32,
    },
    #[error("Operation '{name}' has no output to fetch (op: {op}); pass it as a target instead")]
    NoOutput { name: String, op: &'static str },
    #[error("Tensor '{name}' is fed more than once")]
    FedTwice { name: String },
}

/// One node to execute.
#[derive(Clone, Debug)]
pub struct Step {
    pub node: NodeId,
    pub name: String,
    pub op: Op,
    /// Slots holding the inputs, in the op's input order.
    pub inputs: Vec<usize>,
    /// Slot the output goes to.
    pub output: usize,
    pub dtype: DType,
    pub shape: Shape,
    pub location: &'static Location<'static>,
    /// Slots whose last reader is this step: freed right after it.
    pub frees: Vec<usize>,
    /// For assign ops: the variable written.
    pub variable: Option<VarRef>,
    /// A variable read made for one consuming step (see `lower`): it goes when constant
    /// folding removes its consumer (a `Shape`, see `passes/fold.rs`).
    pub consumer_read: bool,
    /// For a fused step (made by the fusion pass): the elementwise program it runs instead of
    /// `op`, which is then the last fused op (for names and messages).
    pub fused: Option<std::sync::Arc<crate::passes::fusion::FusedProgram>>,
    /// The buffer (memory planning) whose storage the output is written into, for steps that
    /// write a fresh, unfetched output.
    pub buffer: Option<usize>,
    /// Independent of the steps before it back to the start of its group (memory planning): an
    /// executor with threads to spare may run the group's steps at the same time.
    pub joins_previous: bool,
    /// A small step independent of the small step before it (memory planning): an executor
    /// with a companion thread may run the two at once, one on each thread.
    pub pairs_with_previous: bool,
    /// In its pair (as the second step), the one with more work: the executor runs it on its
    /// own thread and the first on the companion, so the longer of the two is never waited
    /// for across threads.
    pub leads_pair: bool,
}

/// A variable an assign step writes: its slot in the session's store and its name.
#[derive(Clone, Debug)]
pub struct VarRef {
    pub slot: usize,
    pub name: String,
}

/// An executable plan for one `Request`.
#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub num_slots: usize,
    /// For each feed of the request (in order): its slot, and the fed node's name, dtype and
    /// static shape (to check the fed value against).
    pub feeds: Vec<FeedSlot>,
    /// For each fetch of the request (in order): the slot it is read from.
    pub fetches: Vec<usize>,
    /// The buffers memory planning assigned (empty before it runs).
    pub buffers: Vec<crate::passes::memory::Buffer>,
    /// For each slot: the buffer its value occupies, if any.
    pub buffer_of_slot: Vec<Option<usize>>,
}

#[derive(Clone, Debug)]
pub struct FeedSlot {
    pub slot: usize,
    pub name: String,
    pub dtype: DType,
    /// The fed node's static shape: what a fed value must fit.
    pub shape: Shape,
    /// The shape the passes assume: `shape`, or the fed shape the plan is specialised to.
    pub planned: Shape,
}

/// Builds the plan of `request` over `graph`: only the nodes the fetches and targets need run;
/// a fed tensor is not computed, and neither is anything only it needed.
/// How much the compiler does to a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompileOptions {
    /// Compute steps whose inputs are constants (and shapes known statically) at compile time.
    pub constant_folding: bool,
    /// Drop steps that compute their input unchanged (`x * 1`, `-(-x)`, ...).
    pub simplify: bool,
    /// Merge steps that repeat an earlier step (same op, same inputs).
    pub cse: bool,
    /// Merge chains and trees of elementwise ops into single kernels.
    pub fusion: bool,
    /// Share buffers between slots whose lifetimes do not overlap, kept across runs (off: every
    /// step allocates its output).
    pub memory_planning: bool,
    /// Move independent big steps next to each other and mark them as groups an executor may
    /// run at the same time (needs memory planning).
    pub concurrency: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            constant_folding: true,
            simplify: true,
            cse: true,
            fusion: true,
            memory_planning: true,
            concurrency: true,
        }
    }
}

impl CompileOptions {
    /// Every pass off: the plan as lowering makes it, each step allocating its output (the
    /// reference the passes are tested against).
    pub const NONE: CompileOptions = CompileOptions {
        constant_folding: false,
        simplify: false,
        cse: false,
        fusion: false,
        memory_planning: false,
        concurrency: false,
    };
}

pub fn lower(graph: &Graph, request: &Request) -> Result<Plan, PlanError> {
    lower_with(graph, request, &CompileOptions::default())
}

/// `lower`, then the optimisation passes `options` asks for, then liveness.
pub fn lower_with(
    graph: &Graph,
    request: &Request,
    options: &CompileOptions,
) -> Result<Plan, PlanError> {
    optimize(graph, request, options, None)
}

/// `lower_with`, with an evaluator for constant folding (the runtime's kernels).
pub fn optimize(
    graph: &Graph,
    request: &Request,
    options: &CompileOptions,
    evaluator: Option<crate::passes::fold::Evaluator<'_>>,
) -> Result<Plan, PlanError> {
    let mut plan = lower_unoptimized(graph, request)?;
    for pass in crate::passes::pipeline(options, &request.feed_shapes, evaluator) {
        pass.run(&mut plan);
    }
    Ok(plan)
}

/// The plan as lowering made it and after each pass of the pipeline, by pass name
/// (`"lowered"` first): what each pass changed, for DOT dumps and tests.
pub fn compile_stages(
    graph: &Graph,
    request: &Request,
    options: &CompileOptions,
    evaluator: Option<crate::passes::fold::Evaluator<'_>>,
) -> Result<Vec<(&'static str, Plan)>, PlanError> {
    let mut plan = lower_unoptimized(graph, request)?;
    let mut stages = vec![("lowered", plan.clone())];
    for pass in crate::passes::pipeline(options, &request.feed_shapes, evaluator) {
        pass.run(&mut plan);
        stages.push((pass.name(), plan.clone()));
    }
    Ok(stages)
}

/// The plan before any pass and before liveness (`frees` empty).
fn lower_unoptimized(graph: &Graph, request: &Request) -> Result<Plan, PlanError> {
    let gid = graph.id();
    let all = request
        .fetches
        .iter()
        .chain(&request.feeds)
        .chain(&request.targets);
    let len = graph.len();
    for t in all {
        if t.graph != gid || t.node.index() >= len {
            return Err(PlanError::ForeignTensor {
                name: Graph::tensor_name(*t).unwrap_or_else(|| format!("{t:?}")),
                tensor: *t,
                graph: gid,
                other: t.graph,
            });
        }
    }
    graph.with_nodes(|nodes| lower_nodes(nodes, request))
}

fn lower_nodes(nodes: &[Node], request: &Request) -> Result<Plan, PlanError> {
    let mut fed = vec![false; nodes.len()];
    for f in &request.feeds {
        let n = &nodes[f.node.index()];
        if std::mem::replace(&mut fed[f.node.index()], true) {
            return Err(PlanError::FedTwice {
                name: n.output_name(),
            });
        }
        if !n.op.has_output() {
            return Err(PlanError::NoOutput {
                name: n.name.clone(),
                op: n.op.type_name(),
            });
        }
    }
    for f in &request.fetches {
        let n = &nodes[f.node.index()];
        if !n.op.has_output() {
            return Err(PlanError::NoOutput {
                name: n.name.clone(),
                op: n.op.type_name(),
            });
        }
    }
    let needed = crate::passes::prune::needed_nodes(nodes, request, &fed);
    // Slots: one per needed node with an output. Ids are a topological order already.
    let mut slot_of = vec![usize::MAX; nodes.len()];
    let mut num_slots = 0;
    for (i, n) in nodes.iter().enumerate() {
        if (needed[i] || fed[i]) && n.op.has_output() {
            slot_of[i] = num_slots;
            num_slots += 1;
        }
    }
    // A variable is read when a step consumes it, not at its own place in id order, so a
    // consumer ordered after an assign (by a control dependency) sees the assigned value, as
    // TF1's reference variables do. Each consuming step gets a read of its own, just before
    // it. A variable fetched, run as a target or used as a control input is read in place.
    let is_var = |i: usize| matches!(nodes[i].op, Op::Variable { .. }) && !fed[i];
    let mut read_in_place = vec![false; nodes.len()];
    for t in request.fetches.iter().chain(&request.targets) {
        read_in_place[t.node.index()] = true;
    }
    for (i, n) in nodes.iter().enumerate() {
        if needed[i] && !fed[i] {
            for c in &n.control_inputs {
                read_in_place[c.index()] = true;
            }
        }
    }
    let mut steps = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if !needed[i] || fed[i] || (is_var(i) && !read_in_place[i]) {
            continue;
        }
        if matches!(n.op, Op::Placeholder) {
            return Err(PlanError::MissingFeed {
                name: n.name.clone(),
                dtype: n.dtype.tf_name(),
                shape: n.shape.clone(),
                location: format!(
                    "{}:{}:{}",
                    n.location.file(),
                    n.location.line(),
                    n.location.column()
                ),
            });
        }
        let mut inputs = Vec::with_capacity(n.inputs.len());
        let mut reads: Vec<(NodeId, usize)> = Vec::new();
        for &id in &n.inputs {
            let slot = if !is_var(id.index()) {
                slot_of[id.index()]
            } else if let Some(&(_, slot)) = reads.iter().find(|(v, _)| *v == id) {
                slot
            } else {
                let slot = num_slots;
                num_slots += 1;
                steps.push(Step {
                    consumer_read: true,
                    ..step_of(nodes, id.index(), Vec::new(), slot)
                });
                reads.push((id, slot));
                slot
            };
            inputs.push(slot);
        }
        steps.push(step_of(nodes, i, inputs, slot_of[i]));
    }
    let feeds = request
        .feeds
        .iter()
        .map(|f| {
            let n = &nodes[f.node.index()];
            FeedSlot {
                slot: slot_of[f.node.index()],
                name: n.output_name(),
                dtype: n.dtype,
                shape: n.shape.clone(),
                planned: n.shape.clone(),
            }
        })
        .collect();
    let fetches = request
        .fetches
        .iter()
        .map(|f| slot_of[f.node.index()])
        .collect();
    Ok(Plan {
        steps,
        num_slots,
        feeds,
        fetches,
        buffers: Vec::new(),
        buffer_of_slot: Vec::new(),
    })
}

impl Plan {
    /// The static shape of each slot where fully known: fed slots as planned, the rest from
    /// the step that writes them.
    pub fn slot_shapes(&self) -> Vec<Option<Vec<usize>>> {
        let mut shapes: Vec<Option<Vec<usize>>> = vec![None; self.num_slots];
        for f in &self.feeds {
            shapes[f.slot] = f.planned.to_known();
        }
        for step in &self.steps {
            if step.output < self.num_slots {
                shapes[step.output] = step.shape.to_known();
            }
        }
        shapes
    }
}

/// The step that runs node `i`, reading `inputs` and writing `output`.
fn step_of(nodes: &[Node], i: usize, inputs: Vec<usize>, output: usize) -> Step {
    let n = &nodes[i];
    Step {
        node: NodeId(i as u32),
        name: n.name.clone(),
        op: n.op.clone(),
        inputs,
        output,
        dtype: n.dtype,
        shape: n.shape.clone(),
        location: n.location,
        frees: Vec::new(),
        variable: match n.op {
            Op::Assign { var, .. } => match nodes[var.index()].op {
                Op::Variable { slot } => Some(VarRef {
                    slot,
                    name: nodes[var.index()].name.clone(),
                }),
                _ => None,
            },
            _ => None,
        },
        consumer_read: false,
        fused: None,
        buffer: None,
        joins_previous: false,
        pairs_with_previous: false,
        leads_pair: false,
    }
}
