//! Shape and indexing kernels: reshape, transpose, squeeze, concat, stack, slice, gather,
//! one-hot, and the run-time-shape ops gradients use.

use super::{KResult, OutBuf};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};
use rill_graph::{with_array, DType, Element, Value};
use smallvec::SmallVec;

/// Resolves a target shape with at most one `-1` against an element count.
pub fn resolve_shape(
    target: &[i64],
    count: usize,
    from: &[usize],
) -> Result<SmallVec<[usize; 6]>, String> {
    let known: usize = target
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let mut out: SmallVec<[usize; 6]> = target.iter().map(|&d| d.max(0) as usize).collect();
    match target.iter().position(|&d| d < 0) {
        Some(pos) if known > 0 && count.is_multiple_of(known) => out[pos] = count / known,
        Some(_) if count == 0 => {}
        None if known == count => {}
        _ => {
            return Err(format!(
                "Input to reshape is a tensor with {count} values (shape {from:?}), but the requested shape {target:?} does not fit"
            ))
        }
    }
    Ok(out)
}

pub fn reshape(x: &Value, target: &[i64], out: &mut OutBuf) -> KResult {
    let shape = resolve_shape(target, x.len(), x.shape())?;
    reshape_exact(x, &shape, out)
}

/// `x`'s elements in order, as `shape`, written into `out`'s storage.
pub fn reshape_exact(x: &Value, shape: &[usize], out: &mut OutBuf) -> KResult {
    if shape.iter().product::<usize>() != x.len() {
        return Err(format!(
            "Cannot reshape a tensor of shape {:?} to {shape:?}",
            x.shape()
        ));
    }
    Ok(with_array!(x, a => {
        let mut data = out.vec(a.len());
        data.extend(a.iter().cloned());
        super::array(shape, data).into()
    }))
}

pub fn transpose(x: &Value, perm: &[usize]) -> KResult {
    Ok(
        with_array!(x, a => a.view().permuted_axes(IxDyn(perm)).as_standard_layout().into_owned().into()),
    )
}

pub fn expand_dims(x: &Value, axis: usize, out: &mut OutBuf) -> KResult {
    let mut shape: SmallVec<[usize; 6]> = x.shape().into();
    shape.insert(axis, 1);
    reshape_exact(x, &shape, out)
}

pub fn squeeze(x: &Value, axes: &[usize], out: &mut OutBuf) -> KResult {
    let shape = x.shape();
    for &a in axes {
        if shape[a] != 1 {
            return Err(format!(
                "Can not squeeze dim[{a}], expected a dimension of 1, got {}",
                shape[a]
            ));
        }
    }
    let kept: SmallVec<[usize; 6]> = shape
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect();
    reshape_exact(x, &kept, out)
}

fn views<'a, T: Element>(xs: &[&'a Value]) -> Result<Vec<ArrayViewD<'a, T>>, String> {
    xs.iter()
        .map(|x| {
            x.view::<T>()
                .ok_or_else(|| format!("mixed dtypes: expected {}", T::DTYPE))
        })
        .collect()
}

/// Calls `$f::<T>` with the element type of `$dtype`.
macro_rules! by_dtype {
    ($dtype:expr, $f:ident ( $($arg:expr),* )) => {
        match $dtype {
            DType::F32 => $f::<f32>($($arg),*),
            DType::F64 => $f::<f64>($($arg),*),
            DType::I32 => $f::<i32>($($arg),*),
            DType::I64 => $f::<i64>($($arg),*),
            DType::Bool => $f::<bool>($($arg),*),
        }
    };
}

pub fn concat(xs: &[&Value], axis: usize) -> KResult {
    fn go<T: Element>(xs: &[&Value], axis: usize) -> KResult {
        let v = views::<T>(xs)?;
        ndarray::concatenate(Axis(axis), &v)
            .map(T::wrap)
            .map_err(|e| format!("ConcatOp: {e}"))
    }
    by_dtype!(xs[0].dtype(), go(xs, axis))
}

