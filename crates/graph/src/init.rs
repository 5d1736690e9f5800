//! Keras's weight initializers, each built as graph ops (so seeded and re-drawn per init run).

use crate::dtype::DType;
use crate::error::Result;
use crate::graph::Graph;
use crate::tensor::Tensor;

/// Keras's initializers, with its defaults where the constructor takes none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    Zeros,
    Ones,
    Constant(f64),
    /// Keras default: mean 0, stddev 0.05.
    RandomNormal {
        mean: f64,
        stddev: f64,
        seed: Option<u64>,
    },
    /// Keras default: [-0.05, 0.05).
    RandomUniform {
        min: f64,
        max: f64,
        seed: Option<u64>,
    },
    TruncatedNormal {
        mean: f64,
        stddev: f64,
        seed: Option<u64>,
    },
    /// U[-l, l], l = sqrt(6 / (fan_in + fan_out)); Keras's default for Dense kernels.
    GlorotUniform {
        seed: Option<u64>,
    },
    /// Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796.
    GlorotNormal {
        seed: Option<u64>,
    },
    /// Truncated normal, stddev sqrt(2 / fan_in) / 0.8796.
    HeNormal {
        seed: Option<u64>,
    },
    /// U[-l, l], l = sqrt(6 / fan_in).
    HeUniform {
        seed: Option<u64>,
    },
}

/// Keras divides by this so a normal truncated at two standard deviations keeps the wanted one.
const TRUNCATION_STDDEV_CORRECTION: f64 = 0.879_625_661_034_239_8;

/// Keras's fan-in and fan-out of a weight shape.
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        2 => (shape[0] as f64, shape[1] as f64),
        n => {
            let receptive: usize = shape[..n - 2].iter().product();
            (
                (shape[n - 2] * receptive) as f64,
                (shape[n - 1] * receptive) as f64,
            )
        }
    }
}

impl Initializer {
    /// Keras's name for the initializer (`"glorot_uniform"`).
    pub fn name(&self) -> &'static str {
        match self {
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
            Initializer::Constant(_) => "constant",
            Initializer::RandomNormal { .. } => "random_normal",
            Initializer::RandomUniform { .. } => "random_uniform",
            Initializer::TruncatedNormal { .. } => "truncated_normal",
            Initializer::GlorotUniform { .. } => "glorot_uniform",
            Initializer::GlorotNormal { .. } => "glorot_normal",
            Initializer::HeNormal { .. } => "he_normal",
            Initializer::HeUniform { .. } => "he_uniform",
        }
    }

    /// Looks an initializer up by Keras's name, with Keras's default arguments.
    pub fn from_name(name: &str) -> Option<Initializer> {
        Some(match name {
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "random_normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
                seed: None,
            },
            "random_uniform" => Initializer::RandomUniform {
                min: -0.05,
                max: 0.05,
                seed: None,
            },
            "truncated_normal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
                seed: None,
            },
            "glorot_uniform" => Initializer::GlorotUniform { seed: None },
            "glorot_normal" => Initializer::GlorotNormal { seed: None },
            "he_normal" => Initializer::HeNormal { seed: None },
            "he_uniform" => Initializer::HeUniform { seed: None },
            _ => return None,
        })
    }

    /// The tensor of initial values for a weight of `shape`.
    #[track_caller]
    pub fn build<'g>(&self, g: &'g Graph, shape: &[usize], dtype: DType) -> Result<Tensor<'g>> {
        let (fan_in, fan_out) = fans(shape);
        match *self {
            Initializer::Zeros => g.try_fill(shape, 0.0, dtype),
            Initializer::Ones => g.try_fill(shape, 1.0, dtype),
            Initializer::Constant(c) => g.try_fill(shape, c, dtype),
            Initializer::RandomNormal { mean, stddev, seed } => {
                g.try_random_normal(shape, mean, stddev, dtype, seed)
            }
            Initializer::RandomUniform { min, max, seed } => {
                g.try_random_uniform(shape, min, max, dtype, seed)
            }
            Initializer::TruncatedNormal { mean, stddev, seed } => {
                g.try_truncated_normal(shape, mean, stddev, dtype, seed)
            }
            Initializer::GlorotUniform { seed } => {
                let l = (6.0 / (fan_in + fan_out)).sqrt();
                g.try_random_uniform(shape, -l, l, dtype, seed)
            }
            Initializer::GlorotNormal { seed } => {
                let s = (2.0 / (fan_in + fan_out)).sqrt() / TRUNCATION_STDDEV_CORRECTION;
                g.try_truncated_normal(shape, 0.0, s, dtype, seed)
            }
            Initializer::HeNormal { seed } => {
                let s = (2.0 / fan_in).sqrt() / TRUNCATION_STDDEV_CORRECTION;
                g.try_truncated_normal(shape, 0.0, s, dtype, seed)
            }
            Initializer::HeUniform { seed } => {
                let l = (6.0 / fan_in).sqrt();
                g.try_random_uniform(shape, -l, l, dtype, seed)
            }
        }
    }
}
