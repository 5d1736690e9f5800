//! `Flatten`: collapses every axis but the batch axis.

use super::{ApplyContext, Layer};
use crate::error::Result;
use rill_graph::{Graph, Tensor};

#[derive(Clone, Debug, Default)]
pub struct Flatten {
    pub input_shape: Option<Vec<usize>>,
}

impl Flatten {
    pub fn new() -> Flatten {
        Flatten::default()
    }

    /// The input shape (without the batch axis), when Flatten is the first layer.
    pub fn input_shape(mut self, shape: &[usize]) -> Flatten {
        self.input_shape = Some(shape.to_vec());
        self
    }
}

impl Layer for Flatten {
    fn class_name(&self) -> &'static str {
        "Flatten"
    }

    fn base_name(&self) -> &'static str {
        "flatten"
    }

    fn input_shape(&self) -> Option<Vec<usize>> {
        self.input_shape.clone()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }

    fn build(&mut self, _g: &Graph, _name: &str, _input: &[usize]) -> Result<()> {
        Ok(())
    }

    fn apply<'g>(&self, _g: &'g Graph, x: Tensor<'g>, _ctx: &ApplyContext) -> Result<Tensor<'g>> {
        let n: usize = x.shape().0[1..]
            .iter()
            .map(|d| d.known().unwrap_or(1))
            .product();
        Ok(x.try_reshape(&[-1, n as i64])?)
    }
}
