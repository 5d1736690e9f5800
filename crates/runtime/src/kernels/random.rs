//! Random kernels: seeded ChaCha streams, so a seeded program draws the same numbers everywhere.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal};
use rill_graph::{DType, Distribution, Value};

/// Draws a tensor of `shape` from `distribution`; `stream` tells apart successive runs.
pub fn sample(
    distribution: Distribution,
    seed: u64,
    stream: u64,
    shape: &[usize],
    dtype: DType,
) -> Value {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let n: usize = shape.iter().product();
    let data: Vec<f64> = match distribution {
        Distribution::Normal { mean, stddev } => (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                mean + stddev * z
            })
            .collect(),
        Distribution::TruncatedNormal { mean, stddev } => (0..n)
            .map(|_| loop {
                let z: f64 = StandardNormal.sample(&mut rng);
                if z.abs() <= 2.0 {
                    break mean + stddev * z;
                }
            })
            .collect(),
        Distribution::Uniform { min, max } => (0..n)
            .map(|_| min + (max - min) * rng.random::<f64>())
            .collect(),
    };
    Value::from_vec(shape, data)
        .expect("length matches")
        .cast(dtype)
}
