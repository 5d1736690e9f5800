//! Elementwise kernels with NumPy broadcasting: unary, binary, comparisons, select, cast.

use super::scalar::{self, Num, Real};
use super::slices::{self, Splat};
use super::{KResult, OutBuf};
use crate::parallel::Parallel;
use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};
use rayon::prelude::*;
use rill_graph::shape::broadcast_concrete;
use rill_graph::{BinaryOp, CompareOp, DType, Element, UnaryOp, Value};

/// `f` applied to every element, written into `out`'s storage; a plain slice loop for
/// contiguous arrays.
pub fn map<T: Copy, U: Element>(a: &ArrayD<T>, f: impl Fn(T) -> U, out: &mut OutBuf) -> ArrayD<U> {
    match a.as_slice() {
        Some(xs) => {
            let mut v = out.vec(xs.len());
            v.extend(xs.iter().map(|&x| f(x)));
            super::array_of(a.raw_dim(), v)
        }
        None => a.mapv(f),
    }
}

pub fn unary(op: UnaryOp, x: &Value, out: &mut OutBuf) -> KResult {
    fn float<T: Real>(op: UnaryOp, a: &ArrayD<T>, out: &mut OutBuf) -> ArrayD<T> {
        // The loops of the in-place and fused paths, over the elements in standard order
        // (where TF's kernels take the last `len % PACKET` in their scalar form).
        let xs = a.as_standard_layout();
        let xs = xs.as_slice().expect("standard layout is contiguous");
        let mut v = out.vec(xs.len());
        v.resize(xs.len(), <T as Num>::zero());
        slices::unary_native(op, xs, &mut v, xs.len() - xs.len() % T::PACKET);
        super::array_of(a.raw_dim(), v)
    }
    fn int<T: Num>(op: UnaryOp, a: &ArrayD<T>) -> ArrayD<T> {
        a.mapv(|v| scalar::unary_int(op, v))
    }
    Ok(match x {
        Value::F32(a) => Value::F32(float(op, a, out)),
        Value::F64(a) => Value::F64(float(op, a, out)),
        Value::I32(a) if op.accepts_integers() => Value::I32(int(op, a)),
        Value::I64(a) if op.accepts_integers() => Value::I64(int(op, a)),
        other => {
            return Err(format!(
                "{} is not defined for {}",
                op.type_name(),
                other.dtype()
            ))
        }
    })
}

/// The broadcast shape of two arrays, or TF's error.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    broadcast_concrete(a, b).ok_or_else(|| format!("Incompatible shapes: {a:?} vs. {b:?}"))
}

/// Applies `f` elementwise to `a` and `b` broadcast together.
pub fn zip_with<A: Copy, B: Copy, C: Element>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    f: impl Fn(A, B) -> C,
    out: &mut OutBuf,
) -> Result<ArrayD<C>, String> {
    if let (Some(xs), Some(ys)) = (a.as_slice(), b.as_slice()) {
        // The commonest cases first, with the output shape taken from an operand.
        match simple_case(a.shape(), xs.len(), b.shape(), ys.len()) {
            Some(Simple::SameShape) => {
                let mut v = out.vec(xs.len());
                v.extend(xs.iter().zip(ys).map(|(&x, &y)| f(x, y)));
                return Ok(super::array_of(a.raw_dim(), v));
            }
            Some(Simple::ScalarRight) => {
                let y = ys[0];
                let mut v = out.vec(xs.len());
                v.extend(xs.iter().map(|&x| f(x, y)));
                return Ok(super::array_of(a.raw_dim(), v));
            }
            Some(Simple::ScalarLeft) => {
                let x = xs[0];
                let mut v = out.vec(ys.len());
                v.extend(ys.iter().map(|&y| f(x, y)));
                return Ok(super::array_of(b.raw_dim(), v));
            }
            None => {}
        }
        if let Some(v) = zip_contiguous(a.shape(), xs, b.shape(), ys, &f, out) {
            return Ok(v);
        }
    }
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let av = broadcast_view(a, &shape)?;
    let bv = broadcast_view(b, &shape)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
}

/// The commonest ways two contiguous operands broadcast, where the output has an operand's
/// shape: one shape, or a scalar against a tensor of at least its rank.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Simple {
    SameShape,
    /// The right operand is one element; the output has the left's shape.
    ScalarRight,
    /// The left operand is one element; the output has the right's shape.
    ScalarLeft,
}

