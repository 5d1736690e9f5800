//! Activations by Keras name or by value: linear, sigmoid, tanh, relu, leaky_relu, elu, softmax,
//! softplus.

use crate::error::{NnError, Result};
use rill_graph::Tensor;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    /// Keras's default negative slope is 0.2 (Keras 3) .
    LeakyRelu {
        alpha: f64,
    },
    Elu {
        alpha: f64,
    },
    Softmax,
    Softplus,
}

/// The names `Activation::from_name` knows, for error messages.
pub const ACTIVATION_NAMES: &[&str] = &[
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softmax",
    "softplus",
];

impl Activation {
    pub fn from_name(name: &str) -> Result<Activation> {
        Ok(match name {
            "linear" | "None" | "none" => Activation::Linear,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu { alpha: 0.2 },
            "elu" => Activation::Elu { alpha: 1.0 },
            "softmax" => Activation::Softmax,
            "softplus" => Activation::Softplus,
            _ => {
                return Err(NnError::UnknownName {
                    kind: "activation",
                    name: name.to_string(),
                    known: ACTIVATION_NAMES.join(", "),
                })
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
        }
    }

    /// Applies the activation (softmax over the last axis).
    #[track_caller]
    pub fn apply<'g>(&self, x: Tensor<'g>) -> Result<Tensor<'g>> {
        Ok(match *self {
            Activation::Linear => x,
            Activation::Sigmoid => x.try_sigmoid()?,
            Activation::Tanh => x.try_tanh()?,
            Activation::Relu => x.try_relu()?,
            Activation::LeakyRelu { alpha } => x.try_leaky_relu(alpha)?,
            Activation::Elu { alpha } => x.try_elu(alpha)?,
            Activation::Softmax => x.try_softmax(-1)?,
            Activation::Softplus => x.try_softplus()?,
        })
    }
}

/// An activation given by name (checked when the model is compiled) or by value.
#[derive(Clone, Debug, PartialEq)]
pub enum ActivationSpec {
    Name(String),
    Value(Activation),
}

impl ActivationSpec {
    pub fn resolve(&self) -> Result<Activation> {
        match self {
            ActivationSpec::Name(n) => Activation::from_name(n),
            ActivationSpec::Value(a) => Ok(*a),
        }
    }
}

impl From<&str> for ActivationSpec {
    fn from(n: &str) -> Self {
        ActivationSpec::Name(n.to_string())
    }
}

impl From<Activation> for ActivationSpec {
    fn from(a: Activation) -> Self {
        ActivationSpec::Value(a)
    }
}
