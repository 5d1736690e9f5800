//! Executors run a `Plan`. `SequentialExecutor` runs the steps in plan order, one after
//! another, except the concurrent groups (on the pool) and companion pairs (with the companion
//! thread) memory planning marked; a dataflow executor can replace it behind the same trait.

use crate::error::{Result, RunError};
use crate::kernels::{self, elementwise, reduce, OutBuf};
use crate::trace::Tracer;
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
    /// Where a traced run records its steps (`RunOptions::trace`).
    pub trace: Option<&'a crate::trace::Tracer>,
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
/// borrows), a shared value (constant, variable, a value passed through), a step's new value
/// that has no planned buffer (a fetched one: held as it is, so fetching it moves it out with
/// no reference count made and dropped), or the value a step wrote into its planned buffer.
/// A buffer's value is read where it lies: memory planning gives the buffer to no other step
/// while the slot lives, so no reference count is needed.
enum Held {
    Feed(usize),
    Shared(Arc<Value>),
    Owned(Value),
    Buffer(usize),
}

impl Held {
    fn value<'a>(&'a self, feeds: &[&'a Value], buffers: &'a [Option<Value>]) -> &'a Value {
        match self {
            Held::Feed(i) => feeds[*i],
            Held::Shared(v) => v,
            Held::Owned(v) => v,
            Held::Buffer(b) => buffers[*b]
                .as_ref()
                .expect("a buffer holds its slot's value while the slot lives"),
        }
    }

    /// The value as shared. A buffer's value is copied; every caller moves it out of its
    /// buffer first (`Workspace::promote`, through `prepare`), so the copy is a fallback that
    /// keeps a pass-through op missing from `may_pass_through` correct, only slower.
    fn share(&self, feeds: &[&Value], buffers: &[Option<Value>]) -> Arc<Value> {
        match self {
            Held::Shared(v) => v.clone(),
            held => Arc::new(held.value(feeds, buffers).clone()),
        }
    }

    fn into_value(self, feeds: &[&Value], buffers: &mut [Option<Value>]) -> Value {
        match self {
            Held::Feed(i) => feeds[i].clone(),
            Held::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
            Held::Owned(v) => v,
            Held::Buffer(b) => buffers[b]
                .take()
                .expect("a buffer holds its slot's value while the slot lives"),
        }
    }
}

/// What executing one plan needs besides the feeds, kept between runs of that plan (the
/// session pools them per plan): the slot table, and the storage of each planned buffer, left
/// by its last occupant. A training step in a steady state so allocates no intermediates.
pub struct Workspace {
    slots: Vec<Option<Held>>,
    buffers: Vec<Option<Value>>,
}

