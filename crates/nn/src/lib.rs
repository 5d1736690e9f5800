//! rill-nn: optimizers as graph ops, and (coming) Keras-style layers and models.

pub mod error;
pub mod losses;
pub mod optimizers;

pub use error::{NnError, Result};
pub use optimizers::{Adagrad, Adam, GradientDescent, LearningRate, Momentum, Optimizer, RmsProp};
