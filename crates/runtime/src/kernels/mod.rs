//! Kernels: the computation of each pure op on concrete values, dtype dispatched once per op.

pub mod array;
pub mod elementwise;
pub mod fused;
pub mod matmul;
pub mod random;
pub mod reduce;
pub mod scalar;

use rill_graph::{Op, Value};

/// A kernel's result; the message is wrapped with the node's name, op, shapes and line.
pub type KResult = Result<Value, String>;

/// Computes a pure op (no state, no effects) from its inputs.
/// `static_dims` are the node's static dimensions where the op needs them (random, sequences).
pub fn compute(
    op: &Op,
    inputs: &[&Value],
    node_shape: &rill_graph::Shape,
    dtype: rill_graph::DType,
    parallel: &crate::parallel::Parallel,
) -> KResult {
    let x = || inputs[0];
    match op {
        Op::Unary(u) => elementwise::unary(*u, x()),
        Op::Binary(b) => elementwise::binary(*b, inputs[0], inputs[1]),
        Op::Compare(c) => elementwise::compare(*c, inputs[0], inputs[1]),
        Op::Select => elementwise::select(inputs[0], inputs[1], inputs[2]),
        Op::Cast { to } => Ok(x().cast(*to)),
        Op::MatMul {
            transpose_a,
            transpose_b,
        } => matmul::matmul(inputs[0], inputs[1], *transpose_a, *transpose_b, parallel),
        Op::Reduce {
            op,
            axes,
            keep_dims,
        } => reduce::reduce(*op, x(), axes, *keep_dims),
        Op::ArgMax { axis } => reduce::arg_extreme(x(), *axis, true),
        Op::ArgMin { axis } => reduce::arg_extreme(x(), *axis, false),
        Op::Softmax { axis } => reduce::softmax(x(), *axis, false),
        Op::LogSoftmax { axis } => reduce::softmax(x(), *axis, true),
        Op::Reshape { shape } => array::reshape(x(), shape),
        Op::Transpose { perm } => array::transpose(x(), perm),
        Op::ExpandDims { axis } => array::expand_dims(x(), *axis),
        Op::Squeeze { axes } => array::squeeze(x(), axes),
        Op::Concat { axis } => array::concat(inputs, *axis),
        Op::Stack { axis } => array::stack(inputs, *axis),
        Op::Slice { begin, size } => array::slice(x(), begin, size),
        Op::Gather { axis } => array::gather(inputs[0], inputs[1], *axis),
        Op::OneHot {
            depth,
            on_value,
            off_value,
            dtype,
        } => array::one_hot(x(), *depth, *on_value, *off_value, *dtype),
        Op::ShapeOf => Ok(array::shape_of(x())),
        Op::BroadcastTo { .. } => array::broadcast_to(inputs[0], &array::shape_arg(inputs[1])?),
        Op::SumTo { .. } => reduce::sum_to(inputs[0], &array::shape_arg(inputs[1])?),
        Op::ReshapeTo { .. } => array::reshape_exact(inputs[0], &array::shape_arg(inputs[1])?),
        Op::SliceGrad { begin, .. } => {
            array::slice_grad(inputs[0], &array::shape_arg(inputs[1])?, begin)
        }
        Op::GatherGrad { axis, .. } => {
            array::gather_grad(inputs[0], inputs[1], &array::shape_arg(inputs[2])?, *axis)
        }
        Op::LinSpace { start, stop, num } => Ok(array::linspace(*start, *stop, *num, dtype)),
        Op::Range { start, delta, .. } => {
            let n = node_shape.to_known().map_or(0, |d| d[0]);
            Ok(array::range(*start, *delta, n, dtype))
        }
        Op::Placeholder
        | Op::Const(_)
        | Op::Variable { .. }
        | Op::Assign { .. }
        | Op::NoOp
        | Op::Random { .. }
        | Op::Identity
        | Op::StopGradient
        | Op::CheckNumerics { .. } => Err(format!(
            "{} is executed by the executor, not a kernel",
            op.type_name()
        )),
    }
}
