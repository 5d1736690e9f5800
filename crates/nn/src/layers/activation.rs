//! `Activation`: applies an activation function as a layer of its own.

use super::{ApplyContext, Layer};
use crate::activations::ActivationSpec;
use crate::error::Result;
use rill_graph::{Graph, Tensor};

#[derive(Clone, Debug)]
pub struct ActivationLayer {
    pub activation: ActivationSpec,
}

impl ActivationLayer {
    pub fn new(activation: impl Into<ActivationSpec>) -> ActivationLayer {
        ActivationLayer {
            activation: activation.into(),
        }
    }
}

impl Layer for ActivationLayer {
    fn class_name(&self) -> &'static str {
        "Activation"
    }

    fn base_name(&self) -> &'static str {
        "activation"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn build(&mut self, _g: &Graph, _name: &str, _input: &[usize]) -> Result<()> {
        self.activation.resolve().map(|_| ())
    }

    fn apply<'g>(&self, _g: &'g Graph, x: Tensor<'g>, _ctx: &ApplyContext) -> Result<Tensor<'g>> {
        self.activation.resolve()?.apply(x)
    }
}