/// Which simple case operands of shapes `sa` and `sb` (`la` and `lb` elements) are, if any.
#[inline(always)]
fn simple_case(sa: &[usize], la: usize, sb: &[usize], lb: usize) -> Option<Simple> {
    if same(sa, sb) {
        Some(Simple::SameShape)
    } else if lb == 1 && sb.len() <= sa.len() {
        Some(Simple::ScalarRight)
    } else if la == 1 && sa.len() <= sb.len() {
        Some(Simple::ScalarLeft)
    } else {
        None
    }
}

/// How a contiguous operand lines up with the (contiguous) output of a broadcast.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Pattern {
    /// One element per output element.
    Full,
    /// A single element, used everywhere.
    Scalar,
    /// Varies along the trailing axes only: repeats every `len` elements (a bias row).
    Row,
    /// Varies along the leading axes only: each element covers `out / len` consecutive
    /// output elements (a per-row scale).
    Column,
}

/// The pattern of an operand of `shape` (`len` elements) in an output of `out` shape, if it is
/// one of the fast ones.
pub fn pattern(shape: &[usize], len: usize, out: &[usize], n: usize) -> Option<Pattern> {
    if len == n {
        return Some(Pattern::Full);
    }
    if len == 1 {
        return Some(Pattern::Scalar);
    }
    if len == 0 {
        return None;
    }
    let pad = out.len() - shape.len();
    let padded = |i: usize| if i < pad { 1 } else { shape[i - pad] };
    // Row: the operand's non-1 axes are a suffix of the output's, matching it.
    let first_varying = (0..out.len()).find(|&i| padded(i) != 1)?;
    if (first_varying..out.len()).all(|i| padded(i) == out[i]) {
        return Some(Pattern::Row);
    }
    // Column: matches the output on a prefix, then only 1s.
    let last_varying = (0..out.len()).rev().find(|&i| padded(i) != 1)?;
    if (0..=last_varying).all(|i| padded(i) == out[i]) {
        return Some(Pattern::Column);
    }
    None
}

/// Writes the `n` elements of an empty `out` row by row, row `r` from `row(r)`: in place,
/// because `extend` a row at a time pays a capacity check and a length update per row
/// (~1 ns an element for the short rows of a bias or a per-sample scale).
fn fill_rows<C, I: Iterator<Item = C>>(
    out: &mut Vec<C>,
    n: usize,
    width: usize,
    mut row: impl FnMut(usize) -> I,
) {
    debug_assert!(out.is_empty() && width > 0 && n.is_multiple_of(width));
    let dst = &mut out.spare_capacity_mut()[..n];
    for (r, slots) in dst.chunks_exact_mut(width).enumerate() {
        let mut written = 0;
        for (slot, value) in slots.iter_mut().zip(row(r)) {
            slot.write(value);
            written += 1;
        }
        assert_eq!(written, width, "a broadcast row came up short");
    }
    // SAFETY: `width` divides `n` (the shapes broadcast) and every row wrote all `width` of
    // its slots (checked above), so the first `n` elements are initialised.
    unsafe { out.set_len(n) };
}

/// The broadcast of two contiguous operands in the common patterns, as tight slice loops.
fn zip_contiguous<A: Copy, B: Copy, C: Element>(
    sa: &[usize],
    xs: &[A],
    sb: &[usize],
    ys: &[B],
    f: &impl Fn(A, B) -> C,
    buf: &mut OutBuf,
) -> Option<ArrayD<C>> {
    let shape = broadcast_concrete(sa, sb)?;
    let n: usize = shape.iter().product();
    let pa = pattern(sa, xs.len(), &shape, n)?;
    let pb = pattern(sb, ys.len(), &shape, n)?;
    if !matches!((pa, pb), (Pattern::Full, _) | (_, Pattern::Full)) {
        return None;
    }
    let mut out: Vec<C> = buf.vec(n);
    if n == 0 {
        // Rows of width zero cannot be chunked; the output is empty whatever the pattern.
        return Some(super::array(&shape, out));
    }
    match (pa, pb) {
        (Pattern::Full, Pattern::Full) => out.extend(xs.iter().zip(ys).map(|(&x, &y)| f(x, y))),
        (Pattern::Full, Pattern::Scalar) => {
            let y = ys[0];
            out.extend(xs.iter().map(|&x| f(x, y)));
        }
        (Pattern::Scalar, Pattern::Full) => {
            let x = xs[0];
            out.extend(ys.iter().map(|&y| f(x, y)));
        }
        (Pattern::Full, Pattern::Row) => fill_rows(&mut out, n, ys.len(), |r| {
            let chunk = &xs[r * ys.len()..(r + 1) * ys.len()];
            chunk.iter().zip(ys).map(|(&x, &y)| f(x, y))
        }),
        (Pattern::Row, Pattern::Full) => fill_rows(&mut out, n, xs.len(), |r| {
            let chunk = &ys[r * xs.len()..(r + 1) * xs.len()];
            xs.iter().zip(chunk).map(|(&x, &y)| f(x, y))
        }),
        (Pattern::Full, Pattern::Column) => {
            let width = n / ys.len();
            fill_rows(&mut out, n, width, |r| {
                let y = ys[r];
                xs[r * width..(r + 1) * width].iter().map(move |&x| f(x, y))
            })
        }
        (Pattern::Column, Pattern::Full) => {
            let width = n / xs.len();
            fill_rows(&mut out, n, width, |r| {
                let x = xs[r];
                ys[r * width..(r + 1) * width].iter().map(move |&y| f(x, y))
            })
        }
        _ => return None,
    }
    Some(super::array(&shape, out))
}

