//! The fused elementwise kernel: runs a `FusedProgram` over blocks of the broadcast output, so
//! intermediates live in small register buffers instead of whole tensors.

use super::accumulate::{self, Slab};
use super::elementwise::{pattern, Pattern};
use super::scalar::{self, Real};
use super::slices::{self, binary, unary};
use super::{KResult, OutBuf};
use crate::parallel::Parallel;
use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;
use rill_compiler::passes::fusion::{FusedProgram, Head, Instr, Tail};
use rill_graph::{CompareOp, DType, ReduceOp, Value};
use smallvec::SmallVec;

/// Elements per block: the registers of a block stay in L1.
const BLOCK: usize = 512;

/// Outputs of at least this many elements are split across the session's pool.
pub(crate) const PARALLEL_ELEMENTS: usize = 1 << 16;

/// Runs a fused step whose result has float type `dtype` (its inputs are of that type, or
/// bool masks).
pub fn run(
    program: &FusedProgram,
    dtype: DType,
    inputs: &[&Value],
    parallel: &Parallel,
    out: &mut OutBuf,
) -> KResult {
    match dtype {
        DType::F32 => Ok(Value::F32(typed::<f32>(program, inputs, parallel, out)?)),
        DType::F64 => Ok(Value::F64(typed::<f64>(program, inputs, parallel, out)?)),
        other => Err(format!("fused kernels compute floats, not {other}")),
    }
}

/// Where an operand's elements come from.
enum Data<'a, T> {
    Float(&'a [T]),
    /// A bool mask, read as 1 and 0.
    Mask(&'a [bool]),
    /// The output itself (the product a matmul head wrote), read before it is overwritten.
    Output,
}

/// An input as the block loop reads it.
struct Operand<'a, T> {
    data: Data<'a, T>,
    pattern: Pattern,
    /// Row: the row length; Column: the output elements per input element.
    period: usize,
}

/// An input viewed for the kernel: floats of the kernel's type or a mask.
enum View<'a, T> {
    Float(ArrayViewD<'a, T>),
    Mask(ArrayViewD<'a, bool>),
}

impl<T> View<'_, T> {
    fn shape(&self) -> &[usize] {
        match self {
            View::Float(a) => a.shape(),
            View::Mask(a) => a.shape(),
        }
    }
}

