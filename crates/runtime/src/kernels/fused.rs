//! The fused elementwise kernel: runs a `FusedProgram` over blocks of the broadcast output, so
//! intermediates live in small register buffers instead of whole tensors.

use super::elementwise::{broadcast_shape, pattern, Pattern};
use super::scalar::{self, Real};
use super::{KResult, OutBuf};
use crate::parallel::Parallel;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;
use rill_compiler::passes::fusion::{FusedProgram, Instr};
use rill_graph::{BinaryOp, UnaryOp, Value};

/// Elements per block: the registers of a block stay in L1.
const BLOCK: usize = 512;

/// Outputs of at least this many elements are split across the session's pool.
const PARALLEL_ELEMENTS: usize = 1 << 16;

pub fn run(
    program: &FusedProgram,
    inputs: &[&Value],
    parallel: &Parallel,
    out: &mut OutBuf,
) -> KResult {
    match inputs.first() {
        Some(Value::F32(_)) => Ok(Value::F32(typed::<f32>(program, inputs, parallel, out)?)),
        Some(Value::F64(_)) => Ok(Value::F64(typed::<f64>(program, inputs, parallel, out)?)),
        other => Err(format!(
            "fused kernels take floats, got {:?}",
            other.map(|v| v.dtype())
        )),
    }
}

/// An input as the block loop reads it.
struct Operand<'a, T> {
    data: &'a [T],
    pattern: Pattern,
    /// Row: the row length; Column: the output elements per input element.
    period: usize,
}

fn typed<T: Real>(
    program: &FusedProgram,
    inputs: &[&Value],
    parallel: &Parallel,
    buf: &mut OutBuf,
) -> Result<ArrayD<T>, String> {
    let arrays: Vec<ArrayViewD<'_, T>> = inputs
        .iter()
        .map(|v| T::view(v).ok_or_else(|| format!("mixed dtypes in a fused kernel: {}", v.dtype())))
        .collect::<Result<_, _>>()?;
    let mut shape: Vec<usize> = Vec::new();
    for a in &arrays {
        shape = broadcast_shape(&shape, a.shape())?;
    }
    let n: usize = shape.iter().product();
    // Inputs in an uncommon layout are broadcast into a full copy first.
    let mut owned: Vec<Vec<T>> = Vec::new();
    let mut plans: Vec<(Option<usize>, Pattern, usize)> = Vec::with_capacity(arrays.len());
    for a in &arrays {
        let fast = a
            .as_slice()
            .and_then(|xs| pattern(a.shape(), xs.len(), &shape, n));
        match fast {
            Some(p) => {
                let period = match p {
                    Pattern::Row => a.len(),
                    Pattern::Column => n / a.len().max(1),
                    _ => 1,
                };
                plans.push((None, p, period));
            }
            None => {
                let view = a
                    .broadcast(IxDyn(&shape))
                    .ok_or_else(|| format!("Incompatible shapes: {:?} vs. {shape:?}", a.shape()))?;
                owned.push(view.iter().copied().collect());
                plans.push((Some(owned.len() - 1), Pattern::Full, 1));
            }
        }
    }
    let operands: Vec<Operand<'_, T>> = arrays
        .iter()
        .zip(&plans)
        .map(|(a, &(copy, pattern, period))| Operand {
            data: match copy {
                Some(i) => &owned[i],
                None => a.as_slice().expect("contiguous"),
            },
            pattern,
            period,
        })
        .collect();
    let mut out: Vec<T> = buf.filled(n, <T as scalar::Num>::zero());
    if n >= PARALLEL_ELEMENTS && parallel.threads() > 1 {
        // Each piece runs the same blocks it would run alone: results do not depend on the split.
        let piece = (n / parallel.threads()).div_ceil(BLOCK) * BLOCK;
        parallel.run(|| {
            out.par_chunks_mut(piece)
                .enumerate()
                .for_each(|(i, chunk)| eval_range(program, &operands, i * piece, chunk));
        });
    } else {
        eval_range(program, &operands, 0, &mut out);
    }
    ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| e.to_string())
}

