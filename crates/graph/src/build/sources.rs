//! Nodes with no inputs: constants, fills, sequences, random tensors and placeholders.

use super::array::known;
use crate::dtype::DType;
use crate::error::Result;
use crate::graph::Graph;
use crate::op::{Distribution, Op};
use crate::shape::Shape;
use crate::tensor::{invalid_argument, ok, Tensor};
use crate::value::{IntoValue, Value};
use std::panic::Location;
use std::sync::Arc;

impl Graph {
    /// A constant: from a number, a (nested) array, a `Vec`, or an ndarray array.
    #[track_caller]
    pub fn try_constant(&self, value: impl IntoValue) -> Result<Tensor<'_>> {
        let op = Op::Const(Arc::new(value.into_value()));
        self.add_node(op, &[], None, None, Location::caller())
    }

    #[track_caller]
    pub fn constant(&self, value: impl IntoValue) -> Tensor<'_> {
        ok(self.try_constant(value))
    }

    /// TF's `constant(value, dtype, shape)`: the value cast to `dtype`, then filled (from a
    /// scalar) or reshaped (same element count) to `shape`.
    #[track_caller]
    pub fn try_constant_with(
        &self,
        value: impl IntoValue,
        dtype: DType,
        shape: Option<&[usize]>,
    ) -> Result<Tensor<'_>> {
        let v = value.into_value().cast(dtype);
        let v = match shape {
            None => v,
            Some(shape) if v.len() == 1 => Value::full(dtype, shape, v.to_f64_vec()[0]),
            Some(shape) => {
                let n: usize = shape.iter().product();
                if n != v.len() {
                    return Err(invalid_argument(format!(
                        "constant: a value of {} elements cannot have shape {shape:?} ({n} elements)",
                        v.len()
                    )));
                }
                crate::with_array!(v, a => a.into_shape_with_order(shape).expect("count checked").into())
            }
        };
        self.add_node(Op::Const(Arc::new(v)), &[], None, None, Location::caller())
    }

    #[track_caller]
    pub fn constant_with(
        &self,
        value: impl IntoValue,
        dtype: DType,
        shape: Option<&[usize]>,
    ) -> Tensor<'_> {
        ok(self.try_constant_with(value, dtype, shape))
    }

    /// A constant of `shape` with every element `value`.
    #[track_caller]
    pub fn try_fill(&self, shape: &[usize], value: f64, dtype: DType) -> Result<Tensor<'_>> {
        let v = Value::full(dtype, shape, value);
        self.add_node(
            Op::Const(Arc::new(v)),
            &[],
            Some("Fill"),
            None,
            Location::caller(),
        )
    }

    #[track_caller]
    pub fn fill(&self, shape: &[usize], value: f64, dtype: DType) -> Tensor<'_> {
        ok(self.try_fill(shape, value, dtype))
    }

    #[track_caller]
    pub fn zeros(&self, shape: &[usize], dtype: DType) -> Tensor<'_> {
        let v = Value::full(dtype, shape, 0.0);
        ok(self.add_node(
            Op::Const(Arc::new(v)),
            &[],
            Some("zeros"),
            None,
            Location::caller(),
        ))
    }

    #[track_caller]
    pub fn ones(&self, shape: &[usize], dtype: DType) -> Tensor<'_> {
        let v = Value::full(dtype, shape, 1.0);
        ok(self.add_node(
            Op::Const(Arc::new(v)),
            &[],
            Some("ones"),
            None,
            Location::caller(),
        ))
    }

    /// `num` evenly spaced values from `start` to `stop`, both included (float dtypes).
    #[track_caller]
    pub fn try_linspace(
        &self,
        start: f64,
        stop: f64,
        num: usize,
        dtype: DType,
    ) -> Result<Tensor<'_>> {
        if num == 0 || !dtype.is_float() {
            return Err(invalid_argument(format!(
                "linspace needs num > 0 and a float dtype, got num {num} and {dtype}"
            )));
        }
        let meta = (dtype, known(&[num]));
        self.add_node(
            Op::LinSpace { start, stop, num },
            &[],
            None,
            Some(meta),
            Location::caller(),
        )
    }

    #[track_caller]
    pub fn linspace(&self, start: f64, stop: f64, num: usize, dtype: DType) -> Tensor<'_> {
        ok(self.try_linspace(start, stop, num, dtype))
    }

    /// `start, start + delta, ...` while below `limit` (above, for a negative delta).
    #[track_caller]
    pub fn try_range(
        &self,
        start: f64,
        limit: f64,
        delta: f64,
        dtype: DType,
    ) -> Result<Tensor<'_>> {
        if delta == 0.0 || !delta.is_finite() || !dtype.is_numeric() {
            return Err(invalid_argument(format!(
                "range needs a finite, nonzero delta and a numeric dtype, got {delta} and {dtype}"
            )));
        }
        if (delta > 0.0 && start > limit) || (delta < 0.0 && start < limit) {
            return Err(invalid_argument(format!(
                "range: requires start {} limit when delta {} 0 (start {start}, limit {limit}, delta {delta})",
                if delta > 0.0 { "<=" } else { ">=" },
                if delta > 0.0 { ">" } else { "<" }
            )));
        }
        let n = ((limit - start) / delta).ceil() as usize;
        let meta = (dtype, known(&[n]));
        self.add_node(
            Op::Range {
                start,
                limit,
                delta,
            },
            &[],
            None,
            Some(meta),
            Location::caller(),
        )
    }

    #[track_caller]
    pub fn range(&self, start: f64, limit: f64, delta: f64, dtype: DType) -> Tensor<'_> {
        ok(self.try_range(start, limit, delta, dtype))
    }

    /// The seed a random op uses: its own if given, else one derived from the graph's seed and
    /// the op's position, so the same program draws the same numbers.
    fn op_seed(&self, seed: Option<u64>) -> u64 {
        let mut s = self.write();
        s.random_ops += 1;
        match seed {
            Some(seed) => seed ^ s.seed.rotate_left(32),
            None => s
                .seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(s.random_ops),
        }
    }

    #[track_caller]
    fn random(
        &self,
        distribution: Distribution,
        shape: &[usize],
        dtype: DType,
        seed: Option<u64>,
    ) -> Result<Tensor<'_>> {
        if !dtype.is_float() {
            return Err(invalid_argument(format!(
                "random tensors must be float, not {dtype}"
            )));
        }
        let seed = self.op_seed(seed);
        let meta = (dtype, known(shape));
        self.add_node(
            Op::Random { distribution, seed },
            &[],
            None,
            Some(meta),
            Location::caller(),
        )
    }

    /// Normal random values, new at every run.
    #[track_caller]
    pub fn try_random_normal(
        &self,
        shape: &[usize],
        mean: f64,
        stddev: f64,
        dtype: DType,
        seed: Option<u64>,
    ) -> Result<Tensor<'_>> {
        self.random(Distribution::Normal { mean, stddev }, shape, dtype, seed)
    }

    #[track_caller]
    pub fn random_normal(
        &self,
        shape: &[usize],
        mean: f64,
        stddev: f64,
        dtype: DType,
        seed: Option<u64>,
    ) -> Tensor<'_> {
        ok(self.try_random_normal(shape, mean, stddev, dtype, seed))
    }

    /// Uniform random values on `[min, max)`, new at every run.
    #[track_caller]
    pub fn try_random_uniform(
        &self,
        shape: &[usize],
        min: f64,
        max: f64,
        dtype: DType,
        seed: Option<u64>,
    ) -> Result<Tensor<'_>> {
        if min >= max {
            return Err(invalid_argument(format!(
                "random_uniform needs min < max, got {min} and {max}"
            )));
        }
        self.random(Distribution::Uniform { min, max }, shape, dtype, seed)
    }

    #[track_caller]
    pub fn random_uniform(
        &self,
        shape: &[usize],
        min: f64,
        max: f64,
        dtype: DType,
        seed: Option<u64>,
    ) -> Tensor<'_> {
        ok(self.try_random_uniform(shape, min, max, dtype, seed))
    }

    /// Normal random values with those beyond two standard deviations drawn again.
    #[track_caller]
    pub fn try_truncated_normal(
        &self,
        shape: &[usize],
        mean: f64,
        stddev: f64,
        dtype: DType,
        seed: Option<u64>,
    ) -> Result<Tensor<'_>> {
        self.random(
            Distribution::TruncatedNormal { mean, stddev },
            shape,
            dtype,
            seed,
        )
    }

    #[track_caller]
    pub fn truncated_normal(
        &self,
        shape: &[usize],
        mean: f64,
        stddev: f64,
        dtype: DType,
        seed: Option<u64>,
    ) -> Tensor<'_> {
        ok(self.try_truncated_normal(shape, mean, stddev, dtype, seed))
    }

    /// Uniform random values on `[min, max)` shaped like `like` at run time (dropout masks,
    /// where the batch size is known only when the graph runs).
    #[track_caller]
    pub fn try_random_uniform_like<'g>(
        &'g self,
        like: Tensor<'g>,
        min: f64,
        max: f64,
        seed: Option<u64>,
    ) -> Result<Tensor<'g>> {
        if min >= max || !like.dtype().is_float() {
            return Err(invalid_argument(format!(
                "random_uniform_like needs min < max and a float tensor, got {min}, {max} and {}",
                like.dtype()
            )));
        }
        let seed = self.op_seed(seed);
        let meta = (like.dtype(), like.shape());
        let shape = like.try_shape_of()?;
        let op = Op::Random {
            distribution: Distribution::Uniform { min, max },
            seed,
        };
        self.add_node(op, &[shape], None, Some(meta), Location::caller())
    }

    /// A value fed at run time; `None` dimensions take any size (`[None, Some(3)]`).
    #[track_caller]
    pub fn try_placeholder(
        &self,
        dtype: DType,
        shape: impl Into<Shape>,
        name: &str,
    ) -> Result<Tensor<'_>> {
        let meta = (dtype, shape.into());
        self.add_node(
            Op::Placeholder,
            &[],
            Some(name),
            Some(meta),
            Location::caller(),
        )
    }

    #[track_caller]
    pub fn placeholder(&self, dtype: DType, shape: impl Into<Shape>, name: &str) -> Tensor<'_> {
        ok(self.try_placeholder(dtype, shape, name))
    }
}
