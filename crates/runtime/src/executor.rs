//! Executors run a `Plan`. `SequentialExecutor` runs the steps one after another in plan order;
//! a parallel executor can replace it behind the same trait.

use crate::error::{Result, RunError};
use crate::kernels::{self, elementwise, reduce, OutBuf};
use crate::variables::{AssignError, VariableStore};
use rill_compiler::{Plan, Step};
use rill_graph::error::location_string;
use rill_graph::{AssignMode, BinaryOp, Op, Value};
use smallvec::SmallVec;
use std::sync::Arc;

/// What a run shares with the executor besides the plan and the feeds.
pub struct RunContext<'a> {
    pub variables: &'a VariableStore,
    /// A number unique to this run within the session; random ops draw from stream `run`.
    pub run: u64,
    /// The pool big kernels may split their work over.
    pub parallel: &'a crate::parallel::Parallel,
}

/// Runs plans. Implementations must give the results sequential execution in plan order gives.
pub trait Executor: Send + Sync {
    /// Executes `plan` with `feeds` (aligned with `plan.feeds`), returning the fetched values.
    /// `workspace` was made for `plan` by `Workspace::for_plan` and may come from earlier runs.
    fn execute(
        &self,
        plan: &Plan,
        feeds: &[&Value],
        ctx: &RunContext<'_>,
        workspace: &mut Workspace,
    ) -> Result<Vec<Value>>;
}

/// A value in a slot: one of the run's feeds (by position, so a workspace outlives the run's
/// borrows) or a shared value (computed, constant, variable).
enum Held {
    Feed(usize),
    Shared(Arc<Value>),
}

impl Held {
    fn value<'a>(&'a self, feeds: &[&'a Value]) -> &'a Value {
        match self {
            Held::Feed(i) => feeds[*i],
            Held::Shared(v) => v,
        }
    }

    fn share(&self, feeds: &[&Value]) -> Arc<Value> {
        match self {
            Held::Feed(i) => Arc::new(feeds[*i].clone()),
            Held::Shared(v) => v.clone(),
        }
    }

    fn into_value(self, feeds: &[&Value]) -> Value {
        match self {
            Held::Feed(i) => feeds[i].clone(),
            Held::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
        }
    }
}

/// What executing one plan needs besides the feeds, kept between runs of that plan (the
/// session pools them per plan): the slot table, and the storage of each planned buffer, left
/// by its last occupant. A training step in a steady state so allocates no intermediates.
pub struct Workspace {
    slots: Vec<Option<Held>>,
    buffers: Vec<Option<Arc<Value>>>,
}

impl Workspace {
    pub fn for_plan(plan: &Plan) -> Workspace {
        Workspace {
            slots: (0..plan.num_slots).map(|_| None).collect(),
            buffers: vec![None; plan.buffers.len()],
        }
    }

    /// Heap bytes held in buffers between runs.
    pub fn buffered_bytes(&self) -> usize {
        self.buffers
            .iter()
            .flatten()
            .map(|v| v.len() * v.dtype().size_of())
            .sum()
    }

