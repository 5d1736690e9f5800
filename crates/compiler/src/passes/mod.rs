//! Optimisation passes over a `Plan`, one file each, run by `plan::lower_with` in a fixed order.

pub mod cse;
pub mod fold;
pub mod fusion;
pub mod memory;
pub mod simplify;
pub mod specialize;
