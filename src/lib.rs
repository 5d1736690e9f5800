//! rill: a dataflow-graph deep-learning compiler and runtime in the spirit of TensorFlow 1.
//!
//! Build a symbolic graph, then run it in a `Session`:
//!
//! ```
//! use rill::prelude::*;
//!
//! let g = Graph::new();
//! let x = g.placeholder(DType::F32, [None, Some(2)], "x");
//! let w = g.variable(g.constant([[0.5f32], [-0.25]]), "w");
//! let b = g.variable(g.constant([0.1f32]), "b");
//! let y = (x.matmul(w) + b).sigmoid();
//!
//! let sess = Session::new(&g);
//! sess.run_target(g.global_variables_initializer()).unwrap();
//! let xv = Value::from(ndarray::array![[1.0f32, 2.0]]);
//! let out = sess.eval(y, &[feed(x, &xv)]).unwrap();
//! assert_eq!(out.shape(), &[1, 1]);
//! ```

pub use rill_compiler as compiler;
pub use rill_datasets as datasets;
pub use rill_graph as graph;
pub use rill_nn as nn;
pub use rill_runtime as runtime;

pub use rill_graph::{
    AsTensorId, Axes, DType, Dim, Graph, GraphError, Initializer, Op, Shape, Tensor, TensorId,
    Value, ALL,
};
pub use rill_runtime::{feed, Feed, RunError, Session};

/// The names most programs need: `use rill::prelude::*;`.
pub mod prelude {
    pub use crate::{feed, DType, Feed, Graph, Initializer, Session, Tensor, TensorId, Value, ALL};
}
