//! rill-nn: Keras-style models on rill graphs: layers, `Sequential`, losses, metrics,
//! optimizers (as graph ops), callbacks and history.

pub mod activations;
pub mod callbacks;
pub mod error;
pub mod history;
pub mod layers;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod optimizers;
pub mod plot;
pub mod regularizers;

pub use activations::Activation;
pub use callbacks::{Callback, CallbackContext, EarlyStopping};
pub use error::{NnError, Result};
pub use history::History;
pub use layers::{ActivationLayer, BatchNormalization, Dense, Dropout, Flatten, Layer};
pub use losses::Loss;
pub use metrics::Metric;
pub use model::{FitArgs, LossSpec, OptimizerSpec, Sequential, Validation};
pub use optimizers::{Adagrad, Adam, GradientDescent, LearningRate, Momentum, Optimizer, RmsProp};
pub use regularizers::Regularizer;