fn typed<T: Real>(
    program: &FusedProgram,
    inputs: &[&Value],
    parallel: &Parallel,
    buf: &mut OutBuf,
) -> Result<ArrayD<T>, String> {
    let mut out: Vec<T> = buf.vec(0);
    // A matmul head writes its product into the output first; the program then reads it as
    // its register 0 and overwrites it block by block.
    let (head, rest) = match program.head {
        Some(Head::MatMul {
            transpose_a,
            transpose_b,
        }) => {
            let (Some(a), Some(b)) = (T::array(inputs[0]), T::array(inputs[1])) else {
                return Err("mixed dtypes in a fused matmul".to_string());
            };
            (Some((a, b, transpose_a, transpose_b)), &inputs[2..])
        }
        None => (None, inputs),
    };
    let mut views: SmallVec<[View<'_, T>; 6]> = SmallVec::new();
    for v in rest {
        views.push(match (T::view(v), v) {
            (Some(a), _) => View::Float(a),
            (None, Value::Bool(m)) => View::Mask(m.view()),
            (None, other) => {
                return Err(format!("mixed dtypes in a fused kernel: {}", other.dtype()))
            }
        });
    }
    let mut shape: SmallVec<[usize; 6]> = SmallVec::new();
    if let Some((a, b, ta, tb)) = head {
        let (m, n) = super::matmul::product_shape(a, b, ta, tb)?;
        shape.extend([m, n]);
    }
    let product_len = super::element_count(&shape)?;
    for v in &views {
        broadcast_into(&mut shape, v.shape())?;
    }
    let n = super::element_count(&shape)?;
    if head.is_some() && n != product_len {
        return Err(format!(
            "the matmul's product has {product_len} elements but the fused output {shape:?} has {n}"
        ));
    }
    // Inputs in an uncommon layout are broadcast into a full copy first.
    let mut owned: SmallVec<[Vec<T>; 2]> = SmallVec::new();
    let mut plans: SmallVec<[(Option<usize>, Pattern, usize); 6]> = SmallVec::new();
    let fast_pattern = |len: usize, s: &[usize]| {
        pattern(s, len, &shape, n).map(|p| {
            let period = match p {
                Pattern::Row => len,
                Pattern::Column => n / len.max(1),
                _ => 1,
            };
            (p, period)
        })
    };
    for v in &views {
        let fast = match v {
            View::Float(a) => a
                .as_slice()
                .and_then(|xs| fast_pattern(xs.len(), a.shape())),
            View::Mask(a) => a
                .as_slice()
                .and_then(|xs| fast_pattern(xs.len(), a.shape())),
        };
        match fast {
            Some((p, period)) => plans.push((None, p, period)),
            None => {
                let bad = || format!("Incompatible shapes: {:?} vs. {shape:?}", v.shape());
                let full: Vec<T> = match v {
                    View::Float(a) => a
                        .broadcast(IxDyn(&shape))
                        .ok_or_else(bad)?
                        .iter()
                        .copied()
                        .collect(),
                    View::Mask(a) => a
                        .broadcast(IxDyn(&shape))
                        .ok_or_else(bad)?
                        .iter()
                        .map(|&b| mask_value(b))
                        .collect(),
                };
                owned.push(full);
                plans.push((Some(owned.len() - 1), Pattern::Full, 1));
            }
        }
    }
    let mut operands: SmallVec<[Operand<'_, T>; 6]> = SmallVec::new();
    if head.is_some() {
        operands.push(Operand {
            data: Data::Output,
            pattern: Pattern::Full,
            period: 1,
        });
    }
    for (v, &(copy, pattern, period)) in views.iter().zip(&plans) {
        let data = match (copy, v) {
            (Some(i), _) => Data::Float(&owned[i][..]),
            (None, View::Float(a)) => Data::Float(a.as_slice().expect("contiguous")),
            (None, View::Mask(a)) => Data::Mask(a.as_slice().expect("contiguous")),
        };
        operands.push(Operand {
            data,
            pattern,
            period,
        });
    }
    if let Some(Tail::Reduce {
        op,
        axes,
        keep_dims,
    }) = &program.tail
    {
        return reduce_tail(program, &operands, &shape, *op, axes, *keep_dims, out);
    }
    if head.is_none() {
        out.resize(n, <T as scalar::Num>::zero());
    }
    if let Some((a, b, ta, tb)) = head {
        // The epilogue runs on each panel of rows right after gemm wrote it, while the rows are
        // in cache; where gemm splits columns instead, on the whole product afterwards.
        let epilogue = |start: usize, rows: &mut [T]| eval(program, &operands, start, rows, n);
        if super::matmul::gemm_into(a, b, ta, tb, parallel, &mut out, Some(&epilogue))? {
            return Ok(super::array(&shape, out));
        }
    }
    if n >= PARALLEL_ELEMENTS && parallel.threads() > 1 {
        // Each piece runs the same blocks it would run alone: results do not depend on the split.
        let piece = (n / parallel.threads()).div_ceil(BLOCK) * BLOCK;
        parallel.run(|| {
            out.par_chunks_mut(piece)
                .enumerate()
                .for_each(|(i, chunk)| eval(program, &operands, i * piece, chunk, n));
        });
    } else {
        eval(program, &operands, 0, &mut out, n);
    }
    Ok(super::array(&shape, out))
}

/// The reduction of the program's result over contiguous `axes` of `shape`, accumulated block by
/// block in the order of `accumulate` (the unfused kernel's too, so the bits are the same).
fn reduce_tail<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    shape: &[usize],
    op: ReduceOp,
    axes: &[usize],
    keep_dims: bool,
    storage: Vec<T>,
) -> Result<ArrayD<T>, String> {
    let (first, last) = match (axes.first(), axes.last()) {
        (Some(&f), Some(&l)) if l < shape.len() => (f, l),
        _ => return Err(format!("cannot reduce axes {axes:?} of {shape:?}")),
    };
    let outer: usize = shape[..first].iter().product();
    let mid: usize = shape[first..=last].iter().product();
    let inner: usize = shape[last + 1..].iter().product();
    let mut acc = storage;
    let sum = |s: T, v: T| scalar::Num::add(s, v);
    let max = |s: T, v: T| if v > s || v.not_a_number() { v } else { s };
    let min = |s: T, v: T| if v < s || v.not_a_number() { v } else { s };
    match op {
        ReduceOp::Sum | ReduceOp::Mean => {
            let zero = <T as scalar::Num>::zero();
            accumulate(program, operands, (outer, mid, inner), zero, sum, &mut acc)
        }
        ReduceOp::Max => accumulate(
            program,
            operands,
            (outer, mid, inner),
            <T as scalar::Num>::lowest(),
            max,
            &mut acc,
        ),
        ReduceOp::Min => accumulate(
            program,
            operands,
            (outer, mid, inner),
            <T as scalar::Num>::highest(),
            min,
            &mut acc,
        ),
    }
    if op == ReduceOp::Mean {
        let count = <T as rill_graph::Element>::from_f64(mid as f64);
        acc.iter_mut()
            .for_each(|v| *v = scalar::Num::div(*v, count));
    }
    let out_shape = super::reduce::reduced_shape(shape, axes, keep_dims);
    Ok(super::array(&out_shape, acc))
}

/// Evaluates the program into a buffer on the stack, a block at a time, and combines the blocks
/// into the outputs in the order `accumulate` defines (that of the unfused kernel, so the bits
/// are the same): several whole slabs per block where a slab fits one, else whole rows of a
/// slab, else pieces of a row.
fn accumulate<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    dims: (usize, usize, usize),
    init: T,
    combine: impl Fn(T, T) -> T,
    acc: &mut Vec<T>,
) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked by `has_avx2`).
        return unsafe { accumulate_avx2(program, operands, dims, init, &combine, acc) };
    }
    accumulate_blocks(program, operands, dims, init, &combine, acc)
}

