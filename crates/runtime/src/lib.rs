//! rill-runtime: executes compiled plans: the `Session`, kernels, executors and variable store.

mod companion;
pub mod error;
pub mod executor;
pub mod kernels;
pub mod parallel;
pub mod session;
pub mod trace;
pub mod variables;

pub use error::{Result, RunError};
pub use executor::{Executor, RunContext, SequentialExecutor, Workspace};
pub use parallel::Parallel;
pub use session::{feed, Feed, Session};
pub use trace::{RunMetadata, RunOptions, StepStats};
