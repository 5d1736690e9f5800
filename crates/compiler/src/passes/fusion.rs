//! Elementwise fusion: chains and trees of float unary and binary ops (broadcasting included)
//! become one step that reads its inputs once and writes one output, with no intermediate
//! tensors. The fused step runs a small register program over blocks of elements, calling the
//! same scalar definitions as the unfused kernels, so fusion never changes the arithmetic.

use crate::plan::{Plan, Step};
use rill_graph::{BinaryOp, Op, UnaryOp};
use std::sync::Arc;

/// One instruction: its operands are registers; registers `0..inputs` hold the step's inputs
/// and instruction `k` writes register `inputs + k`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    Unary(UnaryOp, usize),
    Binary(BinaryOp, usize, usize),
}

/// The program of a fused step; its result is the last register.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedProgram {
    pub inputs: usize,
    pub instrs: Vec<Instr>,
    /// The names of the fused nodes, in program order (for DOT dumps and summaries).
    pub nodes: Vec<String>,
}

impl FusedProgram {
    /// `Fused[Mul, Sub, Sigmoid]`: what the step contains, for DOT and summaries.
    pub fn label(&self) -> String {
        let ops: Vec<&str> = self
            .instrs
            .iter()
            .map(|i| match i {
                Instr::Unary(u, _) => u.type_name(),
                Instr::Binary(b, _, _) => b.type_name(),
            })
            .collect();
        format!("Fused[{}]", ops.join(", "))
    }
}

/// Whether a step can join a fused group.
fn fusible(step: &Step) -> bool {
    step.fused.is_none()
        && step.dtype.is_float()
        && match step.op {
            Op::Unary(_) => true,
            // Integer-only concerns (division by zero) do not arise for floats.
            Op::Binary(_) => true,
            _ => false,
        }
}

/// Fuses the plan's elementwise groups in place. Returns the number of steps removed.
pub fn fuse(plan: &mut Plan) -> usize {
    let n = plan.steps.len();
    // Who reads each slot, and is it fetched?
    let mut readers = vec![0usize; plan.num_slots];
    for step in &plan.steps {
        for &s in &step.inputs {
            readers[s] += 1;
        }
    }
    let mut pinned = vec![false; plan.num_slots];
    for &f in &plan.fetches {
        pinned[f] = true;
    }
    let mut producer = vec![usize::MAX; plan.num_slots];
    for (k, step) in plan.steps.iter().enumerate() {
        // Steps without output (NoOp) have no slot.
        if let Some(p) = producer.get_mut(step.output) {
            *p = k;
        }
    }
    // Group each fusible step with the fusible producers only it reads (same dtype, not
    // fetched): trees rooted at their last step.
    let mut group_of: Vec<usize> = (0..n).collect();
    let mut merged_into: Vec<Option<usize>> = vec![None; n];
    for k in 0..n {
        if !fusible(&plan.steps[k]) {
            continue;
        }
        for &s in &plan.steps[k].inputs {
            let p = producer[s];
            if p != usize::MAX
                && readers[s] == 1
                && !pinned[s]
                && fusible(&plan.steps[p])
                && plan.steps[p].dtype == plan.steps[k].dtype
            {
                merged_into[p] = Some(k);
            }
        }
    }
    // The root of each step's group: follow merged_into to the end.
    for k in (0..n).rev() {
        if let Some(parent) = merged_into[k] {
            group_of[k] = group_of[parent];
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for k in 0..n {
        members[group_of[k]].push(k);
    }
    let mut removed = 0;
    let mut keep = vec![true; n];
    for (root, group) in members.iter().enumerate() {
        if group.len() < 2 {
            continue;
        }
        let program = build_program(plan, group);
        let (inputs, program) = program;
        for &m in group.iter().filter(|&&m| m != root) {
            keep[m] = false;
            removed += 1;
        }
        let step = &mut plan.steps[root];
        step.inputs = inputs;
        step.fused = Some(Arc::new(program));
    }
    let mut k = 0;
    plan.steps.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    removed
}

/// The external input slots and the program of a group (member step indices, in plan order).
fn build_program(plan: &Plan, group: &[usize]) -> (Vec<usize>, FusedProgram) {
    let inside: Vec<usize> = group.iter().map(|&m| plan.steps[m].output).collect();
    let mut inputs: Vec<usize> = Vec::new();
    for &m in group {
        for &s in &plan.steps[m].inputs {
            if !inside.contains(&s) && !inputs.contains(&s) {
                inputs.push(s);
            }
        }
    }
    let reg_of = |slot: usize, done: &[usize]| -> usize {
        match inputs.iter().position(|&s| s == slot) {
            Some(i) => i,
            None => {
                inputs.len()
                    + done
                        .iter()
                        .position(|&s| s == slot)
                        .expect("produced earlier in the group")
            }
        }
    };
    let mut done: Vec<usize> = Vec::new();
    let mut instrs = Vec::with_capacity(group.len());
    let mut nodes = Vec::with_capacity(group.len());
    for &m in group {
        let step = &plan.steps[m];
        let r = |i: usize| reg_of(step.inputs[i], &done);
        instrs.push(match step.op {
            Op::Unary(u) => Instr::Unary(u, r(0)),
            Op::Binary(b) => Instr::Binary(b, r(0), r(1)),
            _ => unreachable!("only fusible steps are grouped"),
        });
        nodes.push(step.name.clone());
        done.push(step.output);
    }
    let n_inputs = inputs.len();
    (
        inputs,
        FusedProgram {
            inputs: n_inputs,
            instrs,
            nodes,
        },
    )
}