/// `accumulate_blocks` built for AVX2 (the same arithmetic: Rust contracts nothing into FMAs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_avx2<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    dims: (usize, usize, usize),
    init: T,
    combine: &impl Fn(T, T) -> T,
    acc: &mut Vec<T>,
) {
    accumulate_blocks(program, operands, dims, init, combine, acc)
}

#[inline(always)]
fn accumulate_blocks<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    (outer, mid, inner): (usize, usize, usize),
    init: T,
    combine: &impl Fn(T, T) -> T,
    acc: &mut Vec<T>,
) {
    acc.clear();
    acc.resize(outer * inner, init);
    let size = mid * inner;
    let n = outer * size;
    if n == 0 {
        return;
    }
    let mut block: SmallVec<[T; BLOCK]> = SmallVec::from_elem(init, BLOCK.min(n));
    let mut slab = Slab::new(mid, inner, init);
    if size <= BLOCK {
        let per = BLOCK / size;
        for (c, outs) in acc.chunks_mut(per * inner).enumerate() {
            let len = outs.len() / inner * size;
            eval(program, operands, c * per * size, &mut block[..len], n);
            slab.whole(&block[..len], outs, combine);
        }
        return;
    }
    // Rows per block: a multiple of the partial count where one fits, so whole groups of rows
    // take the partials' fast paths.
    let q = accumulate::partials(mid, inner);
    let rows = match BLOCK / inner.max(1) {
        r if r >= q => r - r % q,
        r => r,
    };
    for (o, out) in acc.chunks_exact_mut(inner).enumerate() {
        slab.reset();
        let start = o * size;
        if rows > 0 {
            for m in (0..mid).step_by(rows) {
                let len = rows.min(mid - m) * inner;
                eval(program, operands, start + m * inner, &mut block[..len], n);
                slab.add(&block[..len], (m, 0, inner), out, combine);
            }
        } else {
            for m in 0..mid {
                for c in (0..inner).step_by(BLOCK) {
                    let width = BLOCK.min(inner - c);
                    let piece = &mut block[..width];
                    eval(program, operands, start + m * inner + c, piece, n);
                    slab.add(piece, (m, c, width), out, combine);
                }
            }
        }
        slab.finish(out, combine);
    }
}