pub fn broadcast_view<'a, T>(
    a: &'a ArrayD<T>,
    shape: &[usize],
) -> Result<ArrayViewD<'a, T>, String> {
    a.broadcast(IxDyn(shape))
        .ok_or_else(|| format!("Incompatible shapes: {:?} vs. {:?}", a.shape(), shape))
}

pub fn binary(op: BinaryOp, a: &Value, b: &Value, out: &mut OutBuf) -> KResult {
    fn num<T: Num + Element>(
        op: BinaryOp,
        a: &ArrayD<T>,
        b: &ArrayD<T>,
        out: &mut OutBuf,
    ) -> Result<ArrayD<T>, String> {
        // One loop per op with the op fixed, so the scalar definition's match folds away and the
        // loop vectorises.
        match op {
            BinaryOp::Add => zip_with(a, b, |x, y| scalar::binary(BinaryOp::Add, x, y), out),
            BinaryOp::Sub => zip_with(a, b, |x, y| scalar::binary(BinaryOp::Sub, x, y), out),
            BinaryOp::Mul => zip_with(a, b, |x, y| scalar::binary(BinaryOp::Mul, x, y), out),
            BinaryOp::Div => zip_with(a, b, |x, y| scalar::binary(BinaryOp::Div, x, y), out),
            BinaryOp::Maximum => {
                zip_with(a, b, |x, y| scalar::binary(BinaryOp::Maximum, x, y), out)
            }
            BinaryOp::Minimum => {
                zip_with(a, b, |x, y| scalar::binary(BinaryOp::Minimum, x, y), out)
            }
            BinaryOp::Pow => zip_with(a, b, |x, y| scalar::binary(BinaryOp::Pow, x, y), out),
        }
    }
    fn float<T: Real + Element>(
        op: BinaryOp,
        a: &ArrayD<T>,
        b: &ArrayD<T>,
        out: &mut OutBuf,
    ) -> Result<ArrayD<T>, String> {
        match op {
            BinaryOp::Pow => zip_with(a, b, scalar::pow, out),
            _ => num(op, a, b, out),
        }
    }
    fn int<T: Num + Element>(
        op: BinaryOp,
        a: &ArrayD<T>,
        b: &ArrayD<T>,
        out: &mut OutBuf,
    ) -> Result<ArrayD<T>, String> {
        if op == BinaryOp::Div && b.iter().any(|v| v.is_zero()) {
            return Err("Integer division by zero".to_string());
        }
        num(op, a, b, out)
    }
    Ok(match (a, b) {
        (Value::F32(x), Value::F32(y)) => Value::F32(float(op, x, y, out)?),
        (Value::F64(x), Value::F64(y)) => Value::F64(float(op, x, y, out)?),
        (Value::I32(x), Value::I32(y)) if op != BinaryOp::Pow => Value::I32(int(op, x, y, out)?),
        (Value::I64(x), Value::I64(y)) if op != BinaryOp::Pow => Value::I64(int(op, x, y, out)?),
        _ => {
            return Err(format!(
                "{} is not defined for {} and {}",
                op.type_name(),
                a.dtype(),
                b.dtype()
            ))
        }
    })
}

pub fn compare(op: CompareOp, a: &Value, b: &Value, out: &mut OutBuf) -> KResult {
    fn cmp<T: Copy + PartialOrd>(
        op: CompareOp,
        a: &ArrayD<T>,
        b: &ArrayD<T>,
        out: &mut OutBuf,
    ) -> Result<ArrayD<bool>, String> {
        zip_with(a, b, |x, y| scalar::compare(op, x, y), out)
    }
    Ok(Value::Bool(match (a, b) {
        (Value::F32(x), Value::F32(y)) => cmp(op, x, y, out)?,
        (Value::F64(x), Value::F64(y)) => cmp(op, x, y, out)?,
        (Value::I32(x), Value::I32(y)) => cmp(op, x, y, out)?,
        (Value::I64(x), Value::I64(y)) => cmp(op, x, y, out)?,
        (Value::Bool(x), Value::Bool(y)) => cmp(op, x, y, out)?,
        _ => {
            return Err(format!(
                "{} needs equal dtypes, got {} and {}",
                op.type_name(),
                a.dtype(),
                b.dtype()
            ))
        }
    }))
}