impl Workspace {
    pub fn for_plan(plan: &Plan) -> Workspace {
        Workspace {
            slots: (0..plan.num_slots).map(|_| None).collect(),
            buffers: (0..plan.buffers.len()).map(|_| None).collect(),
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

    /// Ends a dead slot. A buffer's value stays where it is, as storage for the buffer's next
    /// occupant; a shared value that came out of a buffer (`promote`) goes back to it when no
    /// one else holds it.
    #[inline(always)]
    fn release_slot(&mut self, plan: &Plan, slot: usize) {
        if let Some(Held::Shared(v)) = self.slots[slot].take() {
            self.release_shared(plan, slot, v);
        }
    }

    /// `release_slot` for a shared value: not on a small step's path.
    #[inline(never)]
    fn release_shared(&mut self, plan: &Plan, slot: usize, v: Arc<Value>) {
        if let Some(b) = plan.buffer_of_slot.get(slot).copied().flatten() {
            if self.buffers[b].is_none() {
                self.buffers[b] = Arc::try_unwrap(v).ok();
            }
        }
    }

    /// Moves a buffer's (or an owned) value out into a shared one, for a step that hands its
    /// input on as its output (a pass-through or a variable's new value), which then outlives
    /// the buffer's occupancy. The buffer's next occupant allocates anew unless the value
    /// comes back (`release_slot`). A buffer another slot may share (`Buffer::aliased`) keeps
    /// its value, and the shared one is a copy.
    fn promote(&mut self, plan: &Plan, slot: usize) {
        let v = match self.slots[slot].take() {
            Some(Held::Buffer(b)) if plan.buffers[b].aliased => {
                let v = self.buffers[b].as_ref();
                let v = v.expect("a buffer holds its slot's value while the slot lives");
                let copy = v.clone();
                self.slots[slot] = Some(Held::Buffer(b));
                copy
            }
            Some(Held::Buffer(b)) => self.buffers[b]
                .take()
                .expect("a buffer holds its slot's value while the slot lives"),
            Some(Held::Owned(v)) => v,
            held => {
                self.slots[slot] = held;
                return;
            }
        };
        self.slots[slot] = Some(Held::Shared(Arc::new(v)));
    }

    /// Promotes the input a step is about to pass through, if it will.
    fn prepare(&mut self, plan: &Plan, step: &Step, feeds: &[&Value]) {
        if may_pass_through(&step.op)
            && passes_through(step, &inputs_of(step, &self.slots, &self.buffers, feeds))
        {
            self.promote(plan, step.inputs[0]);
        }
    }

    /// Gives a step that hands its input on unchanged its input's buffer, where memory
    /// planning made its output share that buffer (`passes_input_on`: the step has no buffer
    /// of its own, its output slot has its input's) and the run agrees. Whether it did; if
    /// not, the step runs the general way.
    // Inlined into both instances of the step loop (traced and not): on a small step the
    // call would cost as much as the work.
    #[inline(always)]
    fn share_input(&mut self, plan: &Plan, step: &Step, feeds: &[&Value]) -> bool {
        if step.buffer.is_some() || !may_pass_through(&step.op) {
            return false;
        }
        let Some(b) = plan.buffer_of_slot.get(step.output).copied().flatten() else {
            return false;
        };
        let input_there = step
            .inputs
            .first()
            .is_some_and(|&s| matches!(self.slots[s], Some(Held::Buffer(c)) if c == b));
        if !input_there
            || !passes_through(step, &inputs_of(step, &self.slots, &self.buffers, feeds))
        {
            return false;
        }
        self.slots[step.output] = Some(Held::Buffer(b));
        true
    }

    /// Runs a plain float elementwise step straight over the storage its buffer holds, when
    /// that already has the result's type and shape (a buffer's later occupants in a run, and
    /// every run after the first for a fixed shape): nothing is built or moved. Whether it
    /// did; if not, nothing changed and the step runs the general way.
    // Inlined into both instances of the step loop (traced and not): on a small step the
    // call would cost as much as the work.
    #[inline(always)]
    fn run_in_place(&mut self, step: &Step, feeds: &[&Value]) -> bool {
        if step.fused.is_some() || !matches!(step.op, Op::Binary(_) | Op::Unary(_)) {
            return false;
        }
        let Some(b) = step.buffer else {
            return false;
        };
        // The step's own buffer to write, the others to read: planning never gives a step the
        // buffer of one of its inputs.
        let (before, rest) = self.buffers.split_at_mut(b);
        let Some((Some(dst), after)) = rest.split_first_mut() else {
            return false;
        };
        let around = (b, &*before, &*after);
        let slots = &self.slots;
        // The inputs on the stack, looked up without a closure (which the compiler kept out
        // of line): this path is the whole cost of a small step.
        let done = match *step.inputs.as_slice() {
            [x] => beside(slots[x].as_ref(), feeds, around)
                .is_some_and(|x| elementwise::into_place(&step.op, &[x], dst)),
            [x, y] => match (
                beside(slots[x].as_ref(), feeds, around),
                beside(slots[y].as_ref(), feeds, around),
            ) {
                (Some(x), Some(y)) => elementwise::into_place(&step.op, &[x, y], dst),
                _ => false,
            },
            _ => false,
        };
        if done {
            self.slots[step.output] = Some(Held::Buffer(b));
        }
        done
    }

    /// The storage a step's buffer holds, taken for the step to write.
    fn take_buffer(&mut self, step: &Step) -> OutBuf {
        OutBuf::new(step.buffer.and_then(|b| self.buffers[b].take()))
    }

    /// Puts what a step produced in its output slot: a fresh value into the step's buffer, so
    /// the step allocates neither storage nor a reference count.
    fn store(&mut self, step: &Step, produced: Produced) {
        let held = match produced {
            Produced::Nothing => return,
            Produced::Shared(v) => Held::Shared(v),
            Produced::Fresh(v) => match step.buffer {
                Some(b) => {
                    self.buffers[b] = Some(v);
                    Held::Buffer(b)
                }
                None => Held::Owned(v),
            },
        };
        self.slots[step.output] = Some(held);
    }
}

/// The value `held` gives, read beside buffer `b` (which is being written): `before` and
/// `after` are the buffers on either side of it. `None` for `b` itself.
#[inline(always)]
fn beside<'a>(
    held: Option<&'a Held>,
    feeds: &[&'a Value],
    (b, before, after): (usize, &'a [Option<Value>], &'a [Option<Value>]),
) -> Option<&'a Value> {
    match *held? {
        Held::Feed(f) => Some(feeds[f]),
        Held::Shared(ref v) => Some(v),
        Held::Owned(ref v) => Some(v),
        Held::Buffer(c) if c < b => before[c].as_ref(),
        Held::Buffer(c) if c > b => after[c - b - 1].as_ref(),
        Held::Buffer(_) => None,
    }
}

/// Runs steps in plan order on the calling thread (groups on the pool, pairs with the companion).
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
        let result = if ctx.trace.is_some() {
            run_steps::<true>(plan, feeds, ctx, ws)
        } else {
            run_steps::<false>(plan, feeds, ctx, ws)
        };
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

/// Runs the plan's steps in order; `TRACED` runs record each step in `ctx.trace` (an untraced
/// run's loop has no tracing in it at all).
fn run_steps<const TRACED: bool>(
    plan: &Plan,
    feeds: &[&Value],
    ctx: &RunContext<'_>,
    ws: &mut Workspace,
) -> Result<Vec<Value>> {
    for (i, f) in plan.feeds.iter().enumerate() {
        ws.slots[f.slot] = Some(Held::Feed(i));
    }
    let steps = &plan.steps;
    let grouped = ctx.parallel.threads() > 1;
    let mut k = 0;
    while k < steps.len() {
        // A group of independent big steps runs at the same time when there are threads.
        if grouped && steps.get(k + 1).is_some_and(|s| s.joins_previous) {
            let end = k
                + 1
                + steps[k + 1..]
                    .iter()
                    .take_while(|s| s.joins_previous)
                    .count();
            run_group(plan, k..end, feeds, ctx, ws, Together::Pool)?;
            k = end;
            continue;
        }
        // Two small independent steps, one on the companion thread, where there is one free.
        if grouped
            && steps.get(k + 1).is_some_and(|s| s.pairs_with_previous)
            && ctx.parallel.pairs()
        {
            run_group(plan, k..k + 2, feeds, ctx, ws, Together::Companion)?;
            k += 2;
            continue;
        }
        let step = &steps[k];
        // Only the traced instance of this loop reads the clock.
        let started = if TRACED {
            ctx.trace.map(Tracer::start)
        } else {
            None
        };
        if !ws.share_input(plan, step, feeds) && !ws.run_in_place(step, feeds) {
            ws.prepare(plan, step, feeds);
            let mut out = ws.take_buffer(step);
            let inputs = inputs_of(step, &ws.slots, &ws.buffers, feeds);
            let produced =
                match run_step(step, &inputs, &ws.slots, &ws.buffers, feeds, ctx, &mut out) {
                    Ok(produced) => produced,
                    Err(e) => {
                        // A step that failed is recorded too: it is the one a trace is read for.
                        Tracer::record_if(ctx.trace, k, started);
                        return Err(e);
                    }
                };
            drop(inputs);
            ws.store(step, produced);
        }
        Tracer::record_if(ctx.trace, k, started);
        for &s in &step.frees {
            ws.release_slot(plan, s);
        }
        k += 1;
    }
    let mut out = Vec::with_capacity(plan.fetches.len());
    for (i, &s) in plan.fetches.iter().enumerate() {
        // The same tensor may be fetched twice; only the last fetch may take the slot.
        let again = plan.fetches[i + 1..].contains(&s);
        let held = if again {
            ws.promote(plan, s);
            ws.slots[s]
                .as_ref()
                .map(|h| Held::Shared(h.share(feeds, &ws.buffers)))
        } else {
            ws.slots[s].take()
        };
        out.push(
            held.expect("fetched slots are filled")
                .into_value(feeds, &mut ws.buffers),
        );
    }
    Ok(out)
}

/// Where the steps of a group run at the same time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Together {
    /// A concurrent group (`Step::joins_previous`): each step a task on the pool.
    Pool,
    /// A companion pair (`Step::pairs_with_previous`): the step that leads it
    /// (`Step::leads_pair`, else the first) here, the other on the companion thread (or here
    /// after it, if the companion is busy).
    Companion,
}

