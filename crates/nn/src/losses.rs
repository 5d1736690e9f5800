//! Loss functions built from graph ops: the numerically stable logits forms TF offers.

use crate::error::Result;
use rill_graph::Tensor;

/// TF's `sigmoid_cross_entropy_with_logits`, elementwise:
/// `max(z, 0) - z * t + log(1 + e^-|z|)`, stable for large |z|.
#[track_caller]
pub fn sigmoid_cross_entropy_with_logits<'g>(
    labels: Tensor<'g>,
    logits: Tensor<'g>,
) -> Result<Tensor<'g>> {
    let z = logits;
    Ok(z.try_relu()?
        .try_sub(z.try_mul(labels)?)?
        .try_add(z.try_abs()?.try_neg()?.try_softplus()?)?)
}

/// TF's `softmax_cross_entropy_with_logits` over the last axis: `-sum(t * log_softmax(z))`.
#[track_caller]
pub fn softmax_cross_entropy_with_logits<'g>(
    labels: Tensor<'g>,
    logits: Tensor<'g>,
) -> Result<Tensor<'g>> {
    Ok(labels
        .try_mul(logits.try_log_softmax(-1)?)?
        .try_sum(-1, false)?
        .try_neg()?)
}