pub fn stack(xs: &[&Value], axis: usize) -> KResult {
    fn go<T: Element>(xs: &[&Value], axis: usize) -> KResult {
        let v = views::<T>(xs)?;
        ndarray::stack(Axis(axis), &v)
            .map(T::wrap)
            .map_err(|e| format!("Shapes of all inputs must match: {e}"))
    }
    by_dtype!(xs[0].dtype(), go(xs, axis))
}

pub fn slice(x: &Value, begin: &[usize], size: &[Option<usize>]) -> KResult {
    let shape = x.shape();
    let mut ranges = Vec::with_capacity(shape.len());
    for (i, &d) in shape.iter().enumerate() {
        let end = match size[i] {
            Some(s) => begin[i] + s,
            None => d,
        };
        if begin[i] > end || end > d {
            return Err(format!(
                "Expected begin {begin:?} and size {size:?} to fit in input of shape {shape:?}"
            ));
        }
        ranges.push((begin[i], end));
    }
    Ok(with_array!(x, a => a.slice_each_axis(|ax| {
        let (b, e) = ranges[ax.axis.index()];
        Slice::from(b..e)
    }).to_owned().into()))
}

/// Indices as usize, checked against `0..limit`.
fn indices(idx: &Value, limit: usize) -> Result<Vec<usize>, String> {
    let raw: Vec<i64> = match idx {
        Value::I32(a) => a.iter().map(|&v| v as i64).collect(),
        Value::I64(a) => a.iter().copied().collect(),
        other => return Err(format!("indices must be i32 or i64, not {}", other.dtype())),
    };
    raw.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0 && (v as usize) < limit {
                Ok(v as usize)
            } else {
                Err(format!("indices[{i}] = {v} is not in [0, {limit})"))
            }
        })
        .collect()
}

pub fn gather(params: &Value, idx: &Value, axis: usize) -> KResult {
    let ps = params.shape();
    let flat = indices(idx, ps[axis])?;
    let mut shape: Vec<usize> = ps[..axis].to_vec();
    shape.extend_from_slice(idx.shape());
    shape.extend_from_slice(&ps[axis + 1..]);
    let picked: Value = with_array!(params, a => a.select(Axis(axis), &flat).into());
    reshape_exact(&picked, &shape, &mut OutBuf::default())
}

pub fn gather_grad(grad: &Value, idx: &Value, shape: &[usize], axis: usize) -> KResult {
    fn go<T: super::scalar::Num + num_traits::Zero>(
        g: &ArrayD<T>,
        flat: &[usize],
        shape: &[usize],
        axis: usize,
    ) -> Result<ArrayD<T>, String> {
        let mut out = ArrayD::<T>::zeros(IxDyn(shape));
        // View the gradient as [outer, n_indices, inner] to match [outer, dim, inner] of out.
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let g3 = g
            .to_shape((outer, flat.len(), inner))
            .map_err(|e| e.to_string())?;
        let mut o3 = out
            .view_mut()
            .into_shape_with_order((outer, shape[axis], inner))
            .map_err(|e| e.to_string())?;
        for (j, &row) in flat.iter().enumerate() {
            let src = g3.index_axis(Axis(1), j);
            let mut dst = o3.index_axis_mut(Axis(1), row);
            dst.zip_mut_with(&src, |d, &s| *d = super::scalar::Num::add(*d, s));
        }
        Ok(out)
    }
    let flat = indices(idx, shape[axis])?;
    Ok(match grad {
        Value::F32(g) => Value::F32(go(g, &flat, shape, axis)?),
        Value::F64(g) => Value::F64(go(g, &flat, shape, axis)?),
        other => return Err(format!("GatherGrad is not defined for {}", other.dtype())),
    })
}

