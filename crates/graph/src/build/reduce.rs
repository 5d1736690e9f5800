//! Reductions (sum, mean, max, min over axes, with keep_dims), argmax / argmin, softmax.

use crate::error::Result;
use crate::op::{Op, ReduceOp};
use crate::tensor::{ok, Tensor};

/// Which axes a reduction runs over: all of them, or a list (negative counts from the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    All,
    List(Vec<i64>),
}

/// Reduce over every axis: `x.sum(ALL, false)`.
pub const ALL: Axes = Axes::All;

impl From<i32> for Axes {
    fn from(a: i32) -> Axes {
        Axes::List(vec![a as i64])
    }
}

impl From<i64> for Axes {
    fn from(a: i64) -> Axes {
        Axes::List(vec![a])
    }
}

impl<const N: usize> From<[i32; N]> for Axes {
    fn from(a: [i32; N]) -> Axes {
        Axes::List(a.iter().map(|&x| x as i64).collect())
    }
}

impl From<&[i64]> for Axes {
    fn from(a: &[i64]) -> Axes {
        Axes::List(a.to_vec())
    }
}

impl From<Vec<i64>> for Axes {
    fn from(a: Vec<i64>) -> Axes {
        Axes::List(a)
    }
}

impl<'g> Tensor<'g> {
    /// Normalised, sorted, distinct axes for a reduction of this tensor.
    #[track_caller]
    fn reduction_axes(self, op: &Op, axes: Axes) -> Result<Vec<usize>> {
        let rank = self.rank();
        let mut out = match axes {
            Axes::All => (0..rank).collect(),
            Axes::List(list) => {
                let mut v = Vec::with_capacity(list.len());
                for a in list {
                    v.push(self.axis_for(op, a, rank)?);
                }
                v
            }
        };
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    #[track_caller]
    fn try_reduce(self, op: ReduceOp, axes: Axes, keep_dims: bool) -> Result<Tensor<'g>> {
        let probe = Op::Reduce {
            op,
            axes: Vec::new(),
            keep_dims,
        };
        let axes = self.reduction_axes(&probe, axes)?;
        self.apply(
            Op::Reduce {
                op,
                axes,
                keep_dims,
            },
            &[],
        )
    }

    /// Sum over `axes` (`ALL`, an axis, or a list); `keep_dims` keeps reduced axes as size 1.
    #[track_caller]
    pub fn try_sum(self, axes: impl Into<Axes>, keep_dims: bool) -> Result<Tensor<'g>> {
        self.try_reduce(ReduceOp::Sum, axes.into(), keep_dims)
    }

    #[track_caller]
    pub fn sum(self, axes: impl Into<Axes>, keep_dims: bool) -> Tensor<'g> {
        ok(self.try_sum(axes, keep_dims))
    }

    /// Mean over `axes`.
    #[track_caller]
    pub fn try_mean(self, axes: impl Into<Axes>, keep_dims: bool) -> Result<Tensor<'g>> {
        self.try_reduce(ReduceOp::Mean, axes.into(), keep_dims)
    }

    #[track_caller]
    pub fn mean(self, axes: impl Into<Axes>, keep_dims: bool) -> Tensor<'g> {
        ok(self.try_mean(axes, keep_dims))
    }

    /// Maximum over `axes`.
    #[track_caller]
    pub fn try_max(self, axes: impl Into<Axes>, keep_dims: bool) -> Result<Tensor<'g>> {
        self.try_reduce(ReduceOp::Max, axes.into(), keep_dims)
    }

    #[track_caller]
    pub fn max(self, axes: impl Into<Axes>, keep_dims: bool) -> Tensor<'g> {
        ok(self.try_max(axes, keep_dims))
    }

    /// Minimum over `axes`.
    #[track_caller]
    pub fn try_min(self, axes: impl Into<Axes>, keep_dims: bool) -> Result<Tensor<'g>> {
        self.try_reduce(ReduceOp::Min, axes.into(), keep_dims)
    }

    #[track_caller]
    pub fn min(self, axes: impl Into<Axes>, keep_dims: bool) -> Tensor<'g> {
        ok(self.try_min(axes, keep_dims))
    }

    /// Index (i64) of the largest element along `axis`; the first one on ties.
    #[track_caller]
    pub fn try_argmax(self, axis: i64) -> Result<Tensor<'g>> {
        let axis = self.axis_for(&Op::ArgMax { axis: 0 }, axis, self.rank())?;
        self.apply(Op::ArgMax { axis }, &[])
    }

    #[track_caller]
    pub fn argmax(self, axis: i64) -> Tensor<'g> {
        ok(self.try_argmax(axis))
    }

    /// Index (i64) of the smallest element along `axis`; the first one on ties.
    #[track_caller]
    pub fn try_argmin(self, axis: i64) -> Result<Tensor<'g>> {
        let axis = self.axis_for(&Op::ArgMin { axis: 0 }, axis, self.rank())?;
        self.apply(Op::ArgMin { axis }, &[])
    }

    #[track_caller]
    pub fn argmin(self, axis: i64) -> Tensor<'g> {
        ok(self.try_argmin(axis))
    }

    /// `e^x / sum(e^x)` along `axis` (`-1`: the last), computed stably.
    #[track_caller]
    pub fn try_softmax(self, axis: i64) -> Result<Tensor<'g>> {
        let axis = self.axis_for(&Op::Softmax { axis: 0 }, axis, self.rank())?;
        self.apply(Op::Softmax { axis }, &[])
    }

    #[track_caller]
    pub fn softmax(self, axis: i64) -> Tensor<'g> {
        ok(self.try_softmax(axis))
    }

    /// `x - log(sum(e^x))` along `axis`, computed stably.
    #[track_caller]
    pub fn try_log_softmax(self, axis: i64) -> Result<Tensor<'g>> {
        let axis = self.axis_for(&Op::LogSoftmax { axis: 0 }, axis, self.rank())?;
        self.apply(Op::LogSoftmax { axis }, &[])
    }

    #[track_caller]
    pub fn log_softmax(self, axis: i64) -> Tensor<'g> {
        ok(self.try_log_softmax(axis))
    }
}
