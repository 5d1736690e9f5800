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
    fn release_slot(&mut self, plan: &Plan, slot: usize) {
        if let Some(Held::Shared(mut v)) = self.slots[slot].take() {
            if let Some(b) = plan.buffer_of_slot.get(slot).copied().flatten() {
                if Arc::get_mut(&mut v).is_some() {
                    self.buffers[b] = Some(v);
                }
            }
        }
    }

    /// Runs a plain float elementwise step straight over the storage its buffer holds, when
    /// that already has the result's type and shape (a buffer's later occupants in a run, and
    /// every run after the first for a fixed shape): the output value is the buffer's own, so
    /// nothing is built or moved but the Arc. Whether it did; if not, nothing changed and the
    /// step runs the general way.
    fn run_in_place(&mut self, step: &Step, feeds: &[&Value]) -> bool {
        if step.fused.is_some() || !matches!(step.op, Op::Binary(_) | Op::Unary(_)) {
            return false;
        }
        let Some(b) = step.buffer else {
            return false;
        };
        // Unshared, so no input is this storage (inputs are held by the slots).
        let Some(dst) = self.buffers[b].as_mut().and_then(Arc::get_mut) else {
            return false;
        };
        let input = |i: usize| {
            self.slots[step.inputs[i]]
                .as_ref()
                .expect("plan order puts inputs first")
                .value(feeds)
        };
        // The inputs on the stack: this path is the whole cost of a small step.
        let done = match step.inputs.len() {
            1 => elementwise::into_place(&step.op, &[input(0)], dst),
            2 => elementwise::into_place(&step.op, &[input(0), input(1)], dst),
            _ => false,
        };
        if !done {
            return false;
        }
        self.slots[step.output] = self.buffers[b].take().map(Held::Shared);
        true
    }

    /// The storage a step's buffer holds, taken out of its (unshared) Arc.
    fn take_buffer(&mut self, step: &Step) -> Taken {
        let mut arc = step.buffer.and_then(|b| self.buffers[b].take());
        let old = arc
            .as_mut()
            .and_then(Arc::get_mut)
            .map(|v| std::mem::replace(v, Value::empty()));
        Taken {
            storage: OutBuf::new(old),
            arc,
        }
    }

    /// Puts what a step produced in its output slot. A fresh value goes into its buffer's Arc
    /// (unshared: buffers hold only values no one else does), so the step allocates neither
    /// storage nor a reference count.
    fn store(&mut self, step: &Step, produced: Produced, arc: Option<Arc<Value>>) {
        let value = match produced {
            Produced::Nothing => return,
            Produced::Shared(v) => v,
            Produced::Fresh(v) => match arc {
                Some(mut arc) => match Arc::get_mut(&mut arc) {
                    Some(slot) => {
                        *slot = v;
                        arc
                    }
                    None => Arc::new(v),
                },
                None => Arc::new(v),
            },
        };
        self.slots[step.output] = Some(Held::Shared(value));
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
        // Whatever happened, the workspace keeps no values of this run but its buffers'. Only
        // feeds and steps fill slots (after the passes, most of a big graph's slots are
        // never used, and visiting them all would cost more than a fused run).
        for f in &plan.feeds {
            ws.slots[f.slot] = None;
        }
        for step in &plan.steps {
            // Steps without output (NoOp) have no slot.
            if step.output < ws.slots.len() {
                ws.release_slot(plan, step.output);
            }
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
    let steps = &plan.steps;
    let mut k = 0;
    while k < steps.len() {
        // A group of independent big steps runs at the same time when there are threads.
        let end = k
            + 1
            + steps[k + 1..]
                .iter()
                .take_while(|s| s.joins_previous)
                .count();
        if end - k > 1 && ctx.parallel.threads() > 1 {
            run_group(plan, k..end, feeds, ctx, ws)?;
        } else {
            for step in &steps[k..end] {
                if !ws.run_in_place(step, feeds) {
                    let mut out = ws.take_buffer(step);
                    let produced = {
                        let inputs = inputs_of(step, &ws.slots, feeds);
                        run_step(step, &inputs, &ws.slots, feeds, ctx, &mut out.storage)?
                    };
                    ws.store(step, produced, out.arc);
                }
                for &s in &step.frees {
                    ws.release_slot(plan, s);
                }
            }
        }
        k = end;
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

/// A group's steps at once on the pool; their dead slots are released when all are done (memory
/// planning made no member write a buffer another member's inputs give back).
fn run_group(
    plan: &Plan,
    range: std::ops::Range<usize>,
    feeds: &[&Value],
    ctx: &RunContext<'_>,
    ws: &mut Workspace,
) -> Result<()> {
    let group = &plan.steps[range];
    let mut outs: SmallVec<[Taken; 4]> = group.iter().map(|s| ws.take_buffer(s)).collect();
    let slots = &ws.slots;
    let mut results: SmallVec<[Option<Result<Produced>>; 4]> = group.iter().map(|_| None).collect();
    ctx.parallel.run(|| {
        rayon::scope(|scope| {
            for ((step, out), result) in group.iter().zip(outs.iter_mut()).zip(results.iter_mut()) {
                scope.spawn(move |_| {
                    let inputs = inputs_of(step, slots, feeds);
                    *result = Some(run_step(step, &inputs, slots, feeds, ctx, &mut out.storage));
                });
            }
        })
    });
    // Results in plan order: the first error is the one a sequential run would report.
    for ((step, out), result) in group.iter().zip(outs).zip(results) {
        let produced = result.expect("every spawned step ran")?;
        ws.store(step, produced, out.arc);
    }
    for step in group {
        for &s in &step.frees {
            ws.release_slot(plan, s);
        }
    }
    Ok(())
}

/// A step's input values, in its input order.
fn inputs_of<'a>(
    step: &Step,
    slots: &'a [Option<Held>],
    feeds: &[&'a Value],
) -> SmallVec<[&'a Value; 4]> {
    step.inputs
        .iter()
        .map(|&s| {
            slots[s]
                .as_ref()
                .expect("plan order puts inputs first")
                .value(feeds)
        })
        .collect()
}

/// A step's buffer, taken for the step to write: the storage its last occupant left and the
/// (unshared) Arc that held it.
struct Taken {
    storage: OutBuf,
    arc: Option<Arc<Value>>,
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
        let v = kernels::fused::run(program, step.dtype, inputs, ctx.parallel, out)
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
