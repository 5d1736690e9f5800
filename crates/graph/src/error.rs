//! Errors raised while building a graph; each names the node, its op, the shapes and the user's line.

use std::panic::Location;
use thiserror::Error;

/// Where in user code a node was built (`file:line:column`).
pub type BuildLocation = &'static Location<'static>;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum GraphError {
    /// An op's inputs or attributes do not fit together (shapes, dtypes, axes).
    #[error(
        "{message} for '{node}' (op: {op}) with input shapes: {shapes}\n  built at {location}"
    )]
    InvalidOp {
        node: String,
        op: &'static str,
        shapes: String,
        message: String,
        location: String,
    },
    /// A bad argument that belongs to no node yet (a constant's data, a name).
    #[error("{message}\n  at {location}")]
    InvalidArgument { message: String, location: String },
    #[error(
        "graph is finalized and cannot be modified: tried to add '{node}' (op: {op}) at {location}"
    )]
    Finalized {
        node: String,
        op: &'static str,
        location: String,
    },
    #[error(
        "tensor '{tensor}' belongs to another graph than the one it is used with (at {location})"
    )]
    ForeignTensor { tensor: String, location: String },
    #[error("the graph has no tensor named '{0}'")]
    NotFound(String),
}

pub type Result<T, E = GraphError> = std::result::Result<T, E>;

/// Formats a build location as `file:line:column`.
pub fn location_string(loc: BuildLocation) -> String {
    format!("{}:{}:{}", loc.file(), loc.line(), loc.column())
}
