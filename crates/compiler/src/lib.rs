//! rill-compiler: turns a graph and a request (fetches, feeds, targets) into an executable `Plan`.
//!
//! `autodiff` adds gradient subgraphs (like `tf.gradients`); `plan` lowers a request to the
//! steps it needs, in order, with value slots; `passes` is the pipeline that rewrites the plan
//! (shape specialisation, constant folding, simplification, CSE, fusion, pruning, scheduling,
//! memory planning); `inspect` dumps a plan as DOT and a summary.

pub mod autodiff;
mod inspect;
pub mod passes;
pub mod plan;

pub use autodiff::{gradients, gradients_with, GradientError, GradientOptions};
pub use plan::{
    compile_stages, lower, lower_with, optimize, CompileOptions, FeedSlot, Plan, PlanError,
    Request, Step, VarRef,
};