pub fn one_hot(idx: &Value, depth: usize, on: f64, off: f64, dtype: DType) -> KResult {
    let raw: Vec<i64> = match idx {
        Value::I32(a) => a.iter().map(|&v| v as i64).collect(),
        Value::I64(a) => a.iter().copied().collect(),
        other => return Err(format!("indices must be i32 or i64, not {}", other.dtype())),
    };
    let mut shape = idx.shape().to_vec();
    shape.push(depth);
    let mut out = vec![off; raw.len() * depth];
    for (i, &v) in raw.iter().enumerate() {
        // Indices outside 0..depth give a row of off values, as in TF.
        if v >= 0 && (v as usize) < depth {
            out[i * depth + v as usize] = on;
        }
    }
    let v = Value::from_vec(&shape, out).ok_or("one_hot: shape mismatch")?;
    Ok(v.cast(dtype))
}

pub fn shape_of(x: &Value, out: &mut OutBuf) -> Value {
    let mut dims = out.vec::<i64>(x.ndim());
    dims.extend(x.shape().iter().map(|&d| d as i64));
    Value::I64(super::array(&[dims.len()], dims))
}

/// The dimensions a shape operand (a 1-D i64 tensor) holds; on the stack for ranks up to 6.
pub fn shape_arg(v: &Value) -> Result<smallvec::SmallVec<[usize; 6]>, String> {
    match v {
        Value::I64(a) if a.ndim() == 1 && a.iter().all(|&d| d >= 0) => {
            Ok(a.iter().map(|&d| d as usize).collect())
        }
        other => Err(format!(
            "a shape must be a vector of non-negative i64, got {other:?}"
        )),
    }
}

pub fn broadcast_to(x: &Value, shape: &[usize], out: &mut OutBuf) -> KResult {
    Ok(with_array!(x, a => {
        let view = a.broadcast(IxDyn(shape)).ok_or_else(|| {
            format!("Unable to broadcast tensor of shape {:?} to {shape:?}", a.shape())
        })?;
        let mut data = out.vec(view.len());
        data.extend(view.iter().cloned());
        super::array(shape, data).into()
    }))
}

pub fn slice_grad(grad: &Value, shape: &[usize], begin: &[usize]) -> KResult {
    fn go<T: Element + num_traits::Zero>(
        g: &ArrayD<T>,
        shape: &[usize],
        begin: &[usize],
    ) -> Result<ArrayD<T>, String> {
        let mut out = ArrayD::<T>::zeros(IxDyn(shape));
        if begin
            .iter()
            .zip(g.shape())
            .zip(shape)
            .any(|((&b, &n), &d)| b + n > d)
        {
            return Err(format!(
                "slice of shape {:?} at {begin:?} does not fit in {shape:?}",
                g.shape()
            ));
        }
        out.slice_each_axis_mut(|ax| {
            let i = ax.axis.index();
            Slice::from(begin[i]..begin[i] + g.shape()[i])
        })
        .assign(g);
        Ok(out)
    }
    Ok(match grad {
        Value::F32(g) => Value::F32(go(g, shape, begin)?),
        Value::F64(g) => Value::F64(go(g, shape, begin)?),
        other => return Err(format!("SliceGrad is not defined for {}", other.dtype())),
    })
}

pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Value {
    let step = if num > 1 {
        (stop - start) / (num - 1) as f64
    } else {
        0.0
    };
    let data: Vec<f64> = (0..num)
        .map(|i| {
            if i + 1 == num && num > 1 {
                stop
            } else {
                start + step * i as f64
            }
        })
        .collect();
    Value::from_vec(&[num], data)
        .expect("length matches")
        .cast(dtype)
}

pub fn range(start: f64, delta: f64, n: usize, dtype: DType) -> Value {
    let data: Vec<f64> = (0..n).map(|i| start + delta * i as f64).collect();
    Value::from_vec(&[n], data)
        .expect("length matches")
        .cast(dtype)
}
