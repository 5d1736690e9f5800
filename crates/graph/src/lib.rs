//! rill-graph: the symbolic dataflow graph: nodes, ops, shapes, dtypes, builders and DOT dumps.
//!
//! ```
//! use rill_graph::{DType, Graph};
//! let g = Graph::new();
//! let x = g.placeholder(DType::F32, [None, Some(2)], "x");
//! let w = g.variable(g.constant([[1.0f32], [2.0]]), "w");
//! let y = (x.matmul(w) + 1.0).sigmoid();
//! assert_eq!(y.shape().to_string(), "[?,1]");
//! ```

mod build;
pub mod dot;
pub mod dtype;
pub mod error;
pub mod graph;
mod infer;
pub mod init;
pub mod op;
pub mod shape;
pub mod tensor;
pub mod value;

pub use build::{Axes, Operand, ALL};
pub use dtype::DType;
pub use error::{GraphError, Result};
pub use graph::{Graph, Node, NodeId};
pub use infer::infer_output;
pub use init::Initializer;
pub use op::{AssignMode, BinaryOp, CompareOp, Distribution, Op, ReduceOp, UnaryOp};
pub use shape::{Dim, Shape};
pub use tensor::{AsTensorId, Tensor, TensorId};
pub use value::{Element, IntoValue, Value};
