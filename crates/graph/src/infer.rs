//! Static shape and dtype inference, one rule per op, run when each node is built.
//!
//! A rule returns the output dtype and shape, or a message in TensorFlow's words; the graph wraps
//! the message with the node's name, op, input shapes and the user's line.

use crate::dtype::DType;
use crate::graph::Node;
use crate::op::Op;
use crate::shape::{broadcast_shapes, Dim, Shape};

type Meta = (DType, Shape);
type Inputs<'a> = [(DType, &'a Shape)];

/// The output dtype and shape of `op` on inputs of these dtypes and shapes, without the graph:
/// what the compiler's shape specialisation asks once fed shapes are known. Ops whose output is
/// declared rather than inferred, and assigns (which need their variable), are errors here.
pub fn infer_output(op: &Op, inputs: &[(DType, &Shape)]) -> Result<(DType, Shape), String> {
    if matches!(op, Op::Assign { .. }) {
        return Err("an assign's shape is its variable's".to_string());
    }
    infer(op, inputs, &[])
}

/// Infers the output of `op` applied to inputs of the given dtypes and shapes.
/// Source ops (placeholder, variable, random, sequences) declare their output instead.
pub(crate) fn infer(op: &Op, inputs: &Inputs<'_>, nodes: &[Node]) -> Result<Meta, String> {
    match op {
        Op::Placeholder
        | Op::Variable { .. }
        | Op::LinSpace { .. }
        | Op::Range { .. }
        | Op::Random { .. } => Err(format!(
            "{} must declare its dtype and shape",
            op.type_name()
        )),
        Op::Const(v) => Ok((v.dtype(), Shape::known(v.shape()))),
        Op::NoOp => Ok((DType::Bool, Shape::scalar())),
        Op::Assign { var, .. } => {
            arity(inputs, 1)?;
            let v = &nodes[var.index()];
            same_dtype(v.dtype, inputs[0].0)?;
            if !compatible(&v.shape, inputs[0].1) {
                return Err(format!(
                    "Shapes must be equal: variable '{}' has shape {} but the value has shape {}",
                    v.name, v.shape, inputs[0].1
                ));
            }
            Ok((v.dtype, v.shape.clone()))
        }
        Op::Unary(u) => {
            arity(inputs, 1)?;
            let (dt, sh) = inputs[0];
            if !(dt.is_float() || (dt.is_integer() && u.accepts_integers())) {
                return Err(unsupported_dtype(
                    dt,
                    if u.accepts_integers() {
                        "numbers"
                    } else {
                        "floats"
                    },
                ));
            }
            Ok((dt, sh.clone()))
        }
        Op::Binary(b) => {
            arity(inputs, 2)?;
            same_dtype(inputs[0].0, inputs[1].0)?;
            let dt = inputs[0].0;
            let float_only = matches!(b, crate::op::BinaryOp::Pow);
            if !(dt.is_float() || (dt.is_integer() && !float_only)) {
                return Err(unsupported_dtype(
                    dt,
                    if float_only { "floats" } else { "numbers" },
                ));
            }
            Ok((dt, broadcast(inputs[0].1, inputs[1].1)?))
        }
        Op::Compare(_) => {
            arity(inputs, 2)?;
            same_dtype(inputs[0].0, inputs[1].0)?;
            Ok((DType::Bool, broadcast(inputs[0].1, inputs[1].1)?))
        }
        Op::Select => {
            arity(inputs, 3)?;
            if inputs[0].0 != DType::Bool {
                return Err(format!("condition must be bool, not {}", inputs[0].0));
            }
            same_dtype(inputs[1].0, inputs[2].0)?;
            let xy = broadcast(inputs[1].1, inputs[2].1)?;
            Ok((inputs[1].0, broadcast(inputs[0].1, &xy)?))
        }
        Op::Cast { to } => {
            arity(inputs, 1)?;
            Ok((*to, inputs[0].1.clone()))
        }
        Op::Identity | Op::StopGradient => {
            arity(inputs, 1)?;
            Ok((inputs[0].0, inputs[0].1.clone()))
        }
        Op::CheckNumerics { .. } => {
            arity(inputs, 1)?;
            float(inputs[0].0)?;
            Ok((inputs[0].0, inputs[0].1.clone()))
        }
        Op::MatMul {
            transpose_a,
            transpose_b,
        } => matmul(inputs, *transpose_a, *transpose_b),
        Op::Reduce {
            op,
            axes,
            keep_dims,
        } => {
            arity(inputs, 1)?;
            let (dt, sh) = inputs[0];
            if !dt.is_numeric() {
                return Err(unsupported_dtype(dt, "numbers"));
            }
            if matches!(op, crate::op::ReduceOp::Mean) && !dt.is_float() {
                float(dt)?;
            }
            check_axes(axes, sh.rank())?;
            Ok((dt, reduced(sh, axes, *keep_dims)))
        }
        Op::ArgMax { axis } | Op::ArgMin { axis } => {
            arity(inputs, 1)?;
            let (dt, sh) = inputs[0];
            if !dt.is_numeric() {
                return Err(unsupported_dtype(dt, "numbers"));
            }
            check_axes(&[*axis], sh.rank())?;
            if sh.0[*axis] == Dim::Known(0) {
                return Err("Reduction axis is empty".to_string());
            }
            Ok((DType::I64, reduced(sh, &[*axis], false)))
        }
        Op::Softmax { axis } | Op::LogSoftmax { axis } => {
            arity(inputs, 1)?;
            float(inputs[0].0)?;
            check_axes(&[*axis], inputs[0].1.rank())?;
            Ok((inputs[0].0, inputs[0].1.clone()))
        }
        Op::Reshape { shape } => {
            arity(inputs, 1)?;
            Ok((inputs[0].0, reshape(inputs[0].1, shape)?))
        }
        Op::Transpose { perm } => {
            arity(inputs, 1)?;
            let sh = inputs[0].1;
            let mut seen = vec![false; sh.rank()];
            if perm.len() != sh.rank()
                || perm
                    .iter()
                    .any(|&p| p >= sh.rank() || std::mem::replace(&mut seen[p], true))
            {
                return Err(format!(
                    "perm {perm:?} is not a permutation of 0..{}",
                    sh.rank()
                ));
            }
            Ok((inputs[0].0, Shape(perm.iter().map(|&p| sh.0[p]).collect())))
        }
        Op::ExpandDims { axis } => {
            arity(inputs, 1)?;
            let mut dims = inputs[0].1 .0.clone();
            if *axis > dims.len() {
                return Err(format!(
                    "axis {axis} is out of range for rank {}",
                    dims.len() + 1
                ));
            }
            dims.insert(*axis, Dim::Known(1));
            Ok((inputs[0].0, Shape(dims)))
        }
        Op::Squeeze { axes } => {
            arity(inputs, 1)?;
            let sh = inputs[0].1;
            check_axes(axes, sh.rank())?;
            for &a in axes {
                if let Dim::Known(n) = sh.0[a] {
                    if n != 1 {
                        return Err(format!(
                            "Can not squeeze dim[{a}], expected a dimension of 1, got {n}"
                        ));
                    }
                }
            }
            let dims =
                sh.0.iter()
                    .enumerate()
                    .filter(|(i, _)| !axes.contains(i))
                    .map(|(_, d)| *d);
            Ok((inputs[0].0, Shape(dims.collect())))
        }
        Op::Concat { axis } => concat(inputs, *axis),
        Op::Stack { axis } => {
            if inputs.is_empty() {
                return Err("stack needs at least one tensor".to_string());
            }
            let mut merged = inputs[0].1.clone();
            for &(dt, sh) in &inputs[1..] {
                same_dtype(inputs[0].0, dt)?;
                merged = merge(&merged, sh).ok_or_else(|| {
                    format!(
                        "Shapes {} and {} are incompatible for stack",
                        inputs[0].1, sh
                    )
                })?;
            }
            if *axis > merged.rank() {
                return Err(format!(
                    "axis {axis} is out of range for rank {}",
                    merged.rank() + 1
                ));
            }
            merged.0.insert(*axis, Dim::Known(inputs.len()));
            Ok((inputs[0].0, merged))
        }
        Op::Slice { begin, size } => {
            arity(inputs, 1)?;
            let sh = inputs[0].1;
            if begin.len() != sh.rank() || size.len() != sh.rank() {
                return Err(format!(
                    "begin {begin:?} and size {size:?} must both have one entry per axis of a rank-{} tensor",
                    sh.rank()
                ));
            }
            let mut dims = Vec::with_capacity(sh.rank());
            for (i, d) in sh.0.iter().enumerate() {
                let out = match (d.known(), size[i]) {
                    (Some(n), Some(s)) if begin[i] + s > n => {
                        return Err(format!(
                            "slice [{}, {}) is out of range for axis {i} of size {n}",
                            begin[i],
                            begin[i] + s
                        ))
                    }
                    (Some(n), None) if begin[i] > n => {
                        return Err(format!(
                            "begin {} is out of range for axis {i} of size {n}",
                            begin[i]
                        ))
                    }
                    (_, Some(s)) => Dim::Known(s),
                    (Some(n), None) => Dim::Known(n - begin[i]),
                    (None, None) => Dim::Unknown,
                };
                dims.push(out);
            }
            Ok((inputs[0].0, Shape(dims)))
        }
        Op::Gather { axis } => {
            arity(inputs, 2)?;
            let (dt, params) = inputs[0];
            integer(inputs[1].0, "indices")?;
            check_axes(&[*axis], params.rank())?;
            let mut dims = params.0[..*axis].to_vec();
            dims.extend_from_slice(&inputs[1].1 .0);
            dims.extend_from_slice(&params.0[axis + 1..]);
            Ok((dt, Shape(dims)))
        }
        Op::OneHot { dtype, .. } => {
            arity(inputs, 1)?;
            integer(inputs[0].0, "indices")?;
            let Op::OneHot { depth, .. } = op else {
                unreachable!()
            };
            let mut dims = inputs[0].1 .0.clone();
            dims.push(Dim::Known(*depth));
            Ok((*dtype, Shape(dims)))
        }
        Op::ShapeOf => {
            arity(inputs, 1)?;
            Ok((DType::I64, Shape::known(&[inputs[0].1.rank()])))
        }
        Op::BroadcastTo { shape } => {
            arity(inputs, 2)?;
            shape_input(inputs[1], shape)?;
            let out = broadcast(inputs[0].1, shape)?;
            if out.rank() != shape.rank() {
                return Err(format!("cannot broadcast {} to {}", inputs[0].1, shape));
            }
            Ok((inputs[0].0, shape.clone()))
        }
        Op::SumTo { shape } => {
            arity(inputs, 2)?;
            shape_input(inputs[1], shape)?;
            if broadcast(shape, inputs[0].1)?.rank() != inputs[0].1.rank() {
                return Err(format!("{} does not broadcast to {}", shape, inputs[0].1));
            }
            Ok((inputs[0].0, shape.clone()))
        }
        Op::ReshapeTo { shape } => {
            arity(inputs, 2)?;
            shape_input(inputs[1], shape)?;
            if let (Some(a), Some(b)) = (inputs[0].1.num_elements(), shape.num_elements()) {
                if a != b {
                    return Err(format!(
                        "Cannot reshape a tensor with {a} elements to shape {shape} ({b} elements)"
                    ));
                }
            }
            Ok((inputs[0].0, shape.clone()))
        }
        Op::SliceGrad { begin, shape } => {
            arity(inputs, 2)?;
            shape_input(inputs[1], shape)?;
            if begin.len() != shape.rank() || inputs[0].1.rank() != shape.rank() {
                return Err(format!(
                    "slice gradient of rank {} into rank {}",
                    inputs[0].1.rank(),
                    shape.rank()
                ));
            }
            Ok((inputs[0].0, shape.clone()))
        }
        Op::GatherGrad { axis, shape } => {
            arity(inputs, 3)?;
            integer(inputs[1].0, "indices")?;
            shape_input(inputs[2], shape)?;
            check_axes(&[*axis], shape.rank())?;
            Ok((inputs[0].0, shape.clone()))
        }
    }
}