/// A group's steps at once, `on` the pool or with the companion; their dead slots are released
/// when all are done (memory planning made no member write a buffer another member's inputs
/// give back).
fn run_group(
    plan: &Plan,
    range: std::ops::Range<usize>,
    feeds: &[&Value],
    ctx: &RunContext<'_>,
    ws: &mut Workspace,
    on: Together,
) -> Result<()> {
    let first = range.start;
    let group = &plan.steps[range];
    for step in group {
        ws.prepare(plan, step, feeds);
    }
    let mut outs: SmallVec<[OutBuf; 4]> = group.iter().map(|s| ws.take_buffer(s)).collect();
    let (slots, buffers) = (&ws.slots, &ws.buffers);
    let mut results: SmallVec<[Option<Result<Produced>>; 4]> = group.iter().map(|_| None).collect();
    // Member `i`, on whichever thread runs it.
    let member = &|i: usize, out: &mut OutBuf, result: &mut Option<Result<Produced>>| {
        let step = &group[i];
        let started = ctx.trace.map(Tracer::start);
        let inputs = inputs_of(step, slots, buffers, feeds);
        *result = Some(run_step(step, &inputs, slots, buffers, feeds, ctx, out));
        Tracer::record_if(ctx.trace, first + i, started);
    };
    match on {
        Together::Pool => ctx.parallel.run(|| {
            rayon::scope(|scope| {
                for (i, (out, result)) in outs.iter_mut().zip(results.iter_mut()).enumerate() {
                    scope.spawn(move |_| member(i, out, result));
                }
            })
        }),
        Together::Companion => {
            let ([out_0, out_1], [result_0, result_1]) = (&mut outs[..], &mut results[..]) else {
                unreachable!("a companion pair has two steps");
            };
            let run_0 = || member(0, out_0, result_0);
            let run_1 = || member(1, out_1, result_1);
            // The step with more work runs here: the caller would otherwise wait for the
            // companion, which also starts a little later.
            if group[1].leads_pair {
                ctx.parallel.pair(run_1, run_0);
            } else {
                ctx.parallel.pair(run_0, run_1);
            }
        }
    }
    // Results in plan order: the first error is the one a sequential run would report.
    drop(outs);
    for (step, result) in group.iter().zip(results) {
        let produced = result.expect("every member ran")?;
        ws.store(step, produced);
    }
    for step in group {
        for &s in &step.frees {
            ws.release_slot(plan, s);
        }
    }
    Ok(())
}

