//! One gradient rule per op, each built from graph ops (so gradients of gradients work).
//!
//! `gradient` returns, for each input of the node, the gradient of the (weighted) ys with
//! respect to it given `dy`, the gradient with respect to the node's output; `None` for inputs
//! that get none (indices, conditions, shapes). It returns `None` altogether for an op that has
//! no gradient rule.

use rill_graph::{BinaryOp, GraphError, Node, Op, ReduceOp, Shape, Tensor, UnaryOp, Value};

type Grads<'g> = Vec<Option<Tensor<'g>>>;
type R<'g> = Result<Option<Grads<'g>>, GraphError>;

#[track_caller]
pub(crate) fn gradient<'g>(node: &Node, x: &[Tensor<'g>], y: Tensor<'g>, dy: Tensor<'g>) -> R<'g> {
    let one = |g: Tensor<'g>| Ok(Some(vec![Some(g)]));
    match &node.op {
        Op::Unary(u) => one(unary(*u, x[0], y, dy)?),
        Op::Binary(b) => binary(*b, x[0], x[1], y, dy).map(Some),
        Op::Select => {
            let zero = scalar(dy, 0.0)?;
            let g = dy.graph();
            let dx = g.try_select(x[0], dy, zero)?;
            let dz = g.try_select(x[0], zero, dy)?;
            Ok(Some(vec![
                None,
                Some(unbroadcast(dx, x[1])?),
                Some(unbroadcast(dz, x[2])?),
            ]))
        }
        Op::Cast { .. } => {
            if x[0].dtype().is_float() {
                one(dy.try_cast(x[0].dtype())?)
            } else {
                Ok(Some(vec![None]))
            }
        }
        Op::Identity | Op::CheckNumerics { .. } => one(dy),
        Op::MatMul {
            transpose_a,
            transpose_b,
        } => {
            let (a, b) = (x[0], x[1]);
            let (da, db) = match (transpose_a, transpose_b) {
                (false, false) => (
                    dy.try_matmul_t(b, false, true)?,
                    a.try_matmul_t(dy, true, false)?,
                ),
                (false, true) => (
                    dy.try_matmul_t(b, false, false)?,
                    dy.try_matmul_t(a, true, false)?,
                ),
                (true, false) => (
                    b.try_matmul_t(dy, false, true)?,
                    a.try_matmul_t(dy, false, false)?,
                ),
                (true, true) => (
                    b.try_matmul_t(dy, true, true)?,
                    dy.try_matmul_t(a, true, true)?,
                ),
            };
            Ok(Some(vec![
                Some(unbroadcast(da, a)?),
                Some(unbroadcast(db, b)?),
            ]))
        }
        Op::Reduce {
            op,
            axes,
            keep_dims,
        } => one(reduce(*op, axes, *keep_dims, x[0], y, dy)?),
        Op::Softmax { axis } => {
            let s = dy.try_mul(y)?.try_sum(*axis as i64, true)?;
            one(dy.try_sub(s)?.try_mul(y)?)
        }
        Op::LogSoftmax { axis } => {
            let s = dy.try_sum(*axis as i64, true)?;
            one(dy.try_sub(y.try_exp()?.try_mul(s)?)?)
        }
        Op::Reshape { .. } | Op::ExpandDims { .. } | Op::Squeeze { .. } => {
            one(dy.try_reshape_like(x[0])?)
        }
        Op::ReshapeTo { .. } => Ok(Some(vec![Some(dy.try_reshape_like(x[0])?), None])),
        Op::Transpose { perm } => {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            one(dy.try_permute(&inverse)?)
        }
        Op::Concat { axis } => {
            let mut offset = 0usize;
            let mut grads = Vec::with_capacity(x.len());
            for t in x {
                let shape = t.shape();
                let Some(n) = shape.0[*axis].known() else {
                    return Err(unsupported(node, "concat along an axis of unknown size"));
                };
                let mut begin = vec![0; shape.rank()];
                begin[*axis] = offset;
                let mut size = vec![-1i64; shape.rank()];
                size[*axis] = n as i64;
                grads.push(Some(dy.try_slice(&begin, &size)?));
                offset += n;
            }
            Ok(Some(grads))
        }
        Op::Stack { axis } => {
            let rank = y.rank();
            let mut grads = Vec::with_capacity(x.len());
            for (i, t) in x.iter().enumerate() {
                let mut begin = vec![0; rank];
                begin[*axis] = i;
                let mut size = vec![-1i64; rank];
                size[*axis] = 1;
                grads.push(Some(dy.try_slice(&begin, &size)?.try_reshape_like(*t)?));
            }
            Ok(Some(grads))
        }
        Op::Slice { begin, .. } => one(dy.try_slice_grad(x[0], begin)?),
        Op::Gather { axis } => Ok(Some(vec![
            Some(dy.try_gather_grad(x[1], x[0], *axis)?),
            None,
        ])),
        Op::BroadcastTo { .. } => Ok(Some(vec![Some(dy.try_sum_to_like(x[0])?), None])),
        Op::SumTo { .. } => Ok(Some(vec![Some(dy.try_broadcast_like(x[0])?), None])),
        Op::SliceGrad { begin, .. } => {
            let size: Vec<i64> = x[0]
                .shape()
                .0
                .iter()
                .map(|d| d.known().map_or(-1, |n| n as i64))
                .collect();
            Ok(Some(vec![Some(dy.try_slice(begin, &size)?), None]))
        }
        Op::GatherGrad { axis, .. } => Ok(Some(vec![
            Some(dy.try_gather(x[1], *axis as i64)?),
            None,
            None,
        ])),
        // Constant with respect to every input: no gradient flows.
        Op::StopGradient
        | Op::Compare(_)
        | Op::ArgMax { .. }
        | Op::ArgMin { .. }
        | Op::OneHot { .. }
        | Op::ShapeOf
        | Op::Assign { .. } => Ok(Some(vec![None; x.len()])),
        // No inputs.
        Op::Placeholder
        | Op::Const(_)
        | Op::Variable { .. }
        | Op::NoOp
        | Op::LinSpace { .. }
        | Op::Range { .. }
        | Op::Random { .. } => Ok(Some(Vec::new())),
    }
}