fn arity(inputs: &Inputs<'_>, n: usize) -> Result<(), String> {
    if inputs.len() == n {
        Ok(())
    } else {
        Err(format!("expected {n} inputs, got {}", inputs.len()))
    }
}

fn same_dtype(a: DType, b: DType) -> Result<(), String> {
    if a == b {
        Ok(())
    } else {
        Err(format!("Input dtypes must match, but are {a} and {b}"))
    }
}

fn float(dt: DType) -> Result<(), String> {
    if dt.is_float() {
        Ok(())
    } else {
        Err(unsupported_dtype(dt, "floats"))
    }
}

fn integer(dt: DType, what: &str) -> Result<(), String> {
    if dt.is_integer() {
        Ok(())
    } else {
        Err(format!("{what} must be i32 or i64, not {dt}"))
    }
}

fn unsupported_dtype(dt: DType, wanted: &str) -> String {
    format!("dtype {dt} is not supported: this op takes {wanted}")
}

fn shape_input(input: (DType, &Shape), shape: &Shape) -> Result<(), String> {
    if input.0 != DType::I64 || input.1 != &Shape::known(&[shape.rank()]) {
        return Err(format!(
            "the shape input must be an i64 vector of length {}",
            shape.rank()
        ));
    }
    Ok(())
}

