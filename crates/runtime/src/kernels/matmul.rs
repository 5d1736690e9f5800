//! Matrix products over the last two axes, with transpose flags and broadcast batch axes.

use super::elementwise::broadcast_shape;
use super::KResult;
use ndarray::{
    linalg::general_mat_mul, Array2, ArrayD, ArrayView2, Axis, Ix2, IxDyn, LinalgScalar,
};
use rill_graph::Value;

pub fn matmul(a: &Value, b: &Value, ta: bool, tb: bool) -> KResult {
    Ok(match (a, b) {
        (Value::F32(x), Value::F32(y)) => Value::F32(batched(x, y, ta, tb)?),
        (Value::F64(x), Value::F64(y)) => Value::F64(batched(x, y, ta, tb)?),
        (Value::I32(x), Value::I32(y)) => Value::I32(batched(x, y, ta, tb)?),
        (Value::I64(x), Value::I64(y)) => Value::I64(batched(x, y, ta, tb)?),
        _ => {
            return Err(format!(
                "MatMul is not defined for {} and {}",
                a.dtype(),
                b.dtype()
            ))
        }
    })
}

fn matrix<T>(a: ArrayView2<'_, T>, transpose: bool) -> ArrayView2<'_, T> {
    if transpose {
        a.reversed_axes()
    } else {
        a
    }
}

fn batched<T: LinalgScalar>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    ta: bool,
    tb: bool,
) -> Result<ArrayD<T>, String> {
    let (ra, rb) = (a.ndim(), b.ndim());
    if ra < 2 || rb < 2 {
        return Err(format!(
            "MatMul needs rank >= 2, got {:?} and {:?}",
            a.shape(),
            b.shape()
        ));
    }
    let (sa, sb) = (a.shape(), b.shape());
    let (m, k) = if ta {
        (sa[ra - 1], sa[ra - 2])
    } else {
        (sa[ra - 2], sa[ra - 1])
    };
    let (k2, n) = if tb {
        (sb[rb - 1], sb[rb - 2])
    } else {
        (sb[rb - 2], sb[rb - 1])
    };
    if k != k2 {
        return Err(format!(
            "Matrix size-incompatible: In[0]: {sa:?}, In[1]: {sb:?} (inner dimensions {k} and {k2})"
        ));
    }
    if ra == 2 && rb == 2 {
        let x = matrix(a.view().into_dimensionality::<Ix2>().expect("rank 2"), ta);
        let y = matrix(b.view().into_dimensionality::<Ix2>().expect("rank 2"), tb);
        return Ok(x.dot(&y).into_dyn());
    }
    let batch = broadcast_shape(&sa[..ra - 2], &sb[..rb - 2])?;
    let count: usize = batch.iter().product();
    let full = |s: &[usize], r: usize| -> Vec<usize> {
        batch.iter().chain(&s[r - 2..]).copied().collect()
    };
    let av = a
        .broadcast(IxDyn(&full(sa, ra)))
        .ok_or("batch axes do not broadcast")?;
    let bv = b
        .broadcast(IxDyn(&full(sb, rb)))
        .ok_or("batch axes do not broadcast")?;
    let a3 = av
        .to_shape((count, sa[ra - 2], sa[ra - 1]))
        .map_err(|e| e.to_string())?;
    let b3 = bv
        .to_shape((count, sb[rb - 2], sb[rb - 1]))
        .map_err(|e| e.to_string())?;
    let mut out = ndarray::Array3::<T>::zeros((count, m, n));
    for (i, mut o) in out.axis_iter_mut(Axis(0)).enumerate() {
        let x = matrix(a3.index_axis(Axis(0), i), ta);
        let y = matrix(b3.index_axis(Axis(0), i), tb);
        general_mat_mul(T::one(), &x, &y, T::zero(), &mut o);
    }
    let mut shape = batch;
    shape.extend([m, n]);
    out.into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
}

/// Plain 2-D product (used by tests as a reference).
pub fn mat2<T: LinalgScalar>(a: &Array2<T>, b: &Array2<T>) -> Array2<T> {
    a.dot(b)
}
