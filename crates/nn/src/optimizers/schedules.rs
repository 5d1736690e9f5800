//! Learning-rate schedules as graph ops over a global step (TF1's `exponential_decay`, step decay).

use crate::error::Result;
use rill_graph::{DType, Graph, Tensor};

/// A global step: an i64 variable starting at 0. Increment it once per training step with
/// `increment_global_step`.
#[track_caller]
pub fn global_step(g: &Graph) -> Result<Tensor<'_>> {
    let step = g.try_variable(g.try_constant(0i64)?, "global_step")?;
    g.set_trainable(step, false);
    Ok(step)
}

/// The op adding 1 to the global step, to run after (or as part of) each training step.
#[track_caller]
pub fn increment_global_step<'g>(step: Tensor<'g>) -> Result<Tensor<'g>> {
    let g = step.graph();
    Ok(step.try_assign_add(g.try_constant(1i64)?)?)
}

/// `lr * rate ^ (step / decay_steps)`; with `staircase`, the exponent is floored.
#[track_caller]
pub fn exponential_decay<'g>(
    lr: f64,
    step: Tensor<'g>,
    decay_steps: u64,
    rate: f64,
    staircase: bool,
    dtype: DType,
) -> Result<Tensor<'g>> {
    let g = step.graph();
    let _scope = g.name_scope("ExponentialDecay");
    let p = if staircase {
        // Integer division floors the exponent.
        step.try_div(decay_steps as i64)?.try_cast(dtype)?
    } else {
        step.try_cast(dtype)?.try_div(decay_steps as f64)?
    };
    let base = g.try_constant_with(rate, dtype, None)?;
    Ok(base.try_pow(p)?.try_mul(lr)?)
}

/// Step decay: `lr * factor ^ floor(step / every)` (a staircase exponential decay).
#[track_caller]
pub fn step_decay<'g>(
    lr: f64,
    step: Tensor<'g>,
    every: u64,
    factor: f64,
    dtype: DType,
) -> Result<Tensor<'g>> {
    exponential_decay(lr, step, every, factor, true, dtype)
}