/// Whether two static shapes can describe the same concrete shape.
pub(crate) fn compatible(a: &Shape, b: &Shape) -> bool {
    merge(a, b).is_some()
}

/// The most specific shape both `a` and `b` admit, if any.
fn merge(a: &Shape, b: &Shape) -> Option<Shape> {
    if a.rank() != b.rank() {
        return None;
    }
    let dims = a.0.iter().zip(&b.0).map(|(x, y)| match (x, y) {
        (Dim::Known(m), Dim::Known(n)) if m != n => None,
        (Dim::Known(m), _) | (_, Dim::Known(m)) => Some(Dim::Known(*m)),
        _ => Some(Dim::Unknown),
    });
    dims.collect::<Option<Vec<_>>>().map(Shape)
}

fn broadcast(a: &Shape, b: &Shape) -> Result<Shape, String> {
    broadcast_shapes(a, b).ok_or_else(|| {
        // Name the first pair of dimensions that clash, as TF does.
        let rank = a.rank().max(b.rank());
        for k in 0..rank {
            let da = (k < a.rank()).then(|| a.0[a.rank() - 1 - k]);
            let db = (k < b.rank()).then(|| b.0[b.rank() - 1 - k]);
            if let (Some(Dim::Known(x)), Some(Dim::Known(y))) = (da, db) {
                if x != y && x != 1 && y != 1 {
                    return format!("Dimensions must be equal, but are {x} and {y}");
                }
            }
        }
        format!("Incompatible shapes: {a} vs. {b}")
    })
}

