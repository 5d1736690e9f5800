//! `Dense`: `activation(x @ kernel + bias)`, with Keras's defaults (glorot_uniform, zeros).

use super::{ApplyContext, Layer, Weight};
use crate::activations::ActivationSpec;
use crate::error::{NnError, Result};
use crate::regularizers::Regularizer;
use rill_graph::{DType, Graph, Initializer, Tensor};

#[derive(Clone, Debug)]
pub struct Dense {
    pub units: usize,
    pub activation: ActivationSpec,
    pub input_dim: Option<usize>,
    pub use_bias: bool,
    pub kernel_initializer: Initializer,
    pub bias_initializer: Initializer,
    pub kernel_regularizer: Option<Regularizer>,
    pub bias_regularizer: Option<Regularizer>,
    built: Option<(Weight, Option<Weight>)>,
}

impl Dense {
    pub fn new(units: usize) -> Dense {
        Dense {
            units,
            activation: ActivationSpec::Name("linear".into()),
            input_dim: None,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform { seed: None },
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            built: None,
        }
    }

    /// The activation, by Keras name (`"sigmoid"`) or by value.
    pub fn activation(mut self, activation: impl Into<ActivationSpec>) -> Dense {
        self.activation = activation.into();
        self
    }

    /// The number of input features; sets the model's input shape when first.
    pub fn input_dim(mut self, dim: usize) -> Dense {
        self.input_dim = Some(dim);
        self
    }

    pub fn use_bias(mut self, use_bias: bool) -> Dense {
        self.use_bias = use_bias;
        self
    }

    pub fn kernel_initializer(mut self, init: Initializer) -> Dense {
        self.kernel_initializer = init;
        self
    }

    pub fn bias_initializer(mut self, init: Initializer) -> Dense {
        self.bias_initializer = init;
        self
    }

    pub fn kernel_regularizer(mut self, r: Regularizer) -> Dense {
        self.kernel_regularizer = Some(r);
        self
    }

    pub fn bias_regularizer(mut self, r: Regularizer) -> Dense {
        self.bias_regularizer = Some(r);
        self
    }
}

impl Layer for Dense {
    fn class_name(&self) -> &'static str {
        "Dense"
    }

    fn base_name(&self) -> &'static str {
        "dense"
    }

    fn input_shape(&self) -> Option<Vec<usize>> {
        self.input_dim.map(|d| vec![d])
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input.split_last() {
            Some((_, rest)) => Ok(rest.iter().copied().chain([self.units]).collect()),
            None => Err(NnError::InvalidArgument(
                "Dense needs an input of rank >= 1".into(),
            )),
        }
    }

    fn count_params(&self, input: &[usize]) -> (usize, usize) {
        let fan_in = input.last().copied().unwrap_or(0);
        let bias = if self.use_bias { self.units } else { 0 };
        (fan_in * self.units + bias, 0)
    }

    fn build(&mut self, g: &Graph, name: &str, input: &[usize]) -> Result<()> {
        self.activation.resolve()?;
        let fan_in = *input
            .last()
            .ok_or_else(|| NnError::InvalidArgument("Dense needs an input of rank >= 1".into()))?;
        let _scope = g.name_scope(name);
        let kernel_shape = vec![fan_in, self.units];
        let k =
            g.try_variable_init(&kernel_shape, DType::F32, self.kernel_initializer, "kernel")?;
        let kernel = Weight {
            name: format!("{name}/kernel"),
            variable: k.id(),
            shape: kernel_shape,
            trainable: true,
        };
        let bias = if self.use_bias {
            let b =
                g.try_variable_init(&[self.units], DType::F32, self.bias_initializer, "bias")?;
            Some(Weight {
                name: format!("{name}/bias"),
                variable: b.id(),
                shape: vec![self.units],
                trainable: true,
            })
        } else {
            None
        };
        self.built = Some((kernel, bias));
        Ok(())
    }

    fn apply<'g>(&self, g: &'g Graph, x: Tensor<'g>, _ctx: &ApplyContext) -> Result<Tensor<'g>> {
        let (kernel, bias) = self
            .built
            .as_ref()
            .ok_or_else(|| NnError::InvalidArgument("Dense used before build".into()))?;
        let k = g.tensor(kernel.variable)?;
        let x2 = if x.rank() == 2 {
            x
        } else {
            x.try_reshape(&[-1, kernel.shape[0] as i64])?
        };
        let mut y = x2.try_matmul(k)?;
        if let Some(b) = bias {
            y = y.try_add(g.tensor(b.variable)?)?;
        }
        if x.rank() != 2 {
            let mut shape: Vec<i64> = x
                .shape()
                .0
                .iter()
                .map(|d| d.known().map_or(-1, |n| n as i64))
                .collect();
            *shape.last_mut().expect("rank >= 1") = self.units as i64;
            shape[0] = -1;
            y = y.try_reshape(&shape)?;
        }
        self.activation.resolve()?.apply(y)
    }

    fn weights(&self) -> Vec<Weight> {
        match &self.built {
            Some((k, b)) => std::iter::once(k.clone()).chain(b.clone()).collect(),
            None => Vec::new(),
        }
    }

    fn penalties<'g>(&self, g: &'g Graph) -> Result<Vec<Tensor<'g>>> {
        let mut out = Vec::new();
        if let Some((k, b)) = &self.built {
            if let Some(r) = self.kernel_regularizer {
                out.push(r.penalty(g.tensor(k.variable)?)?);
            }
            if let (Some(r), Some(b)) = (self.bias_regularizer, b) {
                out.push(r.penalty(g.tensor(b.variable)?)?);
            }
        }
        Ok(out)
    }
}
