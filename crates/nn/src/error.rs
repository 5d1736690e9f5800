//! Errors of rill-nn: wrapped graph, gradient and run errors, plus the model-level ones.

use rill_compiler::GradientError;
use rill_graph::GraphError;
use rill_runtime::RunError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum NnError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Gradient(#[from] GradientError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("No gradients provided for any variable, check your graph for ops that do not support gradients, between variables {variables:?} and loss {loss}")]
    NoGradients {
        variables: Vec<String>,
        loss: String,
    },
    #[error("{0}")]
    InvalidArgument(String),
    #[error("Unknown {kind}: '{name}'. Known {kind}s: {known}")]
    UnknownName {
        kind: &'static str,
        name: String,
        known: String,
    },
    #[error("{0}")]
    Io(String),
}

pub type Result<T, E = NnError> = std::result::Result<T, E>;
