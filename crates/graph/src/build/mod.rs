//! Op builders: the methods on `Graph` and `Tensor` that add nodes, one file per family.
//!
//! Every builder comes twice: `try_x` returns a `Result`, `x` panics with the same message at
//! the caller's line. Both are `#[track_caller]`, so the node records the user's line.

mod array;
mod math;
mod reduce;
mod sources;
mod state;

pub use math::Operand;
pub use reduce::{Axes, ALL};

use crate::error::Result;
use crate::op::Op;
use crate::tensor::Tensor;
use std::panic::Location;

impl<'g> Tensor<'g> {
    /// Adds `op` with `self` followed by `others` as inputs.
    #[track_caller]
    pub(crate) fn apply(self, op: Op, others: &[Tensor<'g>]) -> Result<Tensor<'g>> {
        let mut inputs = Vec::with_capacity(1 + others.len());
        inputs.push(self);
        inputs.extend_from_slice(others);
        self.graph()
            .add_node(op, &inputs, None, None, Location::caller())
    }

    /// Normalises an axis against `rank` or reports it as an error of `op` on this tensor.
    #[track_caller]
    pub(crate) fn axis_for(self, op: &Op, axis: i64, rank: usize) -> Result<usize> {
        crate::shape::normalize_axis(axis, rank).ok_or_else(|| {
            self.graph().invalid_op(
                op,
                None,
                &[self],
                format!("axis {axis} is out of range for a tensor of rank {rank}"),
                Location::caller(),
            )
        })
    }
}
