//! Elementwise fusion: chains and trees of float elementwise ops (arithmetic, comparisons,
//! casts of their masks, selects; broadcasting included) become one step that reads its inputs
//! once and writes one output, with no intermediate tensors. The fused step runs a small
//! register program over blocks of elements, calling the same scalar definitions as the
//! unfused kernels, so fusion never changes the arithmetic.
//!
//! Then a 2-D float MatMul whose only reader is such a program (or a single elementwise op),
//! with the product as a full-size operand, takes the program as its epilogue: MatMul + bias +
//! activation (and the ReLU-gradient mask, the learning-rate scale) run as one kernel that
//! applies the program to the product in place.

use crate::plan::{Plan, Step};
use rill_graph::{BinaryOp, CompareOp, DType, Op, ReduceOp, UnaryOp};
use std::sync::Arc;

/// One instruction: its operands are registers; registers `0..inputs` hold the step's inputs
/// and instruction `k` writes register `inputs + k`. Masks (comparison results, bool inputs)
/// are held as 1 and 0 in the float registers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    Unary(UnaryOp, usize),
    Binary(BinaryOp, usize, usize),
    /// 1 where the comparison holds, else 0.
    Compare(CompareOp, usize, usize),
    /// A cast of a mask (or of a float to its own type): the register's value.
    Cast(usize),
    /// The second operand where the first (a mask) is nonzero, else the third.
    Select(usize, usize, usize),
}

impl Instr {
    /// Whether any register the instruction reads satisfies `f` (without allocating, for the
    /// per-step path).
    pub fn reads_any(&self, f: impl Fn(usize) -> bool) -> bool {
        match *self {
            Instr::Unary(_, a) | Instr::Cast(a) => f(a),
            Instr::Binary(_, a, b) | Instr::Compare(_, a, b) => f(a) || f(b),
            Instr::Select(c, a, b) => f(c) || f(a) || f(b),
        }
    }

    /// The registers the instruction reads.
    pub fn operands(&self) -> Vec<usize> {
        match *self {
            Instr::Unary(_, a) | Instr::Cast(a) => vec![a],
            Instr::Binary(_, a, b) | Instr::Compare(_, a, b) => vec![a, b],
            Instr::Select(c, a, b) => vec![c, a, b],
        }
    }

    /// The same instruction reading register `f(r)` for each register `r` it read.
    pub fn renamed(self, f: impl Fn(usize) -> usize) -> Instr {
        match self {
            Instr::Unary(u, a) => Instr::Unary(u, f(a)),
            Instr::Cast(a) => Instr::Cast(f(a)),
            Instr::Binary(b, x, y) => Instr::Binary(b, f(x), f(y)),
            Instr::Compare(c, x, y) => Instr::Compare(c, f(x), f(y)),
            Instr::Select(c, x, y) => Instr::Select(f(c), f(x), f(y)),
        }
    }
}

/// What a fused step computes before its program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// Register 0 is the product of the step's first two inputs; the program's other inputs
    /// are the step's inputs after those two.
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
}

/// The program of a fused step; its result is the last instruction's. As built, instruction
/// `k` writes register `inputs + k`; `allocate_registers` then lets registers whose value is
/// dead be written again, so a long chain needs a few registers, not one per op.
#[derive(Clone, Debug, PartialEq)]
pub struct FusedProgram {
    pub inputs: usize,
    pub instrs: Vec<Instr>,
    /// The register each instruction writes (never one of its own operands).
    pub dst: Vec<usize>,
    /// Registers the program uses, inputs included.
    pub registers: usize,
    /// The names of the fused nodes, in program order (for DOT dumps and summaries).
    pub nodes: Vec<String>,
    /// The op whose result is register 0, if the program is an epilogue.
    pub head: Option<Head>,
    /// A reduction of the program's result, if the step is that reduction: the elementwise
    /// result is never stored, only accumulated.
    pub tail: Option<Tail>,
}

/// What a fused step does with its program's result instead of storing it.
#[derive(Clone, Debug, PartialEq)]
pub enum Tail {
    /// The reduction over contiguous `axes` (the order of the unfused kernel's fast path).
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
        keep_dims: bool,
    },
}

impl FusedProgram {
    /// The register holding the result.
    pub fn result(&self) -> usize {
        *self.dst.last().expect("a fused program has an instruction")
    }