fn unsupported(node: &Node, what: &str) -> GraphError {
    GraphError::InvalidArgument {
        message: format!(
            "gradient of '{}' (op: {}): {what} is not supported",
            node.name,
            node.op.type_name()
        ),
        location: rill_graph::error::location_string(node.location),
    }
}

/// A scalar constant of `like`'s dtype.
#[track_caller]
fn scalar<'g>(like: Tensor<'g>, v: f64) -> Result<Tensor<'g>, GraphError> {
    like.graph().try_constant(Value::full(like.dtype(), &[], v))
}

/// `grad` summed down to `x`'s shape where the forward op broadcast `x`.
#[track_caller]
fn unbroadcast<'g>(grad: Tensor<'g>, x: Tensor<'g>) -> Result<Tensor<'g>, GraphError> {
    let (gs, xs) = (grad.shape(), x.shape());
    if gs == xs && xs.to_known().is_some() {
        return Ok(grad);
    }
    grad.try_sum_to_like(x)
}

/// 1.0 where `cond` holds, else 0.0, in `like`'s dtype.
#[track_caller]
fn mask<'g>(cond: Tensor<'g>, like: Tensor<'g>) -> Result<Tensor<'g>, GraphError> {
    cond.try_cast(like.dtype())
}

#[track_caller]
fn unary<'g>(
    op: UnaryOp,
    x: Tensor<'g>,
    y: Tensor<'g>,
    dy: Tensor<'g>,
) -> Result<Tensor<'g>, GraphError> {
    let g = dy.graph();
    match op {
        UnaryOp::Neg => dy.try_neg(),
        UnaryOp::Abs => dy.try_mul(x.try_sign()?),
        UnaryOp::Sign => dy.try_mul(0.0),
        UnaryOp::Square => dy.try_mul(x.try_mul(2.0)?),
        UnaryOp::Exp => dy.try_mul(y),
        UnaryOp::Log => dy.try_div(x),
        UnaryOp::Sqrt => dy.try_mul(0.5)?.try_div(y),
        UnaryOp::Rsqrt => dy.try_mul(y.try_mul(y)?.try_mul(y)?.try_mul(-0.5)?),
        UnaryOp::Sin => dy.try_mul(x.try_cos()?),
        UnaryOp::Cos => dy.try_mul(x.try_sin()?.try_neg()?),
        UnaryOp::Tanh => dy.try_mul(scalar(y, 1.0)?.try_sub(y.try_square()?)?),
        UnaryOp::Sigmoid => dy.try_mul(y.try_mul(scalar(y, 1.0)?.try_sub(y)?)?),
        // The output's sign, as TF's ReluGrad takes it (relu(x) > 0 exactly where x > 0): then
        // nothing but the relu reads the pre-activation, which fuses into the producer.
        UnaryOp::Relu => dy.try_mul(mask(y.try_greater(0.0)?, dy)?),
        UnaryOp::LeakyRelu { alpha } => {
            let slope = g.try_select(x.try_greater(0.0)?, scalar(x, 1.0)?, scalar(x, alpha)?)?;
            dy.try_mul(slope)
        }
        UnaryOp::Elu { alpha } => {
            let slope = g.try_select(x.try_greater(0.0)?, scalar(x, 1.0)?, y.try_add(alpha)?)?;
            dy.try_mul(slope)
        }
        UnaryOp::Softplus => dy.try_mul(x.try_sigmoid()?),
        // TF's `_Log1pGrad`: grad * reciprocal(1 + x).
        UnaryOp::Log1p => dy.try_mul(scalar(x, 1.0)?.try_div(x.try_add(1.0)?)?),
    }
}

