//! rill