    /// Gives each instruction the lowest register that holds no live value and is none of its
    /// operands (inputs keep registers `0..inputs`, loaded once per block), so the registers of
    /// a block stay in L1 however long the program is.
    pub fn allocate_registers(&mut self) {
        // Only a program as built (instruction k writing register inputs + k) is renamed.
        if self
            .dst
            .iter()
            .enumerate()
            .any(|(k, &d)| d != self.inputs + k)
        {
            return;
        }
        // In the program as built, value v >= inputs is instruction v - inputs's result.
        let values = self.inputs + self.instrs.len();
        let mut last_use = vec![0usize; values];
        for (k, i) in self.instrs.iter().enumerate() {
            for v in i.operands() {
                last_use[v] = k;
            }
        }
        let mut reg_of: Vec<usize> = (0..self.inputs).collect();
        let mut free: Vec<usize> = Vec::new();
        let mut registers = self.inputs;
        let mut dst = Vec::with_capacity(self.instrs.len());
        let mut instrs = Vec::with_capacity(self.instrs.len());
        for (k, i) in self.instrs.iter().enumerate() {
            let ops = i.operands();
            instrs.push(i.renamed(|v| reg_of[v]));
            // The destination is taken before this instruction's operands are given back.
            let d = match free.iter().enumerate().min_by_key(|(_, &f)| f) {
                Some((at, _)) => free.swap_remove(at),
                None => {
                    registers += 1;
                    registers - 1
                }
            };
            reg_of.push(d);
            dst.push(d);
            for v in ops {
                // Computed values die at their last use; inputs stay (loaded per block).
                if v >= self.inputs && last_use[v] == k && !free.contains(&reg_of[v]) {
                    free.push(reg_of[v]);
                }
            }
        }
        self.instrs = instrs;
        self.dst = dst;
        self.registers = registers;
    }

    /// `Fused[MatMul, Add, Relu]`: what the step contains, for DOT and summaries.
    pub fn label(&self) -> String {
        let mut ops: Vec<&str> = Vec::with_capacity(self.instrs.len() + 1);
        if let Some(Head::MatMul { .. }) = self.head {
            ops.push("MatMul");
        }
        ops.extend(self.instrs.iter().map(|i| match i {
            Instr::Unary(u, _) => u.type_name(),
            Instr::Binary(b, _, _) => b.type_name(),
            Instr::Compare(c, _, _) => c.type_name(),
            Instr::Cast(_) => "Cast",
            Instr::Select(..) => "Select",
        }));
        if let Some(Tail::Reduce { op, .. }) = &self.tail {
            ops.push(op.type_name());
        }
        format!("Fused[{}]", ops.join(", "))
    }
}

/// The float type a step computes in, if it can join a fused group. `slot_dtype` gives the
/// dtypes of its inputs.
fn element_type(step: &Step, slot_dtype: &[DType]) -> Option<DType> {
    if step.fused.is_some() {
        return None;
    }
    let input = |i: usize| slot_dtype[step.inputs[i]];
    let float = |t: DType| t.is_float().then_some(t);
    match step.op {
        // Integer-only concerns (division by zero) do not arise for floats.
        Op::Unary(_) | Op::Binary(_) => float(step.dtype),
        Op::Compare(_) => float(input(0)).filter(|&t| input(1) == t),
        Op::Cast { to } => match input(0) {
            DType::Bool => float(to),
            from if from == to => float(to),
            _ => None,
        },
        Op::Select => float(step.dtype).filter(|_| input(0) == DType::Bool),
        _ => None,
    }
}

/// Whether two steps' outputs have one shape, known in full.
fn same_known_shape(a: &Step, b: &Step) -> bool {
    a.shape
        .to_known()
        .is_some_and(|s| Some(s) == b.shape.to_known())
}

