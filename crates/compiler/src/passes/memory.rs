//! Memory planning, the last pass: liveness (the step after which each value slot is dead) and
//! buffer assignment (slots whose lifetimes do not overlap share one buffer). The runtime keeps
//! each buffer's storage between runs, so a training step in a steady state allocates nothing
//! for its intermediates: a kernel writes into the storage its buffer's last occupant left.

use crate::plan::{Plan, Step};
use rill_graph::{DType, Dim, Op, Shape};

/// A buffer of the plan: the dtype its occupants share and the largest of their static shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub dtype: DType,
    /// Elements of the largest occupant, as `known * ?^unknown`: the product of the known dims
    /// and the number of unknown ones (a batch dimension, usually).
    pub known: usize,
    pub unknown: usize,
    /// How many slots use the buffer over a run.
    pub occupants: usize,
    /// Whether some slot shares it with the slot before it (`passes_input_on`): moving its
    /// value out for one of them would leave the other without it.
    pub aliased: bool,
}

impl Buffer {
    /// Bytes when every unknown dimension is `per_unknown`.
    pub fn bytes(&self, per_unknown: usize) -> usize {
        self.known * per_unknown.pow(self.unknown as u32) * self.dtype.size_of()
    }
}

/// Whether a step's output is new storage a kernel writes (so worth a buffer). Sources,
/// variable reads and assigns share values that live elsewhere; pass-through ops share their
/// input's value.
pub fn writes_fresh_output(step: &Step) -> bool {
    step.fused.is_some()
        || !matches!(
            step.op,
            Op::Placeholder
                | Op::Const(_)
                | Op::Variable { .. }
                | Op::Assign { .. }
                | Op::NoOp
                | Op::Identity
                | Op::StopGradient
                | Op::CheckNumerics { .. }
        )
}

/// Whether a step hands its first input on unchanged whatever the run (an identity, or a shape
/// op whose static target is its input's own, fully known shape), so its output can share the
/// input's buffer. `CheckNumerics` is left out: it must look at the values.
pub fn passes_input_on(step: &Step, slot_shape: &[Option<Vec<usize>>]) -> bool {
    match step.op {
        Op::Identity | Op::StopGradient => true,
        Op::SumTo { .. } | Op::BroadcastTo { .. } | Op::ReshapeTo { .. } => {
            let input = step
                .inputs
                .first()
                .and_then(|&s| slot_shape.get(s)?.as_ref());
            input.is_some_and(|shape| step.shape.to_known().as_ref() == Some(shape))
        }
        _ => false,
    }
}

/// The static size of a shape as (product of known dims, number of unknown dims).
fn size_of(shape: &Shape) -> (usize, usize) {
    shape.dims().iter().fold((1, 0), |(k, u), d| match d {
        Dim::Known(n) => (k.saturating_mul(*n), u),
        Dim::Unknown => (k, u + 1),
    })
}

/// Computes `frees` (liveness) and `buffer` for every step, and the plan's buffers.
///
/// Buffers are assigned greedily in step order. A step that writes a fresh output takes a free
/// buffer of its dtype: one whose shape matched exactly before, else the smallest big enough,
/// else the largest (which then grows), else a new one. A slot's buffer becomes free after the
/// slot's last reader; fetched slots never get one (their value leaves the run), and slots no
/// step reads stay live to the end of the run. A step that hands its input on unchanged
/// (`passes_input_on`) shares its input's buffer, which is free once both slots are dead.
pub fn plan_memory(plan: &mut Plan) {
    assign_frees(plan);
    let slot_shape = plan.slot_shapes();
    let mut fetched = vec![false; plan.num_slots];
    for &f in &plan.fetches {
        fetched[f] = true;
    }
    let mut buffers: Vec<Buffer> = Vec::new();
    // Free buffers with the static shape of their last occupant.
    let mut free: Vec<(usize, Shape)> = Vec::new();
    let mut buffer_of_slot: Vec<Option<usize>> = vec![None; plan.num_slots];
    let mut shape_of_slot: Vec<Shape> = vec![Shape::scalar(); plan.num_slots];
    // Live slots in each buffer (more than one while an alias lives).
    let mut live: Vec<usize> = Vec::new();
    for step in &mut plan.steps {
        step.buffer = None;
        let has_slot = step.output < plan.num_slots;
        let shares_input = has_slot && !fetched[step.output] && passes_input_on(step, &slot_shape);
        let input_buffer = step.inputs.first().and_then(|&s| buffer_of_slot[s]);
        if let Some(b) = input_buffer.filter(|_| shares_input) {
            // The output is the input: the same buffer, live until both are dead.
            buffers[b].aliased = true;
            buffers[b].occupants += 1;
            live[b] += 1;
            buffer_of_slot[step.output] = Some(b);
            shape_of_slot[step.output] = step.shape.clone();
        } else if has_slot && writes_fresh_output(step) && !fetched[step.output] {
            let b = pick(&buffers, &free, step.dtype, &step.shape);
            let (known, unknown) = size_of(&step.shape);
            let b = match b {
                Some(i) => {
                    let (b, _) = free.remove(i);
                    let buf = &mut buffers[b];
                    // The buffer holds the larger of its occupants.
                    if (unknown, known) > (buf.unknown, buf.known) {
                        buf.known = known;
                        buf.unknown = unknown;
                    }
                    buf.occupants += 1;
                    b
                }
                None => {
                    buffers.push(Buffer {
                        dtype: step.dtype,
                        known,
                        unknown,
                        occupants: 1,
                        aliased: false,
                    });
                    live.push(0);
                    buffers.len() - 1
                }
            };
            live[b] += 1;
            step.buffer = Some(b);
            buffer_of_slot[step.output] = Some(b);
            shape_of_slot[step.output] = step.shape.clone();
        }
        // The slots dying here free their buffers for the steps after this one (never for this
        // step's own output: its inputs are read while it is written).
        for &s in &step.frees {
            if let Some(b) = buffer_of_slot[s] {
                live[b] -= 1;
                let shape = std::mem::replace(&mut shape_of_slot[s], Shape::scalar());
                if live[b] == 0 {
                    free.push((b, shape));
                }
            }
        }
    }
    plan.buffer_of_slot = buffer_of_slot;
    plan.buffers = buffers;
}

