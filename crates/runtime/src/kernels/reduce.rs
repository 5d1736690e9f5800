//! Reductions over axes, argmax / argmin, softmax and log-softmax along an axis.

use super::scalar::{Num, Real};
use super::KResult;
use ndarray::{ArrayD, Axis, Zip};
use rill_graph::{ReduceOp, Value};

pub fn reduce(op: ReduceOp, x: &Value, axes: &[usize], keep_dims: bool) -> KResult {
    fn go<T: Num>(op: ReduceOp, a: &ArrayD<T>, axes: &[usize], keep_dims: bool) -> ArrayD<T> {
        let mut out = a.clone();
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
        Value::F32(a) => Value::F32(go(op, a, axes, keep_dims)),
        Value::F64(a) => Value::F64(go(op, a, axes, keep_dims)),
        Value::I32(a) if op != ReduceOp::Mean => Value::I32(go(op, a, axes, keep_dims)),
        Value::I64(a) if op != ReduceOp::Mean => Value::I64(go(op, a, axes, keep_dims)),
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
pub fn sum_to(x: &Value, target: &[usize]) -> KResult {
    fn go<T: Num>(a: &ArrayD<T>, target: &[usize]) -> Result<ArrayD<T>, String> {
        let (rx, rt) = (a.ndim(), target.len());
        if rt > rx {
            return Err(format!("cannot sum {:?} down to {target:?}", a.shape()));
        }
        let mut out = a.clone();
        for _ in 0..rx - rt {
            out = out.fold_axis(Axis(0), T::zero(), |&s, &v| s.add(v));
        }
        for (ax, &t) in target.iter().enumerate() {
            let d = out.shape()[ax];
            if t == d {
                continue;
            }
            if t != 1 {
                return Err(format!("cannot sum {:?} down to {target:?}", a.shape()));
            }
            out = out
                .fold_axis(Axis(ax), T::zero(), |&s, &v| s.add(v))
                .insert_axis(Axis(ax));
        }
        Ok(out)
    }
    Ok(match x {
        Value::F32(a) => Value::F32(go(a, target)?),
        Value::F64(a) => Value::F64(go(a, target)?),
        Value::I32(a) => Value::I32(go(a, target)?),
        Value::I64(a) => Value::I64(go(a, target)?),
        Value::Bool(_) => return Err("SumTo is not defined for bool".to_string()),
    })
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
