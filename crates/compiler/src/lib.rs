//! rill-compiler: turns a graph and a request (fetches, feeds, targets) into an executable `Plan`.
//!
//! Today: pruning to what the request needs, dependency order and liveness. Autodiff and the
//! optimisation passes live here too as they arrive.

pub mod autodiff;
pub mod passes;
pub mod plan;

pub use autodiff::{gradients, gradients_with, GradientError, GradientOptions};
pub use plan::{
    lower, lower_with, CompileOptions, FeedSlot, Plan, PlanError, Request, Step, VarRef,
};
