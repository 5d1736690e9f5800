//! rill-nn
