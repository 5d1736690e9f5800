//! Keras layers: Dense, Activation, Dropout, BatchNormalization, Flatten.
//!
//! A layer is configured by value, then built into a graph once (creating its variables) and
//! applied twice: in training mode (dropout on, batch statistics) for `fit`, and in inference
//! mode for `evaluate` and `predict`. Both share the variables.

mod activation;
mod batch_norm;
mod dense;
mod dropout;
mod flatten;

pub use activation::ActivationLayer;
pub use batch_norm::BatchNormalization;
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;

use crate::error::Result;
use rill_graph::{Dim, Graph, Tensor, TensorId};

/// What a layer's `apply` gets besides its input.
pub struct ApplyContext {
    /// Training mode: dropout active, batch normalization uses and updates batch statistics.
    pub training: bool,
}

/// A variable a layer owns, with the name it is saved under (`dense/kernel`).
#[derive(Clone, Debug)]
pub struct Weight {
    pub name: String,
    pub variable: TensorId,
    pub shape: Vec<usize>,
    pub trainable: bool,
}

/// A Keras layer.
pub trait Layer: Send + Sync {
    /// Keras's class name (`Dense`).
    fn class_name(&self) -> &'static str;
    /// The default base name (`dense`); the model makes it unique.
    fn base_name(&self) -> &'static str;
    /// The input shape (without the batch axis) the layer fixes, if it is the first layer.
    fn input_shape(&self) -> Option<Vec<usize>> {
        None
    }
    /// The output shape (without the batch axis) for an input shape.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;
    /// Creates the layer's variables in `g` under the layer's name scope.
    fn build(&mut self, g: &Graph, name: &str, input: &[usize]) -> Result<()>;
    /// Applies the layer to `x`.
    fn apply<'g>(&self, g: &'g Graph, x: Tensor<'g>, ctx: &ApplyContext) -> Result<Tensor<'g>>;
    /// The numbers of trainable and non-trainable parameters for an input shape (without the
    /// batch axis); known before `build`, for `summary`.
    fn count_params(&self, _input: &[usize]) -> (usize, usize) {
        (0, 0)
    }
    /// The variables, after `build`.
    fn weights(&self) -> Vec<Weight> {
        Vec::new()
    }
    /// Penalties to add to the loss (regularizers), after `build`.
    fn penalties<'g>(&self, _g: &'g Graph) -> Result<Vec<Tensor<'g>>> {
        Ok(Vec::new())
    }
    /// Ops that must run with each training step (batch normalization's moving averages),
    /// built during a training-mode `apply`.
    fn take_updates(&self) -> Vec<TensorId> {
        Vec::new()
    }
}

/// A shape without the batch axis, as `[None, ...]` for placeholders.
pub(crate) fn batched(shape: &[usize]) -> Vec<Dim> {
    std::iter::once(Dim::Unknown)
        .chain(shape.iter().map(|&d| Dim::Known(d)))
        .collect()
}
