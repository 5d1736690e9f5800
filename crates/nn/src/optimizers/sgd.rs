//! Gradient descent, and gradient descent with (Nesterov) momentum, as Keras's `SGD`.

use super::{group, slot, LearningRate, Optimizer};
use crate::error::Result;
use rill_graph::{Graph, Tensor};

/// `w -= lr * g`. Keras's `SGD()` default learning rate is 0.01.
#[derive(Clone, Debug)]
pub struct GradientDescent {
    pub learning_rate: LearningRate,
}

impl GradientDescent {
    pub fn new(learning_rate: impl Into<LearningRate>) -> GradientDescent {
        GradientDescent {
            learning_rate: learning_rate.into(),
        }
    }
}

impl Default for GradientDescent {
    fn default() -> Self {
        GradientDescent::new(0.01)
    }
}

impl Optimizer for GradientDescent {
    fn name(&self) -> &'static str {
        "GradientDescent"
    }

    fn apply_dense<'g>(
        &self,
        g: &'g Graph,
        pairs: &[(Tensor<'g>, Tensor<'g>)],
    ) -> Result<Tensor<'g>> {
        let mut updates = Vec::with_capacity(pairs.len());
        for &(grad, var) in pairs {
            let lr = self.learning_rate.tensor(g, var.dtype())?;
            updates.push(var.try_assign_sub(grad.try_mul(lr)?)?);
        }
        group(g, &updates)
    }
}

/// Keras's `SGD(momentum=m, nesterov=...)`:
/// `v = m * v - lr * g; w += v` (or, Nesterov, `w += m * v - lr * g`).
#[derive(Clone, Debug)]
pub struct Momentum {
    pub learning_rate: LearningRate,
    pub momentum: f64,
    pub nesterov: bool,
}

impl Momentum {
    pub fn new(learning_rate: impl Into<LearningRate>, momentum: f64, nesterov: bool) -> Momentum {
        Momentum {
            learning_rate: learning_rate.into(),
            momentum,
            nesterov,
        }
    }
}

impl Optimizer for Momentum {
    fn name(&self) -> &'static str {
        "Momentum"
    }

    fn apply_dense<'g>(
        &self,
        g: &'g Graph,
        pairs: &[(Tensor<'g>, Tensor<'g>)],
    ) -> Result<Tensor<'g>> {
        let mut updates = Vec::with_capacity(pairs.len());
        for &(grad, var) in pairs {
            let lr = self.learning_rate.tensor(g, var.dtype())?;
            let v = slot(g, var, "momentum", 0.0)?;
            let step = grad.try_mul(lr)?;
            let v_new = v.try_assign(v.try_mul(self.momentum)?.try_sub(step)?)?;
            let delta = if self.nesterov {
                v_new.try_mul(self.momentum)?.try_sub(step)?
            } else {
                v_new
            };
            updates.push(var.try_assign_add(delta)?);
        }
        group(g, &updates)
    }
}