/// `shape` broadcast with `other` (NumPy's rules), in place: no allocation on the per-step path.
fn broadcast_into(shape: &mut SmallVec<[usize; 6]>, other: &[usize]) -> Result<(), String> {
    let rank = shape.len().max(other.len());
    // The dimension `k` places from the end, or 1 past the front.
    let at = |s: &[usize], k: usize| if k < s.len() { s[s.len() - 1 - k] } else { 1 };
    let fits = (0..rank).all(|k| {
        let (a, b) = (at(shape, k), at(other, k));
        a == b || a == 1 || b == 1
    });
    if !fits {
        return Err(format!(
            "Incompatible shapes: {:?} vs. {other:?}",
            &shape[..]
        ));
    }
    while shape.len() < rank {
        shape.insert(0, 1);
    }
    for k in 0..other.len() {
        let s = &mut shape[rank - 1 - k];
        if *s == 1 {
            *s = other[other.len() - 1 - k];
        }
    }
    Ok(())
}

/// A mask element as a register value.
#[inline(always)]
fn mask_value<T: Real>(b: bool) -> T {
    if b {
        <T as scalar::Num>::one()
    } else {
        <T as scalar::Num>::zero()
    }
}

/// Evaluates the program for output elements `start..start + out.len()` of `total`, block by
/// block, in this thread's register bank, with the loops compiled for the best instruction set
/// the CPU has (AVX2 + FMA where present, else the baseline): the same source and the same
/// arithmetic, only wider vectors.
fn eval<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    start: usize,
    out: &mut [T],
    total: usize,
) {
    let regs = program.registers;
    // Registers as long as a block, or as the whole range when it is shorter (small tensors
    // through long chains need no megabytes of registers).
    let block = BLOCK.min(out.len()).max(1);
    // Row operands get a tile of their row repeated, `block + period` long, after the
    // registers (see `eval_blocks`).
    let tiles: usize = operands
        .iter()
        .filter(|op| op.pattern == Pattern::Row)
        .map(|op| block + op.period)
        .sum();
    T::with_scratch(regs * block + tiles, |bank| {
        #[cfg(target_arch = "x86_64")]
        if super::has_avx512() {
            // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked by `has_avx512`).
            return unsafe {
                eval_blocks_avx512(program, operands, (start, total), out, bank, block)
            };
        }
        #[cfg(target_arch = "x86_64")]
        if super::has_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA (checked by `has_avx2`).
            return unsafe {
                eval_blocks_avx2(program, operands, (start, total), out, bank, block)
            };
        }
        eval_blocks(program, operands, (start, total), out, bank, block)
    })
}

/// `eval_blocks` built for AVX2. Rust never contracts `a * b + c` into an FMA on its own, so
/// enabling the feature changes no result.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn eval_blocks_avx2<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    range: (usize, usize),
    out: &mut [T],
    bank: &mut [T],
    block: usize,
) {
    eval_blocks(program, operands, range, out, bank, block)
}

/// `eval_blocks` built for AVX-512: the plain loops (sigmoid's and exp's stages, the
/// polynomials) vectorise 16 lanes wide. The same arithmetic, lane for lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn eval_blocks_avx512<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    range: (usize, usize),
    out: &mut [T],
    bank: &mut [T],
    block: usize,
) {
    eval_blocks(program, operands, range, out, bank, block)
}