/// Fuses the plan's elementwise groups in place, then gives matmuls their epilogues. Returns
/// the number of steps removed.
pub fn fuse(plan: &mut Plan) -> usize {
    let n = plan.steps.len();
    let mut slot_dtype = vec![DType::F32; plan.num_slots];
    for f in &plan.feeds {
        slot_dtype[f.slot] = f.dtype;
    }
    for step in &plan.steps {
        if let Some(d) = slot_dtype.get_mut(step.output) {
            *d = step.dtype;
        }
    }
    let usage = Usage::of(plan);
    let elem: Vec<Option<DType>> = plan
        .steps
        .iter()
        .map(|s| element_type(s, &slot_dtype))
        .collect();
    // Group each fusible step with the fusible producers only it reads (same element type, not
    // fetched): trees rooted at their last step.
    let mut merged_into: Vec<Option<usize>> = vec![None; n];
    // Whether a step's tree holds an op whose arithmetic depends on the element's position in
    // its tensor (`UnaryOp::takes_tail_form`): such a tree joins its consumer only where both
    // have the same known shape, so the fused kernel's positions are the op's own.
    let mut positional: Vec<bool> = plan
        .steps
        .iter()
        .map(|s| matches!(s.op, Op::Unary(u) if u.takes_tail_form()))
        .collect();
    for k in 0..n {
        let Some(t) = elem[k] else { continue };
        for &s in &plan.steps[k].inputs {
            let p = usage.producer[s];
            if p != usize::MAX
                && usage.single_reader(s)
                && elem[p] == Some(t)
                && (!positional[p] || same_known_shape(&plan.steps[p], &plan.steps[k]))
            {
                merged_into[p] = Some(k);
                positional[k] |= positional[p];
            }
        }
    }
    // The root of each step's group: follow merged_into to the end.
    let mut group_of: Vec<usize> = (0..n).collect();
    for k in (0..n).rev() {
        if let Some(parent) = merged_into[k] {
            group_of[k] = group_of[parent];
        }
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for k in 0..n {
        members[group_of[k]].push(k);
    }
    let mut keep = vec![true; n];
    for (root, group) in members.iter().enumerate() {
        // A group's result is a float tensor: a comparison cannot end one.
        if group.len() < 2 || plan.steps[root].dtype == DType::Bool {
            continue;
        }
        let (inputs, program) = build_program(plan, group);
        for &m in group.iter().filter(|&&m| m != root) {
            keep[m] = false;
        }
        let step = &mut plan.steps[root];
        step.inputs = inputs;
        step.fused = Some(Arc::new(program));
    }
    let removed = retain(plan, &keep);
    let removed = removed
        + fuse_matmul_epilogues(plan, &slot_dtype)
        + fuse_into_reductions(plan, &slot_dtype);
    for step in &mut plan.steps {
        if let Some(p) = &mut step.fused {
            Arc::make_mut(p).allocate_registers();
        }
    }
    removed
}

/// Elements below which a reduction is not worth fusing (the saved tensor is tiny).
const REDUCE_MIN_ELEMENTS: usize = 256;

/// Gives each float reduction over contiguous axes whose input only it reads, made by a fused
/// step or a lone elementwise op of known shape, that program: the elementwise result is then
/// accumulated block by block and never stored.
fn fuse_into_reductions(plan: &mut Plan, slot_dtype: &[DType]) -> usize {
    let usage = Usage::of(plan);
    let n = plan.steps.len();
    let mut keep = vec![true; n];
    for k in 0..n {
        let step = &plan.steps[k];
        let Op::Reduce {
            op,
            ref axes,
            keep_dims,
        } = step.op
        else {
            continue;
        };
        let contiguous = axes.windows(2).all(|w| w[1] == w[0] + 1) && !axes.is_empty();
        if step.fused.is_some() || !step.dtype.is_float() || !contiguous {
            continue;
        }
        let s = step.inputs[0];
        let p = usage.producer[s];
        if p == usize::MAX || !keep[p] || !usage.single_reader(s) {
            continue;
        }
        let producer = &plan.steps[p];
        if producer
            .shape
            .num_elements()
            .is_none_or(|e| e < REDUCE_MIN_ELEMENTS)
        {
            continue;
        }
        let Some((inputs, program)) = plain_program(producer, slot_dtype) else {
            continue;
        };
        let mut nodes = program.nodes.clone();
        nodes.push(step.name.clone());
        let tail = Tail::Reduce {
            op,
            axes: axes.clone(),
            keep_dims,
        };
        let step = &mut plan.steps[k];
        step.inputs = inputs;
        step.fused = Some(Arc::new(FusedProgram {
            nodes,
            tail: Some(tail),
            ..program
        }));
        keep[p] = false;
    }
    retain(plan, &keep)
}

/// Readers and producers of the plan's slots.
struct Usage {
    readers: Vec<usize>,
    fetched: Vec<bool>,
    producer: Vec<usize>,
}

impl Usage {
    fn of(plan: &Plan) -> Usage {
        let mut readers = vec![0usize; plan.num_slots];
        for step in &plan.steps {
            for &s in &step.inputs {
                readers[s] += 1;
            }
        }
        let mut fetched = vec![false; plan.num_slots];
        for &f in &plan.fetches {
            fetched[f] = true;
        }
        let mut producer = vec![usize::MAX; plan.num_slots];
        for (k, step) in plan.steps.iter().enumerate() {
            // Steps without output (NoOp) have no slot.
            if let Some(p) = producer.get_mut(step.output) {
                *p = k;
            }
        }
        Usage {
            readers,
            fetched,
            producer,
        }
    }

    /// Read by exactly one step (once) and not fetched: its value can live inside that step.
    fn single_reader(&self, slot: usize) -> bool {
        self.readers[slot] == 1 && !self.fetched[slot]
    }
}

fn retain(plan: &mut Plan, keep: &[bool]) -> usize {
    let mut k = 0;
    plan.steps.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    keep.iter().filter(|&&x| !x).count()
}

/// Gives each 2-D float MatMul read only by a fused step (or a single float elementwise op),
/// as a full-size operand of the same shape, that step's program as an epilogue.
fn fuse_matmul_epilogues(plan: &mut Plan, slot_dtype: &[DType]) -> usize {
    let usage = Usage::of(plan);
    let n = plan.steps.len();
    let mut keep = vec![true; n];
    for k in 0..n {
        let consumer = &plan.steps[k];
        let Some((operands, program)) = plain_program(consumer, slot_dtype) else {
            continue;
        };
        // The product must be an operand of the output's own shape, read by nothing else.
        let Some(pos) = operands.iter().position(|&s| {
            let p = usage.producer[s];
            p != usize::MAX
                && keep[p]
                && usage.single_reader(s)
                && is_plain_matmul(&plan.steps[p], consumer)
        }) else {
            continue;
        };
        let p = usage.producer[operands[pos]];
        let Op::MatMul {
            transpose_a,
            transpose_b,
        } = plan.steps[p].op
        else {
            unreachable!("is_plain_matmul checked the op")
        };
        let mut inputs = plan.steps[p].inputs.clone();
        inputs.extend(
            operands
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != pos)
                .map(|(_, &s)| s),
        );
        let mut nodes = vec![plan.steps[p].name.clone()];
        nodes.extend(program.nodes.iter().cloned());
        let program = FusedProgram {
            nodes,
            head: Some(Head::MatMul {
                transpose_a,
                transpose_b,
            }),
            ..with_first_register(program, pos)
        };
        let consumer = &mut plan.steps[k];
        consumer.inputs = inputs;
        consumer.fused = Some(Arc::new(program));
        keep[p] = false;
    }
    retain(plan, &keep)
}

