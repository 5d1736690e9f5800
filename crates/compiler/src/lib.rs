//! rill-compiler: turns a graph and a request (fetches, feeds, targets) into an executable `Plan`.
//!
//! `autodiff` adds gradient subgraphs (like `tf.gradients`); `plan` prunes a request to what it
//! needs, orders it and assigns value slots; `passes` optimise the plan (elementwise fusion so
//! far); `inspect` dumps a plan as DOT and a summary.

pub mod autodiff;
mod inspect;
pub mod passes;
pub mod plan;

pub use autodiff::{gradients, gradients_with, GradientError, GradientOptions};
pub use plan::{
    compile_stages, lower, lower_with, optimize, CompileOptions, FeedSlot, Plan, PlanError,
    Request, Step, VarRef,
};
