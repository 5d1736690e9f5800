//! TF1-style optimizers that build their updates as graph ops: `minimize(loss)` =
//! `compute_gradients` + `apply_gradients`, returning one training op. Update formulas and
//! defaults are Keras's, checked against Keras by `tests/tf_parity.rs`.

mod adagrad;
mod adam;
mod rmsprop;
pub mod schedules;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::{GradientDescent, Momentum};

use crate::error::{NnError, Result};
use rill_compiler::gradients;
use rill_graph::{DType, Graph, Initializer, Tensor, TensorId, Value};

/// A learning rate: a number, or a tensor (a schedule, a placeholder) read at every step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LearningRate {
    Constant(f64),
    Tensor(TensorId),
}

impl From<f64> for LearningRate {
    fn from(lr: f64) -> LearningRate {
        LearningRate::Constant(lr)
    }
}

impl From<Tensor<'_>> for LearningRate {
    fn from(t: Tensor<'_>) -> LearningRate {
        LearningRate::Tensor(t.id())
    }
}

impl LearningRate {
    /// The rate as a tensor of `dtype`.
    #[track_caller]
    pub fn tensor<'g>(&self, g: &'g Graph, dtype: DType) -> Result<Tensor<'g>> {
        Ok(match *self {
            LearningRate::Constant(lr) => g
                .try_constant(Value::full(dtype, &[], lr))?
                .named("learning_rate"),
            LearningRate::Tensor(id) => {
                let t = g.tensor(id)?;
                if t.dtype() == dtype {
                    t
                } else {
                    t.try_cast(dtype)?
                }
            }
        })
    }
}

/// A pair of a gradient (None when the variable does not affect the loss) and its variable.
pub type GradAndVar<'g> = (Option<Tensor<'g>>, Tensor<'g>);

/// An optimizer: how gradients become variable updates.
pub trait Optimizer: Send + Sync {
    /// The name slots and scopes use (`"Adam"`).
    fn name(&self) -> &'static str;

    /// The update ops for `(gradient, variable)` pairs; returns the op that runs them all.
    fn apply_dense<'g>(
        &self,
        g: &'g Graph,
        pairs: &[(Tensor<'g>, Tensor<'g>)],
    ) -> Result<Tensor<'g>>;

    /// The gradient of `loss` with respect to each variable (all trainable ones by default).
    #[track_caller]
    fn compute_gradients<'g>(
        &self,
        loss: Tensor<'g>,
        var_list: Option<&[Tensor<'g>]>,
    ) -> Result<Vec<GradAndVar<'g>>> {
        let g = loss.graph();
        let vars = match var_list {
            Some(v) => v.to_vec(),
            None => g.trainable_variables(),
        };
        let grads = gradients(&[loss], &vars, None)?;
        Ok(grads.into_iter().zip(vars).collect())
    }

    /// Applies computed gradients; errors when no variable has a gradient.
    #[track_caller]
    fn apply_gradients<'g>(
        &self,
        loss: Tensor<'g>,
        grads_and_vars: &[GradAndVar<'g>],
    ) -> Result<Tensor<'g>> {
        let pairs: Vec<(Tensor<'g>, Tensor<'g>)> = grads_and_vars
            .iter()
            .filter_map(|(gr, v)| gr.map(|gr| (gr, *v)))
            .collect();
        if pairs.is_empty() {
            return Err(NnError::NoGradients {
                variables: grads_and_vars.iter().map(|(_, v)| v.name()).collect(),
                loss: format!("{loss:?}"),
            });
        }
        let g = loss.graph();
        let _scope = g.name_scope(self.name());
        self.apply_dense(g, &pairs)
    }

    /// `compute_gradients` + `apply_gradients`: the training op.
    #[track_caller]
    fn minimize<'g>(
        &self,
        loss: Tensor<'g>,
        var_list: Option<&[Tensor<'g>]>,
    ) -> Result<Tensor<'g>> {
        let gv = self.compute_gradients(loss, var_list)?;
        self.apply_gradients(loss, &gv)
    }
}

/// A slot variable beside `var` (momentum, Adam's moments), initialised to `init`.
#[track_caller]
pub(crate) fn slot<'g>(
    g: &'g Graph,
    var: Tensor<'g>,
    suffix: &str,
    init: f64,
) -> Result<Tensor<'g>> {
    let shape = var.shape().to_known().ok_or_else(|| {
        NnError::InvalidArgument(format!(
            "variable {} has a shape that is not fully known",
            var.name()
        ))
    })?;
    let name = format!("{}/{suffix}", var.op_name().replace('/', "_"));
    let s = g.try_variable_init(&shape, var.dtype(), Initializer::Constant(init), &name)?;
    g.set_trainable(s, false);
    Ok(s)
}

/// A step counter (i64 variable starting at 0), as Keras's `optimizer.iterations`.
#[track_caller]
pub(crate) fn iterations(g: &Graph) -> Result<Tensor<'_>> {
    let it = g.try_variable(g.try_constant(0i64)?, "iterations")?;
    g.set_trainable(it, false);
    Ok(it)
}

/// Groups update ops into one training op.
#[track_caller]
pub(crate) fn group<'g>(g: &'g Graph, updates: &[Tensor<'g>]) -> Result<Tensor<'g>> {
    Ok(g.try_group(updates, "update")?)
}
