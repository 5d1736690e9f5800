//! `Tensor<'g>`: a copyable handle to a node's output, and `TensorId`, the plain id structs store.

use crate::dtype::DType;
use crate::error::{GraphError, Result};
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use crate::shape::Shape;
use std::fmt;

/// A symbolic tensor: the output of one node of a graph. Cheap to copy; borrows the graph.
#[derive(Clone, Copy)]
pub struct Tensor<'g> {
    graph: &'g Graph,
    node: NodeId,
}

/// A tensor's identity without a borrow of its graph, for structs that keep tensors across
/// calls (a model's input, loss and training op). `graph.tensor(id)` turns it back into a handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId {
    pub graph: u32,
    pub node: NodeId,
}

/// Anything that names a tensor: a `Tensor` handle or a stored `TensorId`.
pub trait AsTensorId {
    fn tensor_id(&self) -> TensorId;
}

impl AsTensorId for TensorId {
    fn tensor_id(&self) -> TensorId {
        *self
    }
}

impl AsTensorId for Tensor<'_> {
    fn tensor_id(&self) -> TensorId {
        self.id()
    }
}

impl<T: AsTensorId> AsTensorId for &T {
    fn tensor_id(&self) -> TensorId {
        (*self).tensor_id()
    }
}

impl<'g> Tensor<'g> {
    pub(crate) fn new(graph: &'g Graph, node: NodeId) -> Tensor<'g> {
        Tensor { graph, node }
    }

    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    pub fn node_id(&self) -> NodeId {
        self.node
    }

    pub fn id(&self) -> TensorId {
        TensorId {
            graph: self.graph.id(),
            node: self.node,
        }
    }

    /// The tensor's name as TF prints it: `layer/MatMul:0`.
    pub fn name(&self) -> String {
        format!("{}:0", self.op_name())
    }

    /// The name of the node that produces it: `layer/MatMul`.
    pub fn op_name(&self) -> String {
        self.graph.read().nodes[self.node.index()].name.clone()
    }

    pub fn op(&self) -> Op {
        self.graph.read().nodes[self.node.index()].op.clone()
    }

    pub fn dtype(&self) -> DType {
        self.graph.read().nodes[self.node.index()].dtype
    }

    pub fn shape(&self) -> Shape {
        self.graph.read().nodes[self.node.index()].shape.clone()
    }

    pub fn rank(&self) -> usize {
        self.graph.read().nodes[self.node.index()].shape.rank()
    }

    /// Renames the node (within its scope; made unique as TF does) and returns the tensor.
    pub fn named(self, name: &str) -> Tensor<'g> {
        self.graph.rename(self.node, name);
        self
    }
}

impl PartialEq for Tensor<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl fmt::Debug for Tensor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<tf.Tensor '{}' shape={} dtype={}>",
            self.name(),
            self.shape(),
            self.dtype()
        )
    }
}

/// Unwraps a builder result, panicking with the error's message at the user's line.
/// The panicking builders (`a + b`, `x.exp()`) use it; the `try_` forms return the error.
#[track_caller]
pub(crate) fn ok<T>(r: Result<T>) -> T {
    match r {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// An error for a builder argument that is wrong before any node exists.
#[track_caller]
pub(crate) fn invalid_argument(message: impl Into<String>) -> GraphError {
    GraphError::InvalidArgument {
        message: message.into(),
        location: crate::error::location_string(std::panic::Location::caller()),
    }
}
