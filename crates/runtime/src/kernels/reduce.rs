//! Reductions over axes, argmax / argmin, softmax and log-softmax along an axis.

use super::accumulate::Slab;
use super::scalar::{Num, Real};
use super::{KResult, OutBuf};
use ndarray::{ArrayD, ArrayViewD, Axis, Zip};
use rill_graph::{ReduceOp, Value};

/// Reduces a contiguous array over a contiguous run of axes, viewed as `[outer, mid, inner]`,
/// in the order `accumulate` defines (which a fused reduction tail follows too).
fn reduce_contiguous<T: Num>(
    a: &ArrayViewD<T>,
    axes: &[usize],
    init: T,
    combine: impl Fn(T, T) -> T,
    buf: &mut OutBuf,
) -> Option<Vec<T>> {
    let xs = a.as_slice()?;
    let (&k, &last) = (axes.first()?, axes.last()?);
    if last + 1 - k != axes.len() {
        return None;
    }
    let shape = a.shape();
    let outer: usize = shape[..k].iter().product();
    let mid: usize = shape[k..=last].iter().product();
    let inner: usize = shape[last + 1..].iter().product();
    let mut out = buf.filled(outer * inner, init);
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked by `has_avx2`).
        unsafe { slabs_avx2(xs, (mid, inner), init, &combine, &mut out) };
        return Some(out);
    }
    slabs(xs, (mid, inner), init, &combine, &mut out);
    Some(out)
}

/// `slabs` built for AVX2 (the same arithmetic: Rust contracts nothing into FMAs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn slabs_avx2<T: Num>(
    xs: &[T],
    dims: (usize, usize),
    init: T,
    combine: &impl Fn(T, T) -> T,
    out: &mut [T],
) {
    slabs(xs, dims, init, combine, out)
}

/// Combines each `[mid, inner]` slab of `xs` into its `inner` outputs (`out`, started at
/// `init`).
#[inline(always)]
fn slabs<T: Num>(
    xs: &[T],
    (mid, inner): (usize, usize),
    init: T,
    combine: &impl Fn(T, T) -> T,
    out: &mut [T],
) {
    if inner == 0 || mid == 0 {
        return;
    }
    Slab::new(mid, inner, init).whole(xs, out, combine);
}

/// The shape of a reduction of `shape` over `axes`: reduced axes dropped, or kept as 1.
pub(crate) fn reduced_shape(
    shape: &[usize],
    axes: &[usize],
    keep_dims: bool,
) -> smallvec::SmallVec<[usize; 6]> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keep_dims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

pub fn reduce(
    op: ReduceOp,
    x: &Value,
    axes: &[usize],
    keep_dims: bool,
    out: &mut OutBuf,
) -> KResult {
    fn go<T: Num>(
        op: ReduceOp,
        a: &ArrayD<T>,
        axes: &[usize],
        keep_dims: bool,
        buf: &mut OutBuf,
    ) -> ArrayD<T> {
        // Contiguous axes take the fast path whatever the layout, so the order (and the bits)
        // depend on the shape alone.
        let standard = a.as_standard_layout();
        let a = &standard.view();
        let fast = match op {
            ReduceOp::Sum | ReduceOp::Mean => {
                reduce_contiguous(a, axes, T::zero(), |s, v| s.add(v), buf)
            }
            ReduceOp::Max => reduce_contiguous(
                a,
                axes,
                T::lowest(),
                |s, v| {
                    if v > s || v.not_a_number() {
                        v
                    } else {
                        s
                    }
                },
                buf,
            ),
            ReduceOp::Min => reduce_contiguous(
                a,
                axes,
                T::highest(),
                |s, v| {
                    if v < s || v.not_a_number() {
                        v
                    } else {
                        s
                    }
                },
                buf,
            ),
        };
        if let Some(mut data) = fast {
            if op == ReduceOp::Mean {
                let count: usize = axes.iter().map(|&ax| a.shape()[ax]).product();
                let n = T::from_f64(count as f64);
                data.iter_mut().for_each(|v| *v = v.div(n));
            }
            return super::array(&reduced_shape(a.shape(), axes, keep_dims), data);
        }
        let mut out = a.to_owned();
        let mut count = 1usize;
        // Highest axis first, so the lower axes keep their numbers.
        for &ax in axes.iter().rev() {
            count *= a.shape()[ax];
            out = match op {
                ReduceOp::Sum | ReduceOp::Mean => {
                    out.fold_axis(Axis(ax), T::zero(), |&s, &v| s.add(v))
                }
                ReduceOp::Max => out.fold_axis(Axis(ax), T::lowest(), |&s, &v| {
                    if v > s || v.not_a_number() {
                        v
                    } else {
                        s
                    }
                }),
                ReduceOp::Min => out.fold_axis(Axis(ax), T::highest(), |&s, &v| {
                    if v < s || v.not_a_number() {
                        v
                    } else {
                        s
                    }
                }),
            };
        }
        if op == ReduceOp::Mean {
            // An empty mean is 0/0 = NaN, as in TF.
            let n = T::from_f64(count as f64);
            out.mapv_inplace(|v| v.div(n));
        }
        if keep_dims {
            for &ax in axes {
                out.insert_axis_inplace(Axis(ax));
            }
        }
        out
    }
    Ok(match x {
        Value::F32(a) => Value::F32(go(op, a, axes, keep_dims, out)),
        Value::F64(a) => Value::F64(go(op, a, axes, keep_dims, out)),
        Value::I32(a) if op != ReduceOp::Mean => Value::I32(go(op, a, axes, keep_dims, out)),
        Value::I64(a) if op != ReduceOp::Mean => Value::I64(go(op, a, axes, keep_dims, out)),
        other => {
            return Err(format!(
                "{} is not defined for {}",
                op.type_name(),
                other.dtype()
            ))
        }
    })
}