#[track_caller]
fn binary<'g>(
    op: BinaryOp,
    a: Tensor<'g>,
    b: Tensor<'g>,
    y: Tensor<'g>,
    dy: Tensor<'g>,
) -> Result<Grads<'g>, GraphError> {
    let g = dy.graph();
    let (da, db) = match op {
        BinaryOp::Add => (dy, dy),
        BinaryOp::Sub => (dy, dy.try_neg()?),
        BinaryOp::Mul => (dy.try_mul(b)?, dy.try_mul(a)?),
        BinaryOp::Div => {
            let da = dy.try_div(b)?;
            (da, da.try_mul(y)?.try_neg()?)
        }
        BinaryOp::Pow => {
            let da = dy.try_mul(b)?.try_mul(a.try_pow(b.try_sub(1.0)?)?)?;
            // d/db a^b = a^b log a, taken as 0 where a <= 0 (as TF does) to avoid NaN.
            let positive = a.try_greater(0.0)?;
            let safe_a = g.try_select(positive, a, scalar(a, 1.0)?.try_broadcast_like(a)?)?;
            let log_a = g.try_select(positive, safe_a.try_log()?, scalar(a, 0.0)?)?;
            (da, dy.try_mul(y)?.try_mul(log_a)?)
        }
        BinaryOp::Maximum => {
            let pick_a = mask(a.try_greater_equal(b)?, dy)?;
            (
                dy.try_mul(pick_a)?,
                dy.try_mul(scalar(dy, 1.0)?.try_sub(pick_a)?)?,
            )
        }
        BinaryOp::Minimum => {
            let pick_a = mask(a.try_less_equal(b)?, dy)?;
            (
                dy.try_mul(pick_a)?,
                dy.try_mul(scalar(dy, 1.0)?.try_sub(pick_a)?)?,
            )
        }
    };
    Ok(vec![Some(unbroadcast(da, a)?), Some(unbroadcast(db, b)?)])
}

/// `dy` with the reduced axes put back as size 1, so it broadcasts against the input.
#[track_caller]
fn keep_dims_shape<'g>(
    dy: Tensor<'g>,
    axes: &[usize],
    keep_dims: bool,
) -> Result<Tensor<'g>, GraphError> {
    let mut t = dy;
    if !keep_dims {
        for &a in axes {
            t = t.try_expand_dims(a as i64)?;
        }
    }
    Ok(t)
}

#[track_caller]
fn reduce<'g>(
    op: ReduceOp,
    axes: &[usize],
    keep_dims: bool,
    x: Tensor<'g>,
    y: Tensor<'g>,
    dy: Tensor<'g>,
) -> Result<Tensor<'g>, GraphError> {
    let dy_k = keep_dims_shape(dy, axes, keep_dims)?;
    match op {
        ReduceOp::Sum => dy_k.try_broadcast_like(x),
        ReduceOp::Mean => {
            let shape: Shape = x.shape();
            let count: Option<usize> = axes.iter().map(|&a| shape.0[a].known()).product();
            let spread = dy_k.try_broadcast_like(x)?;
            match count {
                Some(n) => spread.try_div(n as f64),
                None => {
                    // The count is known only at run time: sum ones over the reduced axes.
                    let ones = super::ones_like(x.graph(), x)?;
                    spread.try_div(
                        ones.try_sum(axes.iter().map(|&a| a as i64).collect::<Vec<_>>(), true)?,
                    )
                }
            }
        }
        ReduceOp::Max | ReduceOp::Min => {
            // The gradient goes to the extreme elements, shared equally among ties (as TF).
            let y_k = keep_dims_shape(y, axes, keep_dims)?;
            let hits = mask(x.try_equal(y_k)?, x)?;
            let ties = hits.try_sum(axes.iter().map(|&a| a as i64).collect::<Vec<_>>(), true)?;
            hits.try_div(ties)?.try_mul(dy_k)
        }
    }
}