    /// Drops a dead slot's value, keeping its storage for the slot's buffer when no one else
    /// holds it.
    fn release(&mut self, plan: &Plan, slot: usize) {
        if let Some(Held::Shared(mut v)) = self.slots[slot].take() {
            if let Some(b) = plan.buffer_of_slot.get(slot).copied().flatten() {
                if Arc::get_mut(&mut v).is_some() {
                    self.buffers[b] = Some(v);
                }
            }
        }
    }
}

/// Runs steps in plan order on the calling thread.
#[derive(Default)]
pub struct SequentialExecutor;

impl Executor for SequentialExecutor {
    fn execute(
        &self,
        plan: &Plan,
        feeds: &[&Value],
        ctx: &RunContext<'_>,
        ws: &mut Workspace,
    ) -> Result<Vec<Value>> {
        let result = run_steps(plan, feeds, ctx, ws);
        // Whatever happened, the workspace keeps no values of this run but its buffers'.
        for slot in 0..ws.slots.len() {
            ws.release(plan, slot);
        }
        result
    }
}

fn run_steps(
    plan: &Plan,
    feeds: &[&Value],
    ctx: &RunContext<'_>,
    ws: &mut Workspace,
) -> Result<Vec<Value>> {
    for (i, f) in plan.feeds.iter().enumerate() {
        ws.slots[f.slot] = Some(Held::Feed(i));
    }
    for step in &plan.steps {
        // The storage the step's buffer holds, taken out of its (unshared) Arc.
        let mut reuse = step.buffer.and_then(|b| ws.buffers[b].take());
        let old = reuse
            .as_mut()
            .and_then(Arc::get_mut)
            .map(|v| std::mem::replace(v, Value::empty()));
        let mut out = OutBuf::new(old);
        let produced = {
            let slots = &ws.slots;
            let inputs: SmallVec<[&Value; 4]> = step
                .inputs
                .iter()
                .map(|&s| {
                    slots[s]
                        .as_ref()
                        .expect("plan order puts inputs first")
                        .value(feeds)
                })
                .collect();
            run_step(step, &inputs, slots, feeds, ctx, &mut out)?
        };
        let value = match produced {
            Produced::Nothing => None,
            Produced::Shared(v) => Some(v),
            // The buffer's Arc (unshared: buffers hold only values no one else does) takes the
            // new value, so the step allocates neither storage nor a reference count.
            Produced::Fresh(v) => Some(match reuse {
                Some(mut arc) => match Arc::get_mut(&mut arc) {
                    Some(slot) => {
                        *slot = v;
                        arc
                    }
                    None => Arc::new(v),
                },
                None => Arc::new(v),
            }),
        };
        if let Some(v) = value {
            ws.slots[step.output] = Some(Held::Shared(v));
        }
        for &s in &step.frees {
            ws.release(plan, s);
        }
    }
    let mut out = Vec::with_capacity(plan.fetches.len());
    for (i, &s) in plan.fetches.iter().enumerate() {
        // The same tensor may be fetched twice; only the last fetch may take the slot.
        let again = plan.fetches[i + 1..].contains(&s);
        let held = if again {
            ws.slots[s].as_ref().map(|h| Held::Shared(h.share(feeds)))
        } else {
            ws.slots[s].take()
        };
        out.push(held.expect("fetched slots are filled").into_value(feeds));
    }
    Ok(out)
}

/// What a step gives its output slot.
enum Produced {
    /// Ops without output.
    Nothing,
    /// A value that lives elsewhere too (constant, variable, pass-through).
    Shared(Arc<Value>),
    /// A kernel's new value.
    Fresh(Value),
}

/// Executes one step.
fn run_step(
    step: &Step,
    inputs: &[&Value],
    slots: &[Option<Held>],
    feeds: &[&Value],
    ctx: &RunContext<'_>,
    out: &mut OutBuf,
) -> Result<Produced> {
    if let Some(program) = &step.fused {
        let v = kernels::fused::run(program, inputs, ctx.parallel, out)
            .map_err(|m| kernel_error(step, inputs, m))?;
        return Ok(Produced::Fresh(v));
    }
    let pass_through = || {
        slots[step.inputs[0]]
            .as_ref()
            .expect("input present")
            .share(feeds)
    };
    Ok(Produced::Shared(match &step.op {
        Op::Const(v) => v.clone(),
        Op::Variable { slot } => {
            ctx.variables
                .read(*slot)
                .ok_or_else(|| RunError::Uninitialized {
                    name: step.name.clone(),
                    location: location_string(step.location),
                })?
        }
        Op::Assign { mode, .. } => assign(step, *mode, pass_through(), ctx)?,
        Op::NoOp => return Ok(Produced::Nothing),
        Op::Identity | Op::StopGradient => pass_through(),
        // Shape ops whose run-time target is the input's own shape (the usual case for the
        // gradient of a broadcast that did not broadcast) pass the value through uncopied.
        Op::SumTo { .. } | Op::BroadcastTo { .. } | Op::ReshapeTo { .. }
            if kernels::array::shape_arg(inputs[1]).is_ok_and(|s| s == inputs[0].shape()) =>
        {
            pass_through()
        }
        Op::CheckNumerics { message } => {
            let found = match reduce::nan_inf(inputs[0]) {
                (false, false) => return Ok(Produced::Shared(pass_through())),
                (true, true) => "Inf and NaN",
                (true, false) => "NaN",
                (false, true) => "Inf",
            };
            return Err(RunError::CheckNumerics {
                node: step.name.clone(),
                message: message.clone(),
                found,
                location: location_string(step.location),
            });
        }
        Op::Random { distribution, seed } => {
            let shape = match inputs.first() {
                Some(dims) => {
                    kernels::array::shape_arg(dims).map_err(|m| kernel_error(step, inputs, m))?
                }
                None => step.shape.to_known().unwrap_or_default(),
            };
            return Ok(Produced::Fresh(kernels::random::sample(
                *distribution,
                *seed,
                ctx.run,
                &shape,
                step.dtype,
            )));
        }
        op => {
            return kernels::compute(op, inputs, &step.shape, step.dtype, ctx.parallel, out)
                .map(Produced::Fresh)
                .map_err(|m| kernel_error(step, inputs, m))
        }
    }))
}

fn assign(
    step: &Step,
    mode: AssignMode,
    value: Arc<Value>,
    ctx: &RunContext<'_>,
) -> Result<Arc<Value>> {
    let var = step
        .variable
        .as_ref()
        .expect("the plan resolves assign targets");
    if !step.shape.admits(value.shape()) {
        let inputs = [&*value];
        return Err(kernel_error(
            step,
            &inputs,
            format!(
                "Assign requires shapes of both tensors to match: variable {} vs value {:?}",
                step.shape,
                value.shape()
            ),
        ));
    }
    let op = if mode == AssignMode::Add {
        BinaryOp::Add
    } else {
        BinaryOp::Sub
    };
    let in_place = |old: &mut Value, new: &Value| elementwise::add_or_sub_in_place(op, old, new);
    let combine =
        |old: &Value, new: &Value| elementwise::binary(op, old, new, &mut OutBuf::default());
    ctx.variables
        .assign(var.slot, mode, value.clone(), in_place, combine)
        .map_err(|e| match e {
            AssignError::Uninitialized => RunError::Uninitialized {
                name: var.name.clone(),
                location: location_string(step.location),
            },
            AssignError::Kernel(m) => kernel_error(step, &[&value], m),
        })
}

pub(crate) fn kernel_error(step: &Step, inputs: &[&Value], message: String) -> RunError {
    let shapes: Vec<String> = inputs.iter().map(|v| format!("{:?}", v.shape())).collect();
    RunError::Kernel {
        node: step.name.clone(),
        op: step.op.type_name(),
        shapes: shapes.join(", "),
        message,
        location: location_string(step.location),
    }
}