/// Index of the first largest (`largest`) or smallest element along `axis`.
pub fn arg_extreme(x: &Value, axis: usize, largest: bool) -> KResult {
    fn go<T: Num>(a: &ArrayD<T>, axis: usize, largest: bool) -> Result<ArrayD<i64>, String> {
        if a.shape()[axis] == 0 {
            return Err("Reduction axis is empty".to_string());
        }
        Ok(a.map_axis(Axis(axis), |lane| {
            let mut best = 0usize;
            for (i, &v) in lane.iter().enumerate() {
                let b = lane[best];
                let better = if largest { v > b } else { v < b };
                // The first NaN wins, as in NumPy.
                if (better || v.not_a_number()) && !b.not_a_number() {
                    best = i;
                }
            }
            best as i64
        }))
    }
    Ok(Value::I64(match x {
        Value::F32(a) => go(a, axis, largest)?,
        Value::F64(a) => go(a, axis, largest)?,
        Value::I32(a) => go(a, axis, largest)?,
        Value::I64(a) => go(a, axis, largest)?,
        Value::Bool(_) => return Err("ArgMax is not defined for bool".to_string()),
    }))
}

/// Softmax (or log-softmax) along `axis`, subtracting the maximum first for stability.
pub fn softmax(x: &Value, axis: usize, log: bool) -> KResult {
    fn go<T: Real>(a: &ArrayD<T>, axis: usize, log: bool) -> ArrayD<T> {
        let mut out = a.clone();
        for mut lane in out.lanes_mut(Axis(axis)) {
            let max = lane.fold(<T as Num>::lowest(), |m, &v| if v > m { v } else { m });
            // A lane of all -inf has max -inf; subtracting it would give NaN for finite inputs.
            let max = if max.is_finite() {
                max
            } else {
                <T as Num>::zero()
            };
            let sum = lane.fold(<T as Num>::zero(), |s, &v| s + (v - max).exp());
            if log {
                let lse = sum.ln();
                lane.mapv_inplace(|v| v - max - lse);
            } else {
                lane.mapv_inplace(|v| (v - max).exp() / sum);
            }
        }
        out
    }
    Ok(match x {
        Value::F32(a) => Value::F32(go(a, axis, log)),
        Value::F64(a) => Value::F64(go(a, axis, log)),
        other => return Err(format!("Softmax is not defined for {}", other.dtype())),
    })
}

/// Sums `x` down to `target`, a shape it broadcasts from (undoes broadcasting).
pub fn sum_to(x: &Value, target: &[usize], out: &mut OutBuf) -> KResult {
    let shape = x.shape();
    let (rx, rt) = (shape.len(), target.len());
    let bad = || format!("cannot sum {shape:?} down to {target:?}");
    if rt > rx {
        return Err(bad());
    }
    let mut axes: smallvec::SmallVec<[usize; 6]> = (0..rx - rt).collect();
    for (i, &t) in target.iter().enumerate() {
        let d = shape[rx - rt + i];
        if t != d {
            if t != 1 {
                return Err(bad());
            }
            axes.push(rx - rt + i);
        }
    }
    if axes.is_empty() {
        return Ok(x.clone());
    }
    let mut summed = reduce(ReduceOp::Sum, x, &axes, false, out)?;
    // The sum has the target's elements in order: give it the target's shape in place.
    if summed.len() != target.iter().product::<usize>() {
        return Err(bad());
    }
    summed.reshape_in_place(target);
    Ok(summed)
}

/// Whether any element is NaN, and whether any is infinite.
pub fn nan_inf(x: &Value) -> (bool, bool) {
    fn go<T: Real>(a: &ArrayD<T>) -> (bool, bool) {
        let nan = Zip::from(a).fold(false, |acc, v| acc || v.is_nan());
        let inf = Zip::from(a).fold(false, |acc, v| acc || v.is_infinite());
        (nan, inf)
    }
    match x {
        Value::F32(a) => go(a),
        Value::F64(a) => go(a),
        _ => (false, false),
    }
}
