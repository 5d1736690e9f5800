//! Forward tests of every op against hand-computed (NumPy-style) values, one module per op
//! family, and the registry test that fails for an op type without one.

#[macro_use]
mod common;

mod array;
mod elementwise;
mod grad_support;
mod reduce;
mod registry;
mod sources;
mod state;