/// The block loop of `eval`: `bank` holds `block` elements per register; `(start, total)`: where
/// `out` starts in the output and how long that is.
#[inline(always)]
fn eval_blocks<T: Real>(
    program: &FusedProgram,
    operands: &[Operand<'_, T>],
    (start, total): (usize, usize),
    out: &mut [T],
    bank: &mut [T],
    block: usize,
) {
    let result = program.result();
    let regs_end = program.registers * block;
    let tiles: usize = operands
        .iter()
        .filter(|op| op.pattern == Pattern::Row)
        .map(|op| block + op.period)
        .sum();
    assert!(
        regs_end + tiles <= bank.len() && operands.len() == program.inputs,
        "the bank holds every register and tile"
    );
    // Where each input register's elements are read for the current block: straight from the
    // input (or the output a matmul head wrote) when they lie there in order; from a tile of
    // the row repeated, at the block's phase, for a row operand; from the bank, loaded once
    // for a scalar and per block otherwise. All access to the bank goes through `base`.
    // `sources` has an entry per register, so an instruction finds each operand with one load:
    // the input registers' entries are set per block, the computed registers' (their bank
    // ranges) once here.
    let base = bank.as_mut_ptr();
    // (Inline room for 32 registers, so programs with many inputs allocate nothing either.)
    let mut sources: SmallVec<[*const T; 32]> = (0..program.registers)
        .map(|r| {
            if r < operands.len() {
                std::ptr::null()
            } else {
                // SAFETY: register r's range of the bank (inside it, checked above).
                unsafe { base.add(r * block).cast_const() }
            }
        })
        .collect();
    // The start of each row operand's tile in the bank.
    let mut tile_at: SmallVec<[usize; 8]> = SmallVec::from_elem(0, operands.len());
    let mut next_tile = regs_end;
    for (i, op) in operands.iter().enumerate() {
        match op.pattern {
            Pattern::Row => {
                let len = block + op.period;
                // SAFETY: the tile's range of the bank, past the registers (checked above).
                let tile = unsafe { std::slice::from_raw_parts_mut(base.add(next_tile), len) };
                // The row once, then the tile's filled part copied after itself, doubling: a
                // few copies where one per row would be a call per few elements.
                // (A row operand's period is at least 2, and the tile one period longer than a
                // block.)
                let first = op.period;
                match op.data {
                    Data::Float(xs) => tile[..first].copy_from_slice(&xs[..first]),
                    Data::Mask(ms) => {
                        for (t, &m) in tile[..first].iter_mut().zip(ms) {
                            *t = mask_value(m);
                        }
                    }
                    Data::Output => unreachable!("a matmul head's product is full-size"),
                }
                let mut filled = first;
                while filled < len {
                    let take = filled.min(len - filled);
                    tile.copy_within(..take, filled);
                    filled += take;
                }
                tile_at[i] = next_tile;
                next_tile += len;
            }
            Pattern::Scalar => {
                // SAFETY: register i's range of the bank; no instruction writes an input register.
                let reg = unsafe { std::slice::from_raw_parts_mut(base.add(i * block), block) };
                match op.data {
                    Data::Float(xs) => reg.fill(xs[0]),
                    Data::Mask(ms) => reg.fill(mask_value(ms[0])),
                    Data::Output => unreachable!("a matmul head's product is full-size"),
                }
                sources[i] = reg.as_ptr();
            }
            _ => {}
        }
    }
    // The last instruction writes the output chunk itself, unless it reads a register held
    // there (a matmul head's product), which it would overwrite as it reads.
    let held_in_output = |r: usize| r < operands.len() && matches!(operands[r].data, Data::Output);
    let direct = program
        .instrs
        .last()
        .is_some_and(|instr| !instr.reads_any(held_in_output));
    // The instructions that write the bank: all, or all but the last.
    let in_bank = program.instrs.len() - usize::from(direct);
    for (b, chunk) in out.chunks_mut(block).enumerate() {
        let len = chunk.len();
        let at = start + b * block;
        // Where the output's last `total % T::PACKET` elements start, in this block (see
        // `scalar::unary_tail`).
        let tail = (total - total % T::PACKET).saturating_sub(at).min(len);
        for (i, op) in operands.iter().enumerate() {
            match (&op.data, op.pattern) {
                (_, Pattern::Scalar) => {}
                // SAFETY: `at % period + len <= period + block`, inside the tile.
                (_, Pattern::Row) => sources[i] = unsafe { base.add(tile_at[i] + at % op.period) },
                (Data::Float(xs), Pattern::Full) => sources[i] = xs[at..at + len].as_ptr(),
                (Data::Output, _) => sources[i] = chunk.as_ptr(),
                (data, _) => {
                    // SAFETY: register i's range of the bank (inside it, checked above); no
                    // other slice of the bank is alive.
                    let dst = unsafe { std::slice::from_raw_parts_mut(base.add(i * block), len) };
                    match data {
                        Data::Float(xs) => load(xs, op, at, dst, |x| x),
                        Data::Mask(ms) => load(ms, op, at, dst, mask_value),
                        Data::Output => unreachable!("read in place above"),
                    }
                    sources[i] = dst.as_ptr();
                }
            }
        }
        for (instr, &dst) in program.instrs[..in_bank].iter().zip(&program.dst) {
            // SAFETY: computed registers are disjoint `block`-long ranges of the bank (checked
            // to hold them all above) at `inputs` and beyond; input registers are read from
            // `len` elements of an input, of the output chunk (written only by the last
            // instruction or after it) or of their bank range. Register allocation never makes
            // an instruction's destination one of its operands, so `d` aliases no source, and
            // `chunk` is not otherwise touched while these slices live.
            let d = unsafe { std::slice::from_raw_parts_mut(base.add(dst * block), len) };
            let src = |r: usize| {
                debug_assert!(r != dst && r < program.registers);
                unsafe { std::slice::from_raw_parts(sources[r], len) }
            };
            execute(instr, src, d, tail);
        }
        if direct {
            // SAFETY: as above; the last instruction reads no register held in `chunk`.
            let src = |r: usize| unsafe { std::slice::from_raw_parts(sources[r], len) };
            execute(&program.instrs[in_bank], src, chunk, tail);
        } else {
            // SAFETY: the result register's range of the bank, written by the last instruction.
            let result = unsafe { std::slice::from_raw_parts(base.add(result * block), len) };
            chunk.copy_from_slice(result);
        }
    }
}

/// Runs one instruction into `d`, its operands found by `src`.
#[inline(always)]
fn execute<'s, T: Real>(instr: &Instr, src: impl Fn(usize) -> &'s [T], d: &mut [T], tail: usize) {
    match *instr {
        Instr::Unary(op, a) => unary(op, src(a), d, tail),
        Instr::Binary(op, a, b) => binary(op, src(a), src(b), d),
        Instr::Compare(op, a, b) => compare(op, src(a), src(b), d),
        Instr::Cast(a) => d.copy_from_slice(src(a)),
        Instr::Select(c, a, b) => select(src(c), src(a), src(b), d),
    }
}