fn check_axes(axes: &[usize], rank: usize) -> Result<(), String> {
    for &a in axes {
        if a >= rank {
            return Err(format!(
                "axis {a} is out of range for a tensor of rank {rank}"
            ));
        }
    }
    Ok(())
}

fn reduced(sh: &Shape, axes: &[usize], keep_dims: bool) -> Shape {
    let dims =
        sh.0.iter()
            .enumerate()
            .filter_map(|(i, d)| match (axes.contains(&i), keep_dims) {
                (false, _) => Some(*d),
                (true, true) => Some(Dim::Known(1)),
                (true, false) => None,
            });
    Shape(dims.collect())
}

fn matmul(inputs: &Inputs<'_>, ta: bool, tb: bool) -> Result<Meta, String> {
    arity(inputs, 2)?;
    same_dtype(inputs[0].0, inputs[1].0)?;
    let dt = inputs[0].0;
    if !dt.is_numeric() {
        return Err(unsupported_dtype(dt, "numbers"));
    }
    let (a, b) = (inputs[0].1, inputs[1].1);
    if a.rank() < 2 || b.rank() < 2 {
        return Err(format!(
            "Shape must be at least rank 2 but is rank {}",
            a.rank().min(b.rank())
        ));
    }
    let (ra, rb) = (a.rank(), b.rank());
    let (m, ka) = if ta {
        (a.0[ra - 1], a.0[ra - 2])
    } else {
        (a.0[ra - 2], a.0[ra - 1])
    };
    let (kb, n) = if tb {
        (b.0[rb - 1], b.0[rb - 2])
    } else {
        (b.0[rb - 2], b.0[rb - 1])
    };
    if let (Dim::Known(x), Dim::Known(y)) = (ka, kb) {
        if x != y {
            return Err(format!("Dimensions must be equal, but are {x} and {y}"));
        }
    }
    let batch = broadcast(
        &Shape(a.0[..ra - 2].to_vec()),
        &Shape(b.0[..rb - 2].to_vec()),
    )?;
    let mut dims = batch.0;
    dims.push(m);
    dims.push(n);
    Ok((dt, Shape(dims)))
}

