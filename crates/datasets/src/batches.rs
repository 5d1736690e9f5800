//! Mini-batch iteration over sample indices, shuffled or in order.

use crate::error::{DatasetError, Result};
use crate::split::permutation;

/// Iterates over `0..n` in batches of `batch_size` indices, as Keras' `fit` does: every index
/// appears exactly once per pass, and the last batch keeps the remainder, so it may be smaller.
///
/// With `shuffle`, the order is [`permutation`]`(n, seed)`; pass a different seed each epoch
/// (for example `seed + epoch`) to get a fresh order. Select the rows of a batch with
/// `x.select(Axis(0), &indices)`.
#[derive(Debug, Clone)]
pub struct Batches {
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl Batches {
    /// Fails if `batch_size` is 0. With `n == 0` the iterator yields nothing.
    pub fn new(n: usize, batch_size: usize, shuffle: bool, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(DatasetError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        let order = if shuffle {
            permutation(n, seed)
        } else {
            (0..n).collect()
        };
        Ok(Self {
            order,
            batch_size,
            next: 0,
        })
    }

    /// Batches per pass over the data: `ceil(n / batch_size)`.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }
}

impl Iterator for Batches {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let batch = self.order[self.next..end].to_vec();
        self.next = end;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.order.len() - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches {}