/// Multiply-adds (matmul heads) or elements (elementwise) a step works through, as far as
/// static shapes tell; `None` when unknown.
pub fn work(step: &Step, slot_shape: &[Option<Vec<usize>>]) -> Option<usize> {
    use crate::passes::fusion::Head;
    let out = step.shape.num_elements()?;
    let matmul = match (&step.op, step.fused.as_ref().and_then(|p| p.head)) {
        (_, Some(Head::MatMul { transpose_a, .. })) => Some(transpose_a),
        (Op::MatMul { transpose_a, .. }, None) => Some(*transpose_a),
        _ => None,
    };
    match matmul {
        Some(ta) => {
            let a = slot_shape.get(*step.inputs.first()?)?.as_ref()?;
            let k = if ta { a.first()? } else { a.get(1)? };
            Some(out.saturating_mul(*k))
        }
        None => Some(out),
    }
}

/// Work below which a step runs inline rather than beside others: a thread handoff costs
/// more than such a step.
const CONCURRENT_WORK: usize = 1 << 18;

/// Whether a step is pure and big enough to be worth running beside another.
pub fn runs_beside_others(step: &Step, slot_shape: &[Option<Vec<usize>>]) -> bool {
    writes_fresh_output(step)
        && !step.op.is_stateful()
        && work(step, slot_shape).is_some_and(|w| w >= CONCURRENT_WORK)
}

/// The most steps one group holds.
const MAX_GROUP: usize = 4;

/// The least work (multiply-adds, or elements in or out) of a step worth running beside another
/// on the companion thread: a hand-over costs ~0.15 µs, and a step of a few hundred elements
/// (W1's bias gradients, a sum of 500 rows) took 0.6 µs.
const PAIR_WORK: usize = 256;

/// The most work of a step run beside another on the companion: past it, kernels split
/// themselves (fused elementwise steps into blocks from 2^16 elements on).
const PAIR_WORK_MAX: usize = 1 << 16;

/// The most output rows of a matmul step run beside another on the companion: narrow products
/// with more share their own rows with it once they are worth it (`kernels/matmul.rs`), which
/// pays more.
const PAIR_ROWS_MAX: usize = 32;

/// Whether a step is pure, small and not split by its own kernel, yet big enough to be worth
/// running on the companion thread beside another such step (W1's bias and weight gradients).
pub fn pairs_beside_others(step: &Step, slot_shape: &[Option<Vec<usize>>]) -> bool {
    pair_work(step, slot_shape).is_some()
}

/// The work of a step that `pairs_beside_others` (multiply-adds, or elements in or out), or
/// `None` for a step that does not.
fn pair_work(step: &Step, slot_shape: &[Option<Vec<usize>>]) -> Option<usize> {
    use crate::passes::fusion::Head;
    // A step that hands its input on shares that input's buffer; the sequential path passes it
    // along where a pair would copy it.
    if !writes_fresh_output(step) || step.op.is_stateful() || passes_input_on(step, slot_shape) {
        return None;
    }
    let matmul = matches!(step.op, Op::MatMul { .. })
        || matches!(
            step.fused.as_ref().and_then(|p| p.head),
            Some(Head::MatMul { .. })
        );
    let work = work(step, slot_shape)?;
    // A reduction's work is in its input.
    let read = step
        .inputs
        .iter()
        .filter_map(|&s| slot_shape.get(s)?.as_ref())
        .map(|shape| shape.iter().product::<usize>())
        .max()
        .unwrap_or(0);
    let work = work.max(if matmul { 0 } else { read });
    let rows = step.shape.dims().first().and_then(|d| d.known());
    let pairs = (PAIR_WORK..PAIR_WORK_MAX).contains(&work)
        && (!matmul || rows.is_some_and(|r| r < PAIR_ROWS_MAX));
    pairs.then_some(work)
}

