//! Loss functions: Keras's losses by name or value, and TF's stable logits forms.
//!
//! Like Keras's TensorFlow backend, the cross-entropies use the logits when the model's output
//! comes straight from a sigmoid or softmax, which is both exact and stable.

use crate::error::{NnError, Result};
use rill_graph::{DType, Op, Tensor, UnaryOp};

/// Keras clips probabilities to [EPSILON, 1 - EPSILON] in the probability forms.
pub const EPSILON: f64 = 1e-7;

/// TF's `sigmoid_cross_entropy_with_logits`, elementwise:
/// `max(z, 0) - z * t + log1p(e^-|z|)`, stable for large |z|, with TF's ops (an Exp, then a
/// Log1p), so the same bits.
#[track_caller]
pub fn sigmoid_cross_entropy_with_logits<'g>(
    labels: Tensor<'g>,
    logits: Tensor<'g>,
) -> Result<Tensor<'g>> {
    let z = logits;
    Ok(z.try_relu()?
        .try_sub(z.try_mul(labels)?)?
        .try_add(z.try_abs()?.try_neg()?.try_exp()?.try_log1p()?)?)
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

/// Keras's losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    MeanSquaredError,
    MeanAbsoluteError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Hinge,
}

pub const LOSS_NAMES: &[&str] = &[
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "hinge",
];

impl Loss {
    pub fn from_name(name: &str) -> Result<Loss> {
        Ok(match name {
            "mean_squared_error" | "mse" | "MSE" | "MeanSquaredError" => Loss::MeanSquaredError,
            "mean_absolute_error" | "mae" | "MAE" | "MeanAbsoluteError" => Loss::MeanAbsoluteError,
            "binary_crossentropy" | "BinaryCrossentropy" => Loss::BinaryCrossentropy,
            "categorical_crossentropy" | "CategoricalCrossentropy" => Loss::CategoricalCrossentropy,
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Loss::SparseCategoricalCrossentropy
            }
            "hinge" | "Hinge" => Loss::Hinge,
            _ => {
                return Err(NnError::UnknownName {
                    kind: "loss",
                    name: name.to_string(),
                    known: LOSS_NAMES.join(", "),
                })
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::Hinge => "hinge",
        }
    }

    /// Whether the targets are integer class indices.
    pub fn sparse_labels(&self) -> bool {
        *self == Loss::SparseCategoricalCrossentropy
    }

    /// The per-sample loss (shape `[batch]`) of predictions `y_pred` against `y_true`.
    #[track_caller]
    pub fn per_sample<'g>(&self, y_true: Tensor<'g>, y_pred: Tensor<'g>) -> Result<Tensor<'g>> {
        let g = y_pred.graph();
        Ok(match self {
            Loss::MeanSquaredError => y_pred.try_sub(y_true)?.try_square()?.try_mean(-1, false)?,
            Loss::MeanAbsoluteError => y_pred.try_sub(y_true)?.try_abs()?.try_mean(-1, false)?,
            Loss::BinaryCrossentropy => match logits_of(y_pred, Op::Unary(UnaryOp::Sigmoid)) {
                Some(z) => sigmoid_cross_entropy_with_logits(y_true, z)?.try_mean(-1, false)?,
                None => {
                    let p = y_pred.try_clip_by_value(EPSILON, 1.0 - EPSILON)?;
                    let one = g.try_constant_with(1.0, p.dtype(), None)?;
                    let pos = y_true.try_mul(p.try_log()?)?;
                    let neg = one.try_sub(y_true)?.try_mul(one.try_sub(p)?.try_log()?)?;
                    pos.try_add(neg)?.try_neg()?.try_mean(-1, false)?
                }
            },
            Loss::CategoricalCrossentropy => categorical(y_true, y_pred)?,
            Loss::SparseCategoricalCrossentropy => {
                let classes = y_pred
                    .shape()
                    .0
                    .last()
                    .and_then(|d| d.known())
                    .ok_or_else(|| {
                        NnError::InvalidArgument(
                            "sparse_categorical_crossentropy needs a known number of classes"
                                .into(),
                        )
                    })?;
                let labels = y_true.try_reshape(&[-1])?.try_cast(DType::I64)?;
                let one_hot = labels.try_one_hot(classes, 1.0, 0.0, y_pred.dtype())?;
                categorical(one_hot, y_pred)?
            }
            Loss::Hinge => {
                // Keras turns 0/1 labels into -1/1 first.
                let one = g.try_constant_with(1.0, y_pred.dtype(), None)?;
                let t = g.try_select(y_true.try_equal(0.0)?, one.try_neg()?, y_true)?;
                one.try_sub(t.try_mul(y_pred)?)?
                    .try_relu()?
                    .try_mean(-1, false)?
            }
        })
    }
}

fn categorical<'g>(y_true: Tensor<'g>, y_pred: Tensor<'g>) -> Result<Tensor<'g>> {
    if let Some(z) = logits_of(
        y_pred,
        Op::Softmax {
            axis: y_pred.rank().saturating_sub(1),
        },
    ) {
        return softmax_cross_entropy_with_logits(y_true, z);
    }
    // Keras: scale the rows to sum to one, clip, then -sum(t log p).
    let p = y_pred
        .try_div(y_pred.try_sum(-1, true)?)?
        .try_clip_by_value(EPSILON, 1.0 - EPSILON)?;
    Ok(y_true
        .try_mul(p.try_log()?)?
        .try_sum(-1, false)?
        .try_neg()?)
}

/// The input of `t` if `t` is the output of `op` (the logits behind a sigmoid or softmax).
fn logits_of<'g>(t: Tensor<'g>, op: Op) -> Option<Tensor<'g>> {
    let node = t.graph().node(t.node_id());
    (node.op == op).then(|| t.graph().handle(node.inputs[0]))
}
