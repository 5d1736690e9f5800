//! A small deterministic generator for the random-graph tests, so every run builds the same
//! graphs and values.

use ndarray::{ArrayD, IxDyn};
use rill::prelude::Value;

pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in [-2, 2).
    pub fn float(&mut self) -> f32 {
        self.next() as f32 / (1u64 << 31) as f32 * 4.0 - 2.0
    }

    /// Uniform in [-1, 1).
    pub fn float64(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 31) as f64 * 2.0 - 1.0
    }

    /// An f32 value of `shape` with elements from `float`.
    #[allow(dead_code)] // each test file uses some of these
    pub fn value(&mut self, shape: &[usize]) -> Value {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|_| self.float()).collect();
        Value::from(ArrayD::from_shape_vec(IxDyn(shape), data).expect("n elements"))
    }

    /// An f64 value of `shape` with elements from `float64`.
    #[allow(dead_code)]
    pub fn value64(&mut self, shape: &[usize]) -> Value {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|_| self.float64()).collect();
        Value::from(ArrayD::from_shape_vec(IxDyn(shape), data).expect("n elements"))
    }
}
