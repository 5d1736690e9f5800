//! Metrics by Keras name: accuracy (binary, categorical or sparse, chosen as Keras does), mae, mse.

use crate::error::{NnError, Result};
use crate::losses::Loss;
use rill_graph::{DType, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Resolved when the model is compiled, from the output width and the loss.
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
}

pub const METRIC_NAMES: &[&str] = &[
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "mae",
    "mean_absolute_error",
    "mse",
    "mean_squared_error",
];

impl Metric {
    pub fn from_name(name: &str) -> Result<Metric> {
        Ok(match name {
            "accuracy" | "acc" => Metric::Accuracy,
            "binary_accuracy" => Metric::BinaryAccuracy,
            "categorical_accuracy" => Metric::CategoricalAccuracy,
            "sparse_categorical_accuracy" => Metric::SparseCategoricalAccuracy,
            "mae" | "mean_absolute_error" => Metric::MeanAbsoluteError,
            "mse" | "mean_squared_error" => Metric::MeanSquaredError,
            _ => {
                return Err(NnError::UnknownName {
                    kind: "metric",
                    name: name.to_string(),
                    known: METRIC_NAMES.join(", "),
                })
            }
        })
    }

    /// The name it is logged under (Keras logs `accuracy` under the name the user gave).
    pub fn log_name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BinaryAccuracy => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::MeanAbsoluteError => "mae",
            Metric::MeanSquaredError => "mse",
        }
    }

    /// Keras's choice for 'accuracy': binary for one output unit, sparse for integer labels,
    /// categorical otherwise.
    pub fn resolve(self, output_units: usize, loss: Loss) -> Metric {
        match self {
            Metric::Accuracy if loss.sparse_labels() => Metric::SparseCategoricalAccuracy,
            Metric::Accuracy if output_units == 1 || loss == Loss::BinaryCrossentropy => {
                Metric::BinaryAccuracy
            }
            Metric::Accuracy => Metric::CategoricalAccuracy,
            m => m,
        }
    }

    /// The per-sample value (shape `[batch]`).
    #[track_caller]
    pub fn per_sample<'g>(&self, y_true: Tensor<'g>, y_pred: Tensor<'g>) -> Result<Tensor<'g>> {
        let dt = y_pred.dtype();
        Ok(match self {
            Metric::Accuracy | Metric::BinaryAccuracy => {
                let hit = y_pred.try_greater(0.5)?.try_cast(dt)?.try_equal(y_true)?;
                hit.try_cast(dt)?.try_mean(-1, false)?
            }
            Metric::CategoricalAccuracy => y_true
                .try_argmax(-1)?
                .try_equal(y_pred.try_argmax(-1)?)?
                .try_cast(dt)?,
            Metric::SparseCategoricalAccuracy => {
                let labels = y_true.try_reshape(&[-1])?.try_cast(DType::I64)?;
                labels.try_equal(y_pred.try_argmax(-1)?)?.try_cast(dt)?
            }
            Metric::MeanAbsoluteError => y_pred.try_sub(y_true)?.try_abs()?.try_mean(-1, false)?,
            Metric::MeanSquaredError => {
                y_pred.try_sub(y_true)?.try_square()?.try_mean(-1, false)?
            }
        })
    }
}