/// Marks pairs of consecutive small steps (`pairs_beside_others`) outside the groups that do
/// not depend on each other: the second does not read the first's output, and does not write
/// a buffer that a slot dying at the first gave back (the executor releases a pair's dead slots
/// only after both ran). A second step with more work than the first leads its pair
/// (`Step::leads_pair`): the calling thread runs it, so it does not wait for the companion.
pub fn mark_pairs(plan: &mut Plan) {
    let slot_shape = plan.slot_shapes();
    let mut freed_at: Vec<Option<usize>> = vec![None; plan.buffers.len()];
    let mut previous_pairs = false;
    for k in 0..plan.steps.len() {
        let works = if k > 0 && !previous_pairs {
            pair_works(plan, k, &freed_at, &slot_shape)
        } else {
            None
        };
        let pairs = works.is_some();
        let leads = works.is_some_and(|(first, second)| second > first);
        previous_pairs = pairs;
        let step = &mut plan.steps[k];
        step.pairs_with_previous = pairs;
        step.leads_pair = leads;
        for &s in &step.frees {
            if let Some(b) = plan.buffer_of_slot[s] {
                freed_at[b] = Some(k);
            }
        }
    }
}

/// The work of steps `k - 1` and `k` when the two may run as a pair (see `mark_pairs`), with
/// `freed_at` holding the step after which each buffer was last given back, up to `k - 1`.
fn pair_works(
    plan: &Plan,
    k: usize,
    freed_at: &[Option<usize>],
    slot_shape: &[Option<Vec<usize>>],
) -> Option<(usize, usize)> {
    let (first, step) = (&plan.steps[k - 1], &plan.steps[k]);
    let grouped = first.joins_previous
        || step.joins_previous
        || plan.steps.get(k + 1).is_some_and(|s| s.joins_previous);
    let independent = !step.inputs.contains(&first.output)
        && step
            .buffer
            .is_none_or(|b| freed_at[b].is_none_or(|at| at + 1 < k));
    if grouped || !independent {
        return None;
    }
    Some((pair_work(first, slot_shape)?, pair_work(step, slot_shape)?))
}

/// Marks runs of consecutive big pure steps that do not depend on each other: none reads
/// another's output, and none writes a buffer that a slot dying inside the group gave back (the
/// executor releases a group's dead slots only after all of it ran).
pub fn mark_concurrent_groups(plan: &mut Plan) {
    let slot_shape = plan.slot_shapes();
    // The step after which each buffer was last given back.
    let mut freed_at: Vec<Option<usize>> = vec![None; plan.buffers.len()];
    let mut group_start = 0;
    let mut group_outputs: Vec<usize> = Vec::new();
    for k in 0..plan.steps.len() {
        let step = &plan.steps[k];
        let big = runs_beside_others(step, &slot_shape);
        let joins = big
            && !group_outputs.is_empty()
            && group_outputs.len() < MAX_GROUP
            && !step.inputs.iter().any(|s| group_outputs.contains(s))
            && step
                .buffer
                .is_none_or(|b| freed_at[b].is_none_or(|at| at < group_start));
        if !joins {
            group_start = k;
            group_outputs.clear();
        }
        if big {
            group_outputs.push(step.output);
        } else {
            // A small step closes the group: it runs on its own.
            group_outputs.clear();
        }
        let step = &mut plan.steps[k];
        step.joins_previous = joins;
        for &s in &step.frees {
            if let Some(b) = plan.buffer_of_slot[s] {
                freed_at[b] = Some(k);
            }
        }
    }
}

/// The free buffer a new occupant of `dtype` and `shape` should take, as an index into `free`.
fn pick(buffers: &[Buffer], free: &[(usize, Shape)], dtype: DType, shape: &Shape) -> Option<usize> {
    let same_dtype = || {
        free.iter()
            .enumerate()
            .filter(|(_, (b, _))| buffers[*b].dtype == dtype)
    };
    if let Some((i, _)) = same_dtype().find(|(_, (_, s))| s == shape) {
        return Some(i);
    }
    let need = size_of(shape);
    let size = |b: usize| (buffers[b].unknown, buffers[b].known);
    let big_enough = same_dtype()
        .filter(|(_, (b, _))| size(*b) >= (need.1, need.0))
        .min_by_key(|(_, (b, _))| size(*b));
    if let Some((i, _)) = big_enough {
        return Some(i);
    }
    same_dtype()
        .max_by_key(|(_, (b, _))| size(*b))
        .map(|(i, _)| i)
}

/// Liveness: each slot is freed after its last reader, unless it is fetched.
pub fn assign_frees(plan: &mut Plan) {
    let mut last_reader = vec![usize::MAX; plan.num_slots];
    for (k, step) in plan.steps.iter_mut().enumerate() {
        step.frees.clear();
        for &s in &step.inputs {
            last_reader[s] = k;
        }
    }
    for &f in &plan.fetches {
        last_reader[f] = usize::MAX;
    }
    for (slot, &k) in last_reader.iter().enumerate() {
        if k != usize::MAX && !plan.steps[k].frees.contains(&slot) {
            plan.steps[k].frees.push(slot);
        }
    }
}