fn concat(inputs: &Inputs<'_>, axis: usize) -> Result<Meta, String> {
    if inputs.is_empty() {
        return Err("concat needs at least one tensor".to_string());
    }
    let (dt, first) = inputs[0];
    check_axes(&[axis], first.rank())?;
    let mut dims = first.0.clone();
    for &(d, sh) in &inputs[1..] {
        same_dtype(dt, d)?;
        if sh.rank() != first.rank() {
            return Err(format!(
                "Ranks of all input tensors should match: shape[0] = {first} vs. {sh}"
            ));
        }
        for (i, slot) in dims.iter_mut().enumerate() {
            *slot = match (i == axis, *slot, sh.0[i]) {
                (true, Dim::Known(x), Dim::Known(y)) => Dim::Known(x + y),
                (true, _, _) => Dim::Unknown,
                (false, Dim::Known(x), Dim::Known(y)) if x != y => {
                    return Err(format!(
                        "Dimension {i} in both shapes must be equal, but are {x} and {y}"
                    ))
                }
                (false, Dim::Known(x), _) | (false, _, Dim::Known(x)) => Dim::Known(x),
                (false, _, _) => Dim::Unknown,
            };
        }
    }
    Ok((dt, Shape(dims)))
}

fn reshape(input: &Shape, target: &[i64]) -> Result<Shape, String> {
    let wildcards = target.iter().filter(|&&d| d == -1).count();
    if wildcards > 1 || target.iter().any(|&d| d < -1) {
        return Err(format!(
            "invalid target shape {target:?}: sizes must be >= 0, with at most one -1"
        ));
    }
    let known: usize = target
        .iter()
        .filter(|&&d| d >= 0)
        .map(|&d| d as usize)
        .product();
    let total = input.num_elements();
    let mut dims: Vec<Dim> = target
        .iter()
        .map(|&d| {
            if d < 0 {
                Dim::Unknown
            } else {
                Dim::Known(d as usize)
            }
        })
        .collect();
    match (total, wildcards) {
        (Some(n), 0) if n != known => {
            return Err(format!(
                "Cannot reshape a tensor with {n} elements to shape {target:?} ({known} elements)"
            ))
        }
        (Some(n), 1) => {
            if known == 0 || n % known != 0 {
                return Err(format!(
                    "Cannot reshape a tensor with {n} elements to shape {target:?}: {n} is not a multiple of {known}"
                ));
            }
            let pos = target.iter().position(|&d| d == -1).expect("one wildcard");
            dims[pos] = Dim::Known(n / known);
        }
        _ => {}
    }
    Ok(Shape(dims))
}
