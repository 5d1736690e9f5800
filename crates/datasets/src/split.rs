//! Seeded permutations and the shuffled train/test split.

use ndarray::{Array1, Array2, Axis};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{DatasetError, Result};

/// A uniformly random permutation of `0..n`, the same for the same `seed` on every platform
/// and in every release.
///
/// The shuffle is a Fisher–Yates written here over ChaCha8's 64-bit output (whose stream
/// rand_chacha keeps stable), not `rand`'s `SliceRandom`, whose algorithm may change between
/// `rand` releases and would silently change every seeded split and batch order.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = below(&mut rng, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

/// An unbiased draw from `0..bound` (`bound > 0`) by rejection.
fn below(rng: &mut ChaCha8Rng, bound: u64) -> u64 {
    // Values below `2^64 mod bound` would make the low residues more likely; skip them.
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let v = rng.next_u64();
        if v >= threshold {
            return v % bound;
        }
    }
}

/// The four parts of a train/test split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<T> {
    pub x_train: Array2<f64>,
    pub x_test: Array2<f64>,
    pub y_train: Array1<T>,
    pub y_test: Array1<T>,
}

/// Shuffles the rows of `x` and `y` together (by [`permutation`] with `seed`) and splits them.
///
/// The test set gets `ceil(test_fraction * n)` rows, as in scikit-learn's `train_test_split`;
/// both sets must end up non-empty. Rows keep their shuffled order in both parts.
pub fn train_test_split<T: Clone>(
    x: &Array2<f64>,
    y: &Array1<T>,
    test_fraction: f64,
    seed: u64,
) -> Result<Split<T>> {
    let n = x.nrows();
    if y.len() != n {
        return Err(DatasetError::ShapeMismatch(format!(
            "x has {n} rows but y has {} entries",
            y.len()
        )));
    }
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(DatasetError::InvalidArgument(format!(
            "test_fraction must be strictly between 0 and 1, got {test_fraction}"
        )));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(DatasetError::InvalidArgument(format!(
            "test_fraction {test_fraction} of {n} samples leaves {n_test} for testing and \
             {} for training; both must be at least 1",
            n.saturating_sub(n_test)
        )));
    }
    let order = permutation(n, seed);
    let (test, train) = order.split_at(n_test);
    Ok(Split {
        x_train: x.select(Axis(0), train),
        x_test: x.select(Axis(0), test),
        y_train: y.select(Axis(0), train),
        y_test: y.select(Axis(0), test),
    })
}
