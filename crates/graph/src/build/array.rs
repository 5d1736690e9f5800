//! Shape and indexing ops: reshape, transpose, expand_dims, squeeze, concat, stack, slice,
//! gather, one_hot, and the run-time-shape ops gradients use.

use crate::dtype::DType;
use crate::error::Result;
use crate::graph::Graph;
use crate::op::Op;
use crate::shape::{normalize_axis, Dim, Shape};
use crate::tensor::{ok, Tensor};
use std::panic::Location;

impl<'g> Tensor<'g> {
    /// Reshape to `shape`; one entry may be `-1` and is inferred.
    #[track_caller]
    pub fn try_reshape(self, shape: &[i64]) -> Result<Tensor<'g>> {
        self.apply(
            Op::Reshape {
                shape: shape.to_vec(),
            },
            &[],
        )
    }

    #[track_caller]
    pub fn reshape(self, shape: &[i64]) -> Tensor<'g> {
        ok(self.try_reshape(shape))
    }

    /// Reverses the axes (a matrix transpose for rank 2).
    #[track_caller]
    pub fn try_transpose(self) -> Result<Tensor<'g>> {
        let perm = (0..self.rank()).rev().collect();
        self.apply(Op::Transpose { perm }, &[])
    }

    #[track_caller]
    pub fn transpose(self) -> Tensor<'g> {
        ok(self.try_transpose())
    }

    /// Permutes the axes: output axis `i` is input axis `perm[i]`.
    #[track_caller]
    pub fn try_permute(self, perm: &[usize]) -> Result<Tensor<'g>> {
        self.apply(
            Op::Transpose {
                perm: perm.to_vec(),
            },
            &[],
        )
    }

    #[track_caller]
    pub fn permute(self, perm: &[usize]) -> Tensor<'g> {
        ok(self.try_permute(perm))
    }

    /// Inserts an axis of size 1 at `axis` (`-1`: at the end).
    #[track_caller]
    pub fn try_expand_dims(self, axis: i64) -> Result<Tensor<'g>> {
        let axis = self.axis_for(&Op::ExpandDims { axis: 0 }, axis, self.rank() + 1)?;
        self.apply(Op::ExpandDims { axis }, &[])
    }

    #[track_caller]
    pub fn expand_dims(self, axis: i64) -> Tensor<'g> {
        ok(self.try_expand_dims(axis))
    }

    /// Removes the given axes of size 1; with no axes, every axis known to be 1.
    #[track_caller]
    pub fn try_squeeze(self, axes: &[i64]) -> Result<Tensor<'g>> {
        let shape = self.shape();
        let mut out = Vec::new();
        if axes.is_empty() {
            out = (0..shape.rank())
                .filter(|&i| shape.0[i] == Dim::Known(1))
                .collect();
        }
        for &a in axes {
            out.push(self.axis_for(&Op::Squeeze { axes: vec![] }, a, shape.rank())?);
        }
        out.sort_unstable();
        out.dedup();
        self.apply(Op::Squeeze { axes: out }, &[])
    }

    #[track_caller]
    pub fn squeeze(self, axes: &[i64]) -> Tensor<'g> {
        ok(self.try_squeeze(axes))
    }

    /// The block starting at `begin` with `size` elements per axis (`-1`: to the end).
    #[track_caller]
    pub fn try_slice(self, begin: &[usize], size: &[i64]) -> Result<Tensor<'g>> {
        let size = size
            .iter()
            .map(|&s| (s >= 0).then_some(s as usize))
            .collect();
        self.apply(
            Op::Slice {
                begin: begin.to_vec(),
                size,
            },
            &[],
        )
    }

    #[track_caller]
    pub fn slice(self, begin: &[usize], size: &[i64]) -> Tensor<'g> {
        ok(self.try_slice(begin, size))
    }

    /// Slices of `self` at `indices` (i32 or i64) along `axis`.
    #[track_caller]
    pub fn try_gather(self, indices: Tensor<'g>, axis: i64) -> Result<Tensor<'g>> {
        let axis = self.axis_for(&Op::Gather { axis: 0 }, axis, self.rank())?;
        self.apply(Op::Gather { axis }, &[indices])
    }

    #[track_caller]
    pub fn gather(self, indices: Tensor<'g>, axis: i64) -> Tensor<'g> {
        ok(self.try_gather(indices, axis))
    }

    /// One-hot encoding of these integer indices along a new last axis of size `depth`;
    /// indices outside `0..depth` give a row of `off_value`, as in TF.
    #[track_caller]
    pub fn try_one_hot(
        self,
        depth: usize,
        on_value: f64,
        off_value: f64,
        dtype: DType,
    ) -> Result<Tensor<'g>> {
        self.apply(
            Op::OneHot {
                depth,
                on_value,
                off_value,
                dtype,
            },
            &[],
        )
    }

    #[track_caller]
    pub fn one_hot(self, depth: usize, on_value: f64, off_value: f64, dtype: DType) -> Tensor<'g> {
        ok(self.try_one_hot(depth, on_value, off_value, dtype))
    }

    /// The run-time shape of this tensor, an i64 vector.
    #[track_caller]
    pub fn try_shape_of(self) -> Result<Tensor<'g>> {
        self.apply(Op::ShapeOf, &[])
    }

    #[track_caller]
    pub fn shape_of(self) -> Tensor<'g> {
        ok(self.try_shape_of())
    }

    /// Broadcasts to the run-time shape of `like` (used by gradients).
    #[track_caller]
    pub fn try_broadcast_like(self, like: Tensor<'g>) -> Result<Tensor<'g>> {
        let shape = like.shape();
        let s = like.try_shape_of()?;
        self.apply(Op::BroadcastTo { shape }, &[s])
    }

    /// Sums down to the run-time shape of `like`, undoing broadcasting (used by gradients).
    #[track_caller]
    pub fn try_sum_to_like(self, like: Tensor<'g>) -> Result<Tensor<'g>> {
        let shape = like.shape();
        let s = like.try_shape_of()?;
        self.apply(Op::SumTo { shape }, &[s])
    }

    /// Reshapes to the run-time shape of `like` (used by gradients).
    #[track_caller]
    pub fn try_reshape_like(self, like: Tensor<'g>) -> Result<Tensor<'g>> {
        let shape = like.shape();
        let s = like.try_shape_of()?;
        self.apply(Op::ReshapeTo { shape }, &[s])
    }

    /// Places `self` at `begin` inside zeros shaped like `like` (the gradient of a slice).
    #[track_caller]
    pub fn try_slice_grad(self, like: Tensor<'g>, begin: &[usize]) -> Result<Tensor<'g>> {
        let shape = like.shape();
        let s = like.try_shape_of()?;
        self.apply(
            Op::SliceGrad {
                begin: begin.to_vec(),
                shape,
            },
            &[s],
        )
    }

    /// Adds the slices of `self` into zeros shaped like `like` at `indices` along `axis`
    /// (the gradient of a gather).
    #[track_caller]
    pub fn try_gather_grad(
        self,
        indices: Tensor<'g>,
        like: Tensor<'g>,
        axis: usize,
    ) -> Result<Tensor<'g>> {
        let shape = like.shape();
        let s = like.try_shape_of()?;
        self.apply(Op::GatherGrad { axis, shape }, &[indices, s])
    }
}

impl Graph {
    /// Joins tensors along an existing axis.
    #[track_caller]
    pub fn try_concat<'g>(&'g self, tensors: &[Tensor<'g>], axis: i64) -> Result<Tensor<'g>> {
        let rank = tensors.first().map_or(0, |t| t.rank());
        let axis = self.list_axis(&Op::Concat { axis: 0 }, tensors, axis, rank)?;
        self.add_node(Op::Concat { axis }, tensors, None, None, Location::caller())
    }

    #[track_caller]
    pub fn concat<'g>(&'g self, tensors: &[Tensor<'g>], axis: i64) -> Tensor<'g> {
        ok(self.try_concat(tensors, axis))
    }

    /// Joins tensors of one shape along a new axis.
    #[track_caller]
    pub fn try_stack<'g>(&'g self, tensors: &[Tensor<'g>], axis: i64) -> Result<Tensor<'g>> {
        let rank = tensors.first().map_or(0, |t| t.rank()) + 1;
        let axis = self.list_axis(&Op::Stack { axis: 0 }, tensors, axis, rank)?;
        self.add_node(Op::Stack { axis }, tensors, None, None, Location::caller())
    }

    #[track_caller]
    pub fn stack<'g>(&'g self, tensors: &[Tensor<'g>], axis: i64) -> Tensor<'g> {
        ok(self.try_stack(tensors, axis))
    }

    #[track_caller]
    fn list_axis(&self, op: &Op, tensors: &[Tensor<'_>], axis: i64, rank: usize) -> Result<usize> {
        let message = if tensors.is_empty() {
            format!("{} needs at least one tensor", op.type_name())
        } else {
            format!("axis {axis} is out of range for rank {rank}")
        };
        match normalize_axis(axis, rank) {
            Some(a) if !tensors.is_empty() => Ok(a),
            _ => Err(self.invalid_op(op, None, tensors, message, Location::caller())),
        }
    }
}

/// The static shape a `[usize]` gives, for builders that take concrete shapes.
pub(crate) fn known(shape: &[usize]) -> Shape {
    Shape::known(shape)
}
