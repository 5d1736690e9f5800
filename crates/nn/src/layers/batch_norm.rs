//! `BatchNormalization` over the last axis, with Keras's defaults (momentum 0.99, epsilon 1e-3).
//! Training normalises with the batch statistics and updates the moving averages; inference
//! uses the moving averages.

use super::{ApplyContext, Layer, Weight};
use crate::error::{NnError, Result};
use rill_graph::{DType, Graph, Initializer, Tensor, TensorId};
use std::sync::Mutex;

#[derive(Debug)]
pub struct BatchNormalization {
    pub momentum: f64,
    pub epsilon: f64,
    weights: Vec<Weight>,
    updates: Mutex<Vec<TensorId>>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization::new()
    }
}

impl BatchNormalization {
    pub fn new() -> BatchNormalization {
        BatchNormalization {
            momentum: 0.99,
            epsilon: 1e-3,
            weights: Vec::new(),
            updates: Mutex::new(Vec::new()),
        }
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn base_name(&self) -> &'static str {
        "batch_normalization"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    /// gamma and beta train; the moving mean and variance do not.
    fn count_params(&self, input: &[usize]) -> (usize, usize) {
        let n = input.last().copied().unwrap_or(0);
        (2 * n, 2 * n)
    }

    fn build(&mut self, g: &Graph, name: &str, input: &[usize]) -> Result<()> {
        let n = *input
            .last()
            .ok_or_else(|| NnError::InvalidArgument("BatchNormalization needs rank >= 1".into()))?;
        let _scope = g.name_scope(name);
        // A new compile builds into a new graph: forget the last graph's variables and updates.
        self.weights.clear();
        self.updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let mut make = |var: &str, init: Initializer, trainable: bool| -> Result<()> {
            let v = g.try_variable_init(&[n], DType::F32, init, var)?;
            g.set_trainable(v, trainable);
            self.weights.push(Weight {
                name: format!("{name}/{var}"),
                variable: v.id(),
                shape: vec![n],
                trainable,
            });
            Ok(())
        };
        make("gamma", Initializer::Ones, true)?;
        make("beta", Initializer::Zeros, true)?;
        make("moving_mean", Initializer::Zeros, false)?;
        make("moving_variance", Initializer::Ones, false)
    }

    fn apply<'g>(&self, g: &'g Graph, x: Tensor<'g>, ctx: &ApplyContext) -> Result<Tensor<'g>> {
        let [gamma, beta, mm, mv] = [0, 1, 2, 3].map(|i| g.tensor(self.weights[i].variable));
        let (gamma, beta, mm, mv) = (gamma?, beta?, mm?, mv?);
        let axes: Vec<i64> = (0..x.rank() as i64 - 1).collect();
        let (mean, var) = if ctx.training {
            let mean = x.try_mean(axes.clone(), false)?;
            let var = x.try_sub(mean)?.try_square()?.try_mean(axes, false)?;
            let m = 1.0 - self.momentum;
            // moving = moving - (moving - batch) * (1 - momentum), as Keras.
            let upd_mean = mm.try_assign_sub(mm.try_sub(mean)?.try_mul(m)?)?;
            let upd_var = mv.try_assign_sub(mv.try_sub(var)?.try_mul(m)?)?;
            self.updates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend([upd_mean.id(), upd_var.id()]);
            (mean, var)
        } else {
            (mm, mv)
        };
        let inv = var.try_add(self.epsilon)?.try_rsqrt()?.try_mul(gamma)?;
        Ok(x.try_sub(mean)?.try_mul(inv)?.try_add(beta)?)
    }

    fn weights(&self) -> Vec<Weight> {
        self.weights.clone()
    }

    fn take_updates(&self) -> Vec<TensorId> {
        std::mem::take(&mut *self.updates.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