#[inline(always)]
fn select<T: Real>(c: &[T], a: &[T], b: &[T], d: &mut [T]) {
    let zero = <T as scalar::Num>::zero();
    for (((d, &c), &x), &y) in d.iter_mut().zip(c).zip(a).zip(b) {
        *d = if c != zero { x } else { y };
    }
}

/// Copies the operand's elements for output positions `start..start + dst.len()`.
#[inline(always)]
fn load<S: Copy, T: Copy>(
    data: &[S],
    op: &Operand<'_, T>,
    start: usize,
    dst: &mut [T],
    conv: impl Fn(S) -> T,
) {
    let copy = |dst: &mut [T], src: &[S]| {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = conv(s);
        }
    };
    match op.pattern {
        Pattern::Full => copy(dst, &data[start..start + dst.len()]),
        Pattern::Scalar => dst.fill(conv(data[0])),
        // Runs of consecutive elements, copied or filled whole rather than indexed one by one.
        Pattern::Row => {
            let (r, mut pos, mut j) = (op.period, start % op.period, 0);
            while j < dst.len() {
                let take = (r - pos).min(dst.len() - j);
                copy(&mut dst[j..j + take], &data[pos..pos + take]);
                j += take;
                pos = 0;
            }
        }
        Pattern::Column => {
            let q = op.period;
            let (mut idx, mut off, mut j) = (start / q, start % q, 0);
            while j < dst.len() {
                let take = (q - off).min(dst.len() - j);
                dst[j..j + take].fill(conv(data[idx]));
                j += take;
                idx += 1;
                off = 0;
            }
        }
    }
}

#[inline(always)]
fn compare<T: Real>(op: CompareOp, a: &[T], b: &[T], d: &mut [T]) {
    use CompareOp as C;
    macro_rules! each {
        ($op:expr) => {
            slices::lanes2(a, b, d, |x, y| mask_value(scalar::compare($op, x, y)))
        };
    }
    match op {
        C::Equal => each!(C::Equal),
        C::NotEqual => each!(C::NotEqual),
        C::Less => each!(C::Less),
        C::LessEqual => each!(C::LessEqual),
        C::Greater => each!(C::Greater),
        C::GreaterEqual => each!(C::GreaterEqual),
    }
}
