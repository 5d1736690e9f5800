//! Elementwise kernels with NumPy broadcasting: unary, binary, comparisons, select, cast.

use super::scalar::{self, Num, Real};
use super::KResult;
use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};
use rill_graph::shape::broadcast_concrete;
use rill_graph::{BinaryOp, CompareOp, UnaryOp, Value};

pub fn unary(op: UnaryOp, x: &Value) -> KResult {
    fn float<T: Real>(op: UnaryOp, a: &ArrayD<T>) -> ArrayD<T> {
        a.mapv(|v| scalar::unary(op, v))
    }
    fn int<T: Num>(op: UnaryOp, a: &ArrayD<T>) -> ArrayD<T> {
        a.mapv(|v| scalar::unary_int(op, v))
    }
    Ok(match x {
        Value::F32(a) => Value::F32(float(op, a)),
        Value::F64(a) => Value::F64(float(op, a)),
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
pub fn zip_with<A: Copy, B: Copy, C>(
    a: &ArrayD<A>,
    b: &ArrayD<B>,
    f: impl Fn(A, B) -> C,
) -> Result<ArrayD<C>, String> {
    if a.shape() == b.shape() {
        return Ok(Zip::from(a).and(b).map_collect(|&x, &y| f(x, y)));
    }
    let shape = broadcast_shape(a.shape(), b.shape())?;
    let av = broadcast_view(a, &shape)?;
    let bv = broadcast_view(b, &shape)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
}

pub fn broadcast_view<'a, T>(
    a: &'a ArrayD<T>,
    shape: &[usize],
) -> Result<ArrayViewD<'a, T>, String> {
    a.broadcast(IxDyn(shape))
        .ok_or_else(|| format!("Incompatible shapes: {:?} vs. {:?}", a.shape(), shape))
}

pub fn binary(op: BinaryOp, a: &Value, b: &Value) -> KResult {
    fn num<T: Num>(op: BinaryOp, a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>, String> {
        zip_with(a, b, |x, y| scalar::binary(op, x, y))
    }
    fn float<T: Real>(op: BinaryOp, a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>, String> {
        match op {
            BinaryOp::Pow => zip_with(a, b, scalar::pow),
            _ => num(op, a, b),
        }
    }
    fn int<T: Num>(op: BinaryOp, a: &ArrayD<T>, b: &ArrayD<T>) -> Result<ArrayD<T>, String> {
        if op == BinaryOp::Div && b.iter().any(|v| v.is_zero()) {
            return Err("Integer division by zero".to_string());
        }
        num(op, a, b)
    }
    Ok(match (a, b) {
        (Value::F32(x), Value::F32(y)) => Value::F32(float(op, x, y)?),
        (Value::F64(x), Value::F64(y)) => Value::F64(float(op, x, y)?),
        (Value::I32(x), Value::I32(y)) if op != BinaryOp::Pow => Value::I32(int(op, x, y)?),
        (Value::I64(x), Value::I64(y)) if op != BinaryOp::Pow => Value::I64(int(op, x, y)?),
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

pub fn compare(op: CompareOp, a: &Value, b: &Value) -> KResult {
    fn cmp<T: Copy + PartialOrd>(
        op: CompareOp,
        a: &ArrayD<T>,
        b: &ArrayD<T>,
    ) -> Result<ArrayD<bool>, String> {
        zip_with(a, b, |x, y| scalar::compare(op, x, y))
    }
    Ok(Value::Bool(match (a, b) {
        (Value::F32(x), Value::F32(y)) => cmp(op, x, y)?,
        (Value::F64(x), Value::F64(y)) => cmp(op, x, y)?,
        (Value::I32(x), Value::I32(y)) => cmp(op, x, y)?,
        (Value::I64(x), Value::I64(y)) => cmp(op, x, y)?,
        (Value::Bool(x), Value::Bool(y)) => cmp(op, x, y)?,
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
