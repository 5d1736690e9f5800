//! Adagrad, as Keras computes it.

use super::{group, slot, LearningRate, Optimizer};
use crate::error::Result;
use rill_graph::{Graph, Tensor};

/// Keras's `Adagrad`: defaults lr 0.001, initial accumulator 0.1, epsilon 1e-7.
/// `a += g^2; w -= lr * g / sqrt(a + eps)`.
#[derive(Clone, Debug)]
pub struct Adagrad {
    pub learning_rate: LearningRate,
    pub initial_accumulator_value: f64,
    pub epsilon: f64,
}

impl Adagrad {
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adagrad {
        Adagrad {
            learning_rate: learning_rate.into(),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
        }
    }
}

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad::new(0.001)
    }
}

impl Optimizer for Adagrad {
    fn name(&self) -> &'static str {
        "Adagrad"
    }

    fn apply_dense<'g>(
        &self,
        g: &'g Graph,
        pairs: &[(Tensor<'g>, Tensor<'g>)],
    ) -> Result<Tensor<'g>> {
        let mut updates = Vec::with_capacity(pairs.len());
        for &(grad, var) in pairs {
            let lr = self.learning_rate.tensor(g, var.dtype())?;
            let acc = slot(g, var, "accumulator", self.initial_accumulator_value)?;
            let acc_new = acc.try_assign_add(grad.try_square()?)?;
            let step = lr
                .try_mul(grad)?
                .try_div(acc_new.try_add(self.epsilon)?.try_sqrt()?)?;
            updates.push(var.try_assign_sub(step)?);
        }
        group(g, &updates)
    }
}