/// A matmul of two 2-D float matrices whose product has `consumer`'s shape and dtype.
fn is_plain_matmul(step: &Step, consumer: &Step) -> bool {
    matches!(step.op, Op::MatMul { .. })
        && step.fused.is_none()
        && step.dtype.is_float()
        && step.dtype == consumer.dtype
        && step.shape.rank() == 2
        && step.shape.to_known().is_some()
        && step.shape == consumer.shape
}

/// The input slots and elementwise program of a step: its fused program if it has neither
/// head nor tail, or a one-instruction program of a lone float elementwise op.
fn plain_program(step: &Step, slot_dtype: &[DType]) -> Option<(Vec<usize>, FusedProgram)> {
    match &step.fused {
        Some(p) if p.head.is_none() && p.tail.is_none() => {
            Some((step.inputs.clone(), (**p).clone()))
        }
        Some(_) => None,
        None => single_op_program(step, slot_dtype),
    }
}

/// The input slots and one-instruction program of a lone float elementwise step.
fn single_op_program(step: &Step, slot_dtype: &[DType]) -> Option<(Vec<usize>, FusedProgram)> {
    if element_type(step, slot_dtype).is_none() || step.dtype == DType::Bool {
        return None;
    }
    Some(build_program_of(std::slice::from_ref(step)))
}

/// The same program with input register `pos` moved to register 0 (the others keep their
/// order after it).
fn with_first_register(program: FusedProgram, pos: usize) -> FusedProgram {
    let map = |r: usize| {
        if r == pos {
            0
        } else if r < pos {
            r + 1
        } else {
            r
        }
    };
    let instrs = program.instrs.iter().map(|i| i.renamed(map)).collect();
    FusedProgram { instrs, ..program }
}

/// The external input slots and the program of a group (member step indices, in plan order).
fn build_program(plan: &Plan, group: &[usize]) -> (Vec<usize>, FusedProgram) {
    let steps: Vec<Step> = group.iter().map(|&m| plan.steps[m].clone()).collect();
    build_program_of(&steps)
}

/// The external input slots and the program of steps in plan order, the last one the result.
fn build_program_of(steps: &[Step]) -> (Vec<usize>, FusedProgram) {
    let inside: Vec<usize> = steps.iter().map(|s| s.output).collect();
    let mut inputs: Vec<usize> = Vec::new();
    for step in steps {
        for &s in &step.inputs {
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
    let mut instrs = Vec::with_capacity(steps.len());
    let mut nodes = Vec::with_capacity(steps.len());
    for step in steps {
        let r = |i: usize| reg_of(step.inputs[i], &done);
        instrs.push(match step.op {
            Op::Unary(u) => Instr::Unary(u, r(0)),
            Op::Binary(b) => Instr::Binary(b, r(0), r(1)),
            Op::Compare(c) => Instr::Compare(c, r(0), r(1)),
            Op::Cast { .. } => Instr::Cast(r(0)),
            Op::Select => Instr::Select(r(0), r(1), r(2)),
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
            dst: (n_inputs..n_inputs + instrs.len()).collect(),
            registers: n_inputs + instrs.len(),
            instrs,
            nodes,
            head: None,
            tail: None,
        },
    )
}
