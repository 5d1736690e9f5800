//! Run-time errors; each names the node, its op, the shapes and the line that built the node.

use rill_compiler::PlanError;
use rill_graph::GraphError;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum RunError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("session configuration: {0}")]
    Config(String),
    #[error(
        "Cannot feed value of shape {value_shape} for Tensor {tensor}, which has shape {expected}"
    )]
    FeedShape {
        tensor: String,
        value_shape: String,
        expected: String,
    },
    #[error("Cannot feed value of dtype {got} for Tensor {tensor}, which has dtype {expected}")]
    FeedDType {
        tensor: String,
        got: String,
        expected: String,
    },
    #[error("Attempting to use uninitialized value {name}\n  (variable built at {location})")]
    Uninitialized { name: String, location: String },
    #[error("{message} : Tensor had {found} values\n  [[node {node} (op: CheckNumerics), built at {location}]]")]
    CheckNumerics {
        node: String,
        message: String,
        found: &'static str,
        location: String,
    },
    #[error(
        "{message}\n  [[node {node} (op: {op}) with input shapes: {shapes}, built at {location}]]"
    )]
    Kernel {
        node: String,
        op: &'static str,
        shapes: String,
        message: String,
        location: String,
    },
}

pub type Result<T, E = RunError> = std::result::Result<T, E>;

/// A concrete shape as Python prints it: `(1, 2)`, `(3,)`, `()`.
pub fn python_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
