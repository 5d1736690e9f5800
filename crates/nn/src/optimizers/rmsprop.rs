//! RMSprop, as Keras computes it.

use super::{group, slot, LearningRate, Optimizer};
use crate::error::Result;
use rill_graph::{Graph, Tensor};

/// Keras's `RMSprop`: defaults lr 0.001, rho 0.9, epsilon 1e-7.
/// `v = rho * v + (1 - rho) * g^2; w -= lr * g / sqrt(v + eps)`.
#[derive(Clone, Debug)]
pub struct RmsProp {
    pub learning_rate: LearningRate,
    pub rho: f64,
    pub epsilon: f64,
}

impl RmsProp {
    pub fn new(learning_rate: impl Into<LearningRate>) -> RmsProp {
        RmsProp {
            learning_rate: learning_rate.into(),
            rho: 0.9,
            epsilon: 1e-7,
        }
    }
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp::new(0.001)
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "RMSProp"
    }

    fn apply_dense<'g>(
        &self,
        g: &'g Graph,
        pairs: &[(Tensor<'g>, Tensor<'g>)],
    ) -> Result<Tensor<'g>> {
        let mut updates = Vec::with_capacity(pairs.len());
        for &(grad, var) in pairs {
            let lr = self.learning_rate.tensor(g, var.dtype())?;
            let v = slot(g, var, "rms", 0.0)?;
            let v_new = v.try_assign(
                v.try_mul(self.rho)?
                    .try_add(grad.try_square()?.try_mul(1.0 - self.rho)?)?,
            )?;
            let step = lr
                .try_mul(grad)?
                .try_div(v_new.try_add(self.epsilon)?.try_sqrt()?)?;
            updates.push(var.try_assign_sub(step)?);
        }
        group(g, &updates)
    }
}
