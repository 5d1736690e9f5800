//! rill-compiler
