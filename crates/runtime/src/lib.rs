//! rill-runtime
