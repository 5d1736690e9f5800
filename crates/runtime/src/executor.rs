//! Executors run a `Plan`. `SequentialExecutor` runs the steps one after another in plan order;
//! a parallel executor can replace it behind the same trait.

use crate::error::{Result, RunError};
use crate::kernels::{self, elementwise, reduce};
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
    fn execute(&self, plan: &Plan, feeds: &[&Value], ctx: &RunContext<'_>) -> Result<Vec<Value>>;
}

/// A value in a slot: borrowed from the caller (a feed) or shared (computed, constant, variable).
enum Held<'a> {
    Borrowed(&'a Value),
    Shared(Arc<Value>),
}

impl Held<'_> {
    fn value(&self) -> &Value {
        match self {
            Held::Borrowed(v) => v,
            Held::Shared(v) => v,
        }
    }

    fn share(&self) -> Arc<Value> {
        match self {
            Held::Borrowed(v) => Arc::new((*v).clone()),
            Held::Shared(v) => v.clone(),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Held::Borrowed(v) => v.clone(),
            Held::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
        }
    }
}

/// Runs steps in plan order on the calling thread.
#[derive(Default)]
pub struct SequentialExecutor;

impl Executor for SequentialExecutor {
    fn execute(&self, plan: &Plan, feeds: &[&Value], ctx: &RunContext<'_>) -> Result<Vec<Value>> {
        let mut slots: Vec<Option<Held<'_>>> = (0..plan.num_slots).map(|_| None).collect();
        for (f, v) in plan.feeds.iter().zip(feeds) {
            slots[f.slot] = Some(Held::Borrowed(v));
        }
        for step in &plan.steps {
            let out = {
                let inputs: SmallVec<[&Value; 4]> = step
                    .inputs
                    .iter()
                    .map(|&s| {
                        slots[s]
                            .as_ref()
                            .expect("plan order puts inputs first")
                            .value()
                    })
                    .collect();
                run_step(step, &inputs, &slots, ctx)?
            };
            if let Some(v) = out {
                slots[step.output] = Some(Held::Shared(v));
            }
            for &s in &step.frees {
                slots[s] = None;
            }
        }
        let mut out = Vec::with_capacity(plan.fetches.len());
        for (i, &s) in plan.fetches.iter().enumerate() {
            // The same tensor may be fetched twice; only the last fetch may take the slot.
            let again = plan.fetches[i + 1..].contains(&s);
            let held = if again {
                slots[s].as_ref().map(|h| Held::Shared(h.share()))
            } else {
                slots[s].take()
            };
            out.push(held.expect("fetched slots are filled").into_value());
        }
        Ok(out)
    }
}

/// Executes one step. Returns `None` for ops without output.
fn run_step(
    step: &Step,
    inputs: &[&Value],
    slots: &[Option<Held<'_>>],
    ctx: &RunContext<'_>,
) -> Result<Option<Arc<Value>>> {
    if let Some(program) = &step.fused {
        let out = kernels::fused::run(program, inputs, ctx.parallel)
            .map_err(|m| kernel_error(step, inputs, m))?;
        return Ok(Some(Arc::new(out)));
    }
    let pass_through = || {
        slots[step.inputs[0]]
            .as_ref()
            .expect("input present")
            .share()
    };
    Ok(Some(match &step.op {
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
        Op::NoOp => return Ok(None),
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
                (false, false) => return Ok(Some(pass_through())),
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
            Arc::new(kernels::random::sample(
                *distribution,
                *seed,
                ctx.run,
                &shape,
                step.dtype,
            ))
        }
        op => Arc::new(
            kernels::compute(op, inputs, &step.shape, step.dtype, ctx.parallel)
                .map_err(|m| kernel_error(step, inputs, m))?,
        ),
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
    let combine = |old: &Value, new: &Value| {
        let op = if mode == AssignMode::Add {
            BinaryOp::Add
        } else {
            BinaryOp::Sub
        };
        elementwise::binary(op, old, new)
    };
    ctx.variables
        .assign(var.slot, mode, value.clone(), combine)
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