pub fn select(cond: &Value, x: &Value, y: &Value) -> KResult {
    let Value::Bool(c) = cond else {
        return Err(format!("condition must be bool, not {}", cond.dtype()));
    };
    fn pick<T: Copy>(c: &ArrayD<bool>, x: &ArrayD<T>, y: &ArrayD<T>) -> Result<ArrayD<T>, String> {
        let xy = broadcast_shape(x.shape(), y.shape())?;
        let shape = broadcast_shape(c.shape(), &xy)?;
        let (cv, xv, yv) = (
            broadcast_view(c, &shape)?,
            broadcast_view(x, &shape)?,
            broadcast_view(y, &shape)?,
        );
        Ok(Zip::from(&cv)
            .and(&xv)
            .and(&yv)
            .map_collect(|&c, &x, &y| if c { x } else { y }))
    }
    Ok(match (x, y) {
        (Value::F32(a), Value::F32(b)) => Value::F32(pick(c, a, b)?),
        (Value::F64(a), Value::F64(b)) => Value::F64(pick(c, a, b)?),
        (Value::I32(a), Value::I32(b)) => Value::I32(pick(c, a, b)?),
        (Value::I64(a), Value::I64(b)) => Value::I64(pick(c, a, b)?),
        (Value::Bool(a), Value::Bool(b)) => Value::Bool(pick(c, a, b)?),
        _ => {
            return Err(format!(
                "select needs equal dtypes, got {} and {}",
                x.dtype(),
                y.dtype()
            ))
        }
    })
}

/// `x` converted to `to`; a bool mask to floats (the gradient of ReLU) goes into `out`'s
/// storage, other conversions allocate.
pub fn cast(x: &Value, to: DType, out: &mut OutBuf) -> KResult {
    fn mask<T: Element>(a: &ArrayD<bool>, out: &mut OutBuf) -> ArrayD<T> {
        // The same numbers `Value::cast` gives: bool -> f64 -> T.
        let (one, zero) = (T::from_f64(1.0), T::from_f64(0.0));
        map(a, |b| if b { one } else { zero }, out)
    }
    Ok(match (x, to) {
        (Value::Bool(a), DType::F32) => Value::F32(mask(a, out)),
        (Value::Bool(a), DType::F64) => Value::F64(mask(a, out)),
        _ => x.cast(to),
    })
}

/// A float unary or binary op written over `dst`'s storage, when `dst` already holds a
/// standard-order array of the result's type and shape (in a steady state, what its buffer's
/// last occupant left) and the operands are contiguous in one of the commonest patterns (one
/// shape, or a scalar against a tensor of at least its rank). Nothing is built: no shape, no
/// array, no vector. `false`, with `dst` untouched, in any other case, and the caller runs the
/// general kernel. The same scalar definitions, so the same bits.
pub fn into_place(op: &rill_graph::Op, inputs: &[&Value], dst: &mut Value) -> bool {
    fn binary_of<T: Real>(op: BinaryOp, a: &ArrayD<T>, b: &ArrayD<T>, dst: &mut Value) -> bool {
        let (sa, sb) = (a.shape(), b.shape());
        let (Some(xs), Some(ys)) = (in_order(a), in_order(b)) else {
            return false;
        };
        let Some(case) = simple_case(sa, xs.len(), sb, ys.len()) else {
            return false;
        };
        let shape = if case == Simple::ScalarLeft { sb } else { sa };
        let Some(ds) = T::array_mut(dst).and_then(|d| in_order_like(d, shape)) else {
            return false;
        };
        match case {
            Simple::SameShape => slices::binary_indexed(op, xs, ys, ds),
            Simple::ScalarRight => slices::binary_indexed(op, xs, Splat(ys[0]), ds),
            Simple::ScalarLeft => slices::binary_indexed(op, Splat(xs[0]), ys, ds),
        }
        true
    }
    fn unary_of<T: Real>(op: UnaryOp, a: &ArrayD<T>, dst: &mut Value) -> bool {
        let Some(xs) = in_order(a) else {
            return false;
        };
        let Some(ds) = T::array_mut(dst).and_then(|d| in_order_like(d, a.shape())) else {
            return false;
        };
        let tail = xs.len() - xs.len() % T::PACKET;
        slices::unary_native(op, xs, ds, tail);
        true
    }
    match (op, inputs) {
        (rill_graph::Op::Binary(b), [Value::F32(x), Value::F32(y)]) => binary_of(*b, x, y, dst),
        (rill_graph::Op::Binary(b), [Value::F64(x), Value::F64(y)]) => binary_of(*b, x, y, dst),
        (rill_graph::Op::Unary(u), [Value::F32(x)]) => unary_of(*u, x, dst),
        (rill_graph::Op::Unary(u), [Value::F64(x)]) => unary_of(*u, x, dst),
        _ => false,
    }
}

