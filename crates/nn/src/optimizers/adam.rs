//! Adam, as Keras computes it (bias correction folded into the step size).

use super::{group, iterations, slot, LearningRate, Optimizer};
use crate::error::Result;
use rill_graph::{DType, Graph, Tensor};

/// Keras's `Adam`: defaults lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7.
/// `t = iterations + 1; lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); m += (g - m)(1 - b1);
/// v += (g^2 - v)(1 - b2); w -= lr_t * m / (sqrt(v) + eps)`.
#[derive(Clone, Debug)]
pub struct Adam {
    pub learning_rate: LearningRate,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
}

impl Adam {
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adam {
        Adam {
            learning_rate: learning_rate.into(),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl Default for Adam {
    fn default() -> Self {
        Adam::new(0.001)
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "Adam"
    }

    fn apply_dense<'g>(
        &self,
        g: &'g Graph,
        pairs: &[(Tensor<'g>, Tensor<'g>)],
    ) -> Result<Tensor<'g>> {
        let it = iterations(g)?;
        let mut updates = Vec::with_capacity(pairs.len());
        for &(grad, var) in pairs {
            let dt = var.dtype();
            let t = it.try_add(1i64)?.try_cast(dt)?;
            // Keras computes the powers of beta from `cast(beta, dtype)`, and TF turns the Python
            // float into a float32 tensor before the cast: for float64 variables the betas in the
            // powers are the float32-rounded ones. Do the same, to match Keras bit for bit.
            let b1 = g.try_constant_with(self.beta_1 as f32 as f64, dt, None)?;
            let b2 = g.try_constant_with(self.beta_2 as f32 as f64, dt, None)?;
            let one = g.try_constant_with(1.0, dt, None)?;
            let lr = self.learning_rate.tensor(g, dt)?;
            let lr_t = lr
                .try_mul(one.try_sub(b2.try_pow(t)?)?.try_sqrt()?)?
                .try_div(one.try_sub(b1.try_pow(t)?)?)?;
            let m = slot(g, var, "m", 0.0)?;
            let v = slot(g, var, "v", 0.0)?;
            let m_new = m.try_assign_add(grad.try_sub(m)?.try_mul(1.0 - self.beta_1)?)?;
            let v_new =
                v.try_assign_add(grad.try_square()?.try_sub(v)?.try_mul(1.0 - self.beta_2)?)?;
            let step = lr_t
                .try_mul(m_new)?
                .try_div(v_new.try_sqrt()?.try_add(self.epsilon)?)?;
            updates.push(var.try_assign_sub(step)?);
        }
        let _after = g.control_dependencies(&updates);
        let bump = it.try_assign_add(g.try_constant_with(1, DType::I64, None)?)?;
        group(g, &[bump])
    }
}