/// A step's input values, in its input order (on the stack for up to 8: a fused step often
/// has more than four).
fn inputs_of<'a>(
    step: &Step,
    slots: &'a [Option<Held>],
    buffers: &'a [Option<Value>],
    feeds: &[&'a Value],
) -> SmallVec<[&'a Value; 8]> {
    step.inputs
        .iter()
        .map(|&s| {
            slots[s]
                .as_ref()
                .expect("plan order puts inputs first")
                .value(feeds, buffers)
        })
        .collect()
}

/// Ops that may hand their first input on as their output (see `passes_through`).
fn may_pass_through(op: &Op) -> bool {
    matches!(
        op,
        Op::Identity
            | Op::StopGradient
            | Op::CheckNumerics { .. }
            | Op::Assign {
                mode: AssignMode::Set,
                ..
            }
            | Op::SumTo { .. }
            | Op::BroadcastTo { .. }
            | Op::ReshapeTo { .. }
    )
}

/// Whether the step hands its first input on as its output in this run: pass-through ops, a
/// plain assign (the variable keeps the value), and shape ops whose run-time target is the
/// input's own shape (the usual case for the gradient of a broadcast that did not broadcast).
fn passes_through(step: &Step, inputs: &[&Value]) -> bool {
    match &step.op {
        Op::SumTo { .. } | Op::BroadcastTo { .. } | Op::ReshapeTo { .. } => {
            kernels::array::shape_arg(inputs[1]).is_ok_and(|s| s[..] == *inputs[0].shape())
        }
        op => may_pass_through(op),
    }
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
    buffers: &[Option<Value>],
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
            .share(feeds, buffers)
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
        Op::Assign { mode, .. } => assign(step, *mode, inputs[0], pass_through, ctx)?,
        Op::NoOp => return Ok(Produced::Nothing),
        Op::Identity | Op::StopGradient => pass_through(),
        // Shape ops whose run-time target is the input's own shape (the usual case for the
        // gradient of a broadcast that did not broadcast) pass the value through uncopied.
        Op::SumTo { .. } | Op::BroadcastTo { .. } | Op::ReshapeTo { .. }
            if passes_through(step, inputs) =>
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
                None => SmallVec::from_vec(step.shape.to_known().unwrap_or_default()),
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

/// Runs an assign op with `value`; `shared` gives it as shared, for a plain assign, where the
/// variable keeps it.
fn assign(
    step: &Step,
    mode: AssignMode,
    value: &Value,
    shared: impl FnOnce() -> Arc<Value>,
    ctx: &RunContext<'_>,
) -> Result<Arc<Value>> {
    let var = step
        .variable
        .as_ref()
        .expect("the plan resolves assign targets");
    if !step.shape.admits(value.shape()) {
        let inputs = [value];
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
    let in_place =
        |old: &mut Value, new: &Value| elementwise::add_or_sub_in_place(op, old, new, ctx.parallel);
    let combine =
        |old: &Value, new: &Value| elementwise::binary(op, old, new, &mut OutBuf::default());
    ctx.variables
        .assign(var.slot, mode, value, shared, in_place, combine)
        .map_err(|e| match e {
            AssignError::Uninitialized => RunError::Uninitialized {
                name: var.name.clone(),
                location: location_string(step.location),
            },
            AssignError::Kernel(m) => kernel_error(step, &[value], m),
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
