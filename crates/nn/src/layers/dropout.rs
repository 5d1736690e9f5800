//! `Dropout`: in training, zeroes a fraction `rate` of the inputs and scales the rest by
//! `1 / (1 - rate)`; in inference, the identity.

use super::{ApplyContext, Layer};
use crate::error::{NnError, Result};
use rill_graph::{Graph, Tensor};

#[derive(Clone, Debug)]
pub struct Dropout {
    pub rate: f64,
    pub seed: Option<u64>,
}

impl Dropout {
    pub fn new(rate: f64) -> Dropout {
        Dropout { rate, seed: None }
    }

    pub fn seed(mut self, seed: u64) -> Dropout {
        self.seed = Some(seed);
        self
    }
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }

    fn base_name(&self) -> &'static str {
        "dropout"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn build(&mut self, _g: &Graph, _name: &str, _input: &[usize]) -> Result<()> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(NnError::InvalidArgument(format!(
                "Dropout rate must be in [0, 1), got {}",
                self.rate
            )));
        }
        Ok(())
    }

    fn apply<'g>(&self, g: &'g Graph, x: Tensor<'g>, ctx: &ApplyContext) -> Result<Tensor<'g>> {
        if !ctx.training || self.rate == 0.0 {
            return Ok(x);
        }
        let u = g.try_random_uniform_like(x, 0.0, 1.0, self.seed)?;
        let keep = u.try_greater_equal(self.rate)?.try_cast(x.dtype())?;
        Ok(x.try_mul(keep)?.try_mul(1.0 / (1.0 - self.rate))?)
    }
}