/// Evaluates the program for output elements `start..start + out.len()`, block by block.
fn eval_range<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    start: usize,
    out: &mut [T],
) {
    let regs = program.inputs + program.instrs.len();
    // Registers as long as a block, or as the whole range when it is shorter (small tensors
    // through long chains need no megabytes of registers).
    let block = BLOCK.min(out.len()).max(1);
    let mut bank = vec![<T as scalar::Num>::zero(); regs * block];
    for (b, chunk) in out.chunks_mut(block).enumerate() {
        let len = chunk.len();
        let at = start + b * block;
        for (i, op) in operands.iter().enumerate() {
            load(op, at, &mut bank[i * block..i * block + len]);
        }
        for (k, instr) in program.instrs.iter().enumerate() {
            let dst = program.inputs + k;
            // Split the bank so the destination can be written while sources are read.
            let (before, rest) = bank.split_at_mut(dst * block);
            let d = &mut rest[..len];
            match *instr {
                Instr::Unary(op, a) => unary(op, &before[a * block..a * block + len], d),
                Instr::Binary(op, a, b) => binary(
                    op,
                    &before[a * block..a * block + len],
                    &before[b * block..b * block + len],
                    d,
                ),
            }
        }
        let last = (regs - 1) * block;
        chunk.copy_from_slice(&bank[last..last + len]);
    }
}

/// Copies the operand's elements for output positions `start..start + dst.len()`.
fn load<T: Copy>(op: &Operand<'_, T>, start: usize, dst: &mut [T]) {
    match op.pattern {
        Pattern::Full => dst.copy_from_slice(&op.data[start..start + dst.len()]),
        Pattern::Scalar => dst.fill(op.data[0]),
        // Runs of consecutive elements, copied or filled whole rather than indexed one by one.
        Pattern::Row => {
            let (r, mut pos, mut j) = (op.period, start % op.period, 0);
            while j < dst.len() {
                let take = (r - pos).min(dst.len() - j);
                dst[j..j + take].copy_from_slice(&op.data[pos..pos + take]);
                j += take;
                pos = 0;
            }
        }
        Pattern::Column => {
            let q = op.period;
            let (mut idx, mut off, mut j) = (start / q, start % q, 0);
            while j < dst.len() {
                let take = (q - off).min(dst.len() - j);
                dst[j..j + take].fill(op.data[idx]);
                j += take;
                idx += 1;
                off = 0;
            }
        }
    }
}

fn unary<T: Real>(op: UnaryOp, a: &[T], d: &mut [T]) {
    use UnaryOp as U;
    macro_rules! each {
        ($op:expr) => {
            for (d, &x) in d.iter_mut().zip(a) {
                *d = scalar::unary($op, x);
            }
        };
    }
    // The op is fixed inside each loop so the scalar definition's match folds away.
    match op {
        U::Neg => each!(U::Neg),
        U::Abs => each!(U::Abs),
        U::Sign => each!(U::Sign),
        U::Square => each!(U::Square),
        U::Exp => each!(U::Exp),
        U::Log => each!(U::Log),
        U::Sqrt => each!(U::Sqrt),
        U::Rsqrt => each!(U::Rsqrt),
        U::Sin => each!(U::Sin),
        U::Cos => each!(U::Cos),
        U::Tanh => each!(U::Tanh),
        U::Sigmoid => each!(U::Sigmoid),
        U::Relu => each!(U::Relu),
        U::LeakyRelu { alpha } => each!(U::LeakyRelu { alpha }),
        U::Elu { alpha } => each!(U::Elu { alpha }),
        U::Softplus => each!(U::Softplus),
    }
}

fn binary<T: Real>(op: BinaryOp, a: &[T], b: &[T], d: &mut [T]) {
    use BinaryOp as B;
    macro_rules! each {
        ($op:expr) => {
            for ((d, &x), &y) in d.iter_mut().zip(a).zip(b) {
                *d = scalar::binary($op, x, y);
            }
        };
    }
    match op {
        B::Add => each!(B::Add),
        B::Sub => each!(B::Sub),
        B::Mul => each!(B::Mul),
        B::Div => each!(B::Div),
        B::Maximum => each!(B::Maximum),
        B::Minimum => each!(B::Minimum),
        B::Pow => {
            for ((d, &x), &y) in d.iter_mut().zip(a).zip(b) {
                *d = scalar::pow(x, y);
            }
        }
    }
}