/// The element count of an array of `shape` with `strides` when it lies in standard order
/// (strides of length-1 axes do not matter). ndarray's `is_standard_layout`, inlined (on tiny
/// steps ndarray's general version costs more than the arithmetic), except that it is
/// stricter for empty arrays, which then take the general kernels.
#[inline(always)]
fn standard_len(shape: &[usize], strides: &[isize]) -> Option<usize> {
    if shape.len() != strides.len() {
        return None;
    }
    // Index loops, not zips: these run per tiny step, and a zip's setup is not always inlined.
    // The stride expected of each axis is the product of the later ones, so the last is the
    // element count.
    let mut expected = 1usize;
    for i in (0..shape.len()).rev() {
        let d = shape[i];
        if d != 1 && strides[i] as usize != expected {
            return None;
        }
        expected = expected.wrapping_mul(d);
    }
    Some(expected)
}

/// The elements of a standard-order array as a slice.
#[inline(always)]
fn in_order<T>(a: &ArrayD<T>) -> Option<&[T]> {
    let len = standard_len(a.shape(), a.strides())?;
    // SAFETY: a standard-order array's `len` elements lie contiguously from its pointer.
    Some(unsafe { std::slice::from_raw_parts(a.as_ptr(), len) })
}

/// The elements of `a`, to write, when it has `shape` and lies in standard order.
#[inline(always)]
fn in_order_like<'a, T>(a: &'a mut ArrayD<T>, shape: &[usize]) -> Option<&'a mut [T]> {
    if !same(a.shape(), shape) {
        return None;
    }
    let len = standard_len(shape, a.strides())?;
    // SAFETY: as in `in_order`; the borrow is unique (`&mut`), and owned arrays never share
    // their storage.
    Some(unsafe { std::slice::from_raw_parts_mut(a.as_mut_ptr(), len) })
}

/// Whether two shapes are equal: a loop the compiler inlines, where `==` on slices calls
/// `memcmp` (a real cost next to an 8-element add).
#[inline(always)]
fn same(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && (0..a.len()).all(|i| a[i] == b[i])
}

/// `a = a + b` or `a = a - b` in `a`'s storage, for floats of one shape (the variable updates of
/// the optimizers); `false`, with `a` untouched, in any other case. Same bits as `binary`. Big
/// updates (W2's weights) split over the pool: each element's arithmetic is the same.
pub fn add_or_sub_in_place(op: BinaryOp, a: &mut Value, b: &Value, parallel: &Parallel) -> bool {
    fn go<T: Real>(op: BinaryOp, a: &mut ArrayD<T>, b: &ArrayD<T>, parallel: &Parallel) -> bool {
        if a.shape() != b.shape() || !matches!(op, BinaryOp::Add | BinaryOp::Sub) {
            return false;
        }
        let (Some(xs), Some(ys)) = (a.as_slice_mut(), b.as_slice()) else {
            return false;
        };
        let update = |xs: &mut [T], ys: &[T]| match op {
            BinaryOp::Add => xs
                .iter_mut()
                .zip(ys)
                .for_each(|(x, &y)| *x = scalar::binary(BinaryOp::Add, *x, y)),
            _ => xs
                .iter_mut()
                .zip(ys)
                .for_each(|(x, &y)| *x = scalar::binary(BinaryOp::Sub, *x, y)),
        };
        let threads = parallel.threads();
        if xs.len() >= super::fused::PARALLEL_ELEMENTS && threads > 1 {
            let piece = xs.len().div_ceil(threads);
            parallel.run(|| {
                xs.par_chunks_mut(piece)
                    .zip(ys.par_chunks(piece))
                    .for_each(|(xs, ys)| update(xs, ys))
            });
        } else {
            update(xs, ys);
        }
        true
    }
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => go(op, x, y, parallel),
        (Value::F64(x), Value::F64(y)) => go(op, x, y, parallel),
        _ => false,
    }
}
