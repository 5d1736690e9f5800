//! Elementwise math, comparisons, casts, matmul, and the operator overloads `+ - * /` and `-x`.

use super::super::tensor::ok;
use crate::dtype::DType;
use crate::error::Result;
use crate::op::{BinaryOp, CompareOp, Op, UnaryOp};
use crate::tensor::Tensor;
use crate::value::Value;
use std::ops::{Add, Div, Mul, Neg, Sub};
use std::panic::Location;

/// The right-hand side of a binary op: another tensor, or a number that becomes a scalar
/// constant of the tensor's dtype.
pub trait Operand<'g> {
    fn into_tensor(self, like: Tensor<'g>) -> Result<Tensor<'g>>;
}

impl<'g> Operand<'g> for Tensor<'g> {
    fn into_tensor(self, _: Tensor<'g>) -> Result<Tensor<'g>> {
        Ok(self)
    }
}

macro_rules! number_operand {
    ($($t:ty),*) => {$(
        impl<'g> Operand<'g> for $t {
            #[track_caller]
            fn into_tensor(self, like: Tensor<'g>) -> Result<Tensor<'g>> {
                let v = Value::full(like.dtype(), &[], self as f64);
                like.graph().try_constant(v)
            }
        }
    )*};
}
number_operand!(f32, f64, i32, i64);

macro_rules! unary_builders {
    ($($name:ident, $try_name:ident, $op:expr, $doc:literal;)*) => {
        impl<'g> Tensor<'g> {$(
            #[doc = $doc]
            #[track_caller]
            pub fn $try_name(self) -> Result<Tensor<'g>> {
                self.apply(Op::Unary($op), &[])
            }
            #[doc = $doc]
            #[track_caller]
            pub fn $name(self) -> Tensor<'g> {
                ok(self.$try_name())
            }
        )*}
    };
}

unary_builders! {
    abs, try_abs, UnaryOp::Abs, "`|x|`.";
    sign, try_sign, UnaryOp::Sign, "-1, 0 or 1 by the sign of x.";
    square, try_square, UnaryOp::Square, "`x * x`.";
    exp, try_exp, UnaryOp::Exp, "`e^x`.";
    log, try_log, UnaryOp::Log, "Natural logarithm.";
    sqrt, try_sqrt, UnaryOp::Sqrt, "Square root.";
    rsqrt, try_rsqrt, UnaryOp::Rsqrt, "`1 / sqrt(x)`.";
    sin, try_sin, UnaryOp::Sin, "Sine.";
    cos, try_cos, UnaryOp::Cos, "Cosine.";
    tanh, try_tanh, UnaryOp::Tanh, "Hyperbolic tangent.";
    sigmoid, try_sigmoid, UnaryOp::Sigmoid, "`1 / (1 + e^-x)`.";
    relu, try_relu, UnaryOp::Relu, "`max(x, 0)`.";
    softplus, try_softplus, UnaryOp::Softplus, "`log(1 + e^x)`.";
    log1p, try_log1p, UnaryOp::Log1p, "`log(1 + x)`, accurate for small x (`tf.math.log1p`).";
}

macro_rules! binary_builders {
    ($($name:ident, $try_name:ident, $op:expr, $doc:literal;)*) => {
        impl<'g> Tensor<'g> {$(
            #[doc = $doc]
            #[track_caller]
            pub fn $try_name(self, rhs: impl Operand<'g>) -> Result<Tensor<'g>> {
                let rhs = rhs.into_tensor(self)?;
                self.apply($op, &[rhs])
            }
            #[doc = $doc]
            #[track_caller]
            pub fn $name(self, rhs: impl Operand<'g>) -> Tensor<'g> {
                ok(self.$try_name(rhs))
            }
        )*}
    };
}

binary_builders! {
    pow, try_pow, Op::Binary(BinaryOp::Pow), "`x^y`, elementwise with broadcasting.";
    maximum, try_maximum, Op::Binary(BinaryOp::Maximum), "Elementwise larger of x and y.";
    minimum, try_minimum, Op::Binary(BinaryOp::Minimum), "Elementwise smaller of x and y.";
    equal, try_equal, Op::Compare(CompareOp::Equal), "`x == y` (bool).";
    not_equal, try_not_equal, Op::Compare(CompareOp::NotEqual), "`x != y` (bool).";
    less, try_less, Op::Compare(CompareOp::Less), "`x < y` (bool).";
    less_equal, try_less_equal, Op::Compare(CompareOp::LessEqual), "`x <= y` (bool).";
    greater, try_greater, Op::Compare(CompareOp::Greater), "`x > y` (bool).";
    greater_equal, try_greater_equal, Op::Compare(CompareOp::GreaterEqual), "`x >= y` (bool).";
}

impl<'g> Tensor<'g> {
    /// `x + y` with broadcasting (the `+` operator panics where this returns the error).
    #[track_caller]
    pub fn try_add(self, rhs: impl Operand<'g>) -> Result<Tensor<'g>> {
        let rhs = rhs.into_tensor(self)?;
        self.apply(Op::Binary(BinaryOp::Add), &[rhs])
    }

    /// `x - y` with broadcasting.
    #[track_caller]
    pub fn try_sub(self, rhs: impl Operand<'g>) -> Result<Tensor<'g>> {
        let rhs = rhs.into_tensor(self)?;
        self.apply(Op::Binary(BinaryOp::Sub), &[rhs])
    }

    /// `x * y` with broadcasting.
    #[track_caller]
    pub fn try_mul(self, rhs: impl Operand<'g>) -> Result<Tensor<'g>> {
        let rhs = rhs.into_tensor(self)?;
        self.apply(Op::Binary(BinaryOp::Mul), &[rhs])
    }

    /// `x / y` with broadcasting: true division on floats, floor division on integers.
    #[track_caller]
    pub fn try_div(self, rhs: impl Operand<'g>) -> Result<Tensor<'g>> {
        let rhs = rhs.into_tensor(self)?;
        self.apply(Op::Binary(BinaryOp::Div), &[rhs])
    }

    /// `-x`.
    #[track_caller]
    pub fn try_neg(self) -> Result<Tensor<'g>> {
        self.apply(Op::Unary(UnaryOp::Neg), &[])
    }

    /// `x` where `x > 0`, else `alpha * x`.
    #[track_caller]
    pub fn try_leaky_relu(self, alpha: f64) -> Result<Tensor<'g>> {
        self.apply(Op::Unary(UnaryOp::LeakyRelu { alpha }), &[])
    }

    #[track_caller]
    pub fn leaky_relu(self, alpha: f64) -> Tensor<'g> {
        ok(self.try_leaky_relu(alpha))
    }

    /// `x` where `x > 0`, else `alpha * (e^x - 1)`.
    #[track_caller]
    pub fn try_elu(self, alpha: f64) -> Result<Tensor<'g>> {
        self.apply(Op::Unary(UnaryOp::Elu { alpha }), &[])
    }

    #[track_caller]
    pub fn elu(self, alpha: f64) -> Tensor<'g> {
        ok(self.try_elu(alpha))
    }

    /// Converts to another dtype (`as` semantics; to bool: nonzero is true).
    #[track_caller]
    pub fn try_cast(self, to: DType) -> Result<Tensor<'g>> {
        self.apply(Op::Cast { to }, &[])
    }

    #[track_caller]
    pub fn cast(self, to: DType) -> Tensor<'g> {
        ok(self.try_cast(to))
    }

    /// `min(max(x, lo), hi)`, as TF's `clip_by_value`.
    #[track_caller]
    pub fn try_clip_by_value(
        self,
        lo: impl Operand<'g>,
        hi: impl Operand<'g>,
    ) -> Result<Tensor<'g>> {
        self.try_maximum(lo)?.try_minimum(hi)
    }

    #[track_caller]
    pub fn clip_by_value(self, lo: impl Operand<'g>, hi: impl Operand<'g>) -> Tensor<'g> {
        ok(self.try_clip_by_value(lo, hi))
    }

    /// Matrix product `self @ rhs` over the last two axes (leading axes broadcast as batches).
    #[track_caller]
    pub fn try_matmul(self, rhs: Tensor<'g>) -> Result<Tensor<'g>> {
        self.try_matmul_t(rhs, false, false)
    }

    #[track_caller]
    pub fn matmul(self, rhs: Tensor<'g>) -> Tensor<'g> {
        ok(self.try_matmul(rhs))
    }

    /// Matrix product with either operand transposed first (TF's `transpose_a`, `transpose_b`).
    #[track_caller]
    pub fn try_matmul_t(
        self,
        rhs: Tensor<'g>,
        transpose_a: bool,
        transpose_b: bool,
    ) -> Result<Tensor<'g>> {
        self.apply(
            Op::MatMul {
                transpose_a,
                transpose_b,
            },
            &[rhs],
        )
    }

    #[track_caller]
    pub fn matmul_t(self, rhs: Tensor<'g>, transpose_a: bool, transpose_b: bool) -> Tensor<'g> {
        ok(self.try_matmul_t(rhs, transpose_a, transpose_b))
    }
}

impl<'g> crate::graph::Graph {
    /// `where(cond, x, y)`: elements of `x` where `cond` is true, else of `y` (all broadcast).
    #[doc(alias = "where")]
    #[track_caller]
    pub fn try_select(
        &'g self,
        cond: Tensor<'g>,
        x: Tensor<'g>,
        y: Tensor<'g>,
    ) -> Result<Tensor<'g>> {
        self.add_node(Op::Select, &[cond, x, y], None, None, Location::caller())
    }

    #[doc(alias = "where")]
    #[track_caller]
    pub fn select(&'g self, cond: Tensor<'g>, x: Tensor<'g>, y: Tensor<'g>) -> Tensor<'g> {
        ok(self.try_select(cond, x, y))
    }
}

impl<'g, R: Operand<'g>> Add<R> for Tensor<'g> {
    type Output = Tensor<'g>;
    #[track_caller]
    fn add(self, rhs: R) -> Tensor<'g> {
        ok(self.try_add(rhs))
    }
}

impl<'g, R: Operand<'g>> Sub<R> for Tensor<'g> {
    type Output = Tensor<'g>;
    #[track_caller]
    fn sub(self, rhs: R) -> Tensor<'g> {
        ok(self.try_sub(rhs))
    }
}

impl<'g, R: Operand<'g>> Mul<R> for Tensor<'g> {
    type Output = Tensor<'g>;
    #[track_caller]
    fn mul(self, rhs: R) -> Tensor<'g> {
        ok(self.try_mul(rhs))
    }
}

impl<'g, R: Operand<'g>> Div<R> for Tensor<'g> {
    type Output = Tensor<'g>;
    #[track_caller]
    fn div(self, rhs: R) -> Tensor<'g> {
        ok(self.try_div(rhs))
    }
}

impl<'g> Neg for Tensor<'g> {
    type Output = Tensor<'g>;
    #[track_caller]
    fn neg(self) -> Tensor<'g> {
        ok(self.try_neg())
    }
}

/// Numbers on the left: `2.0 * x`, `1.0 - x`.
macro_rules! number_lhs {
    ($($t:ty),*) => {$(
        impl<'g> Add<Tensor<'g>> for $t {
            type Output = Tensor<'g>;
            #[track_caller]
            fn add(self, rhs: Tensor<'g>) -> Tensor<'g> {
                ok(ok(self.into_tensor(rhs)).try_add(rhs))
            }
        }
        impl<'g> Sub<Tensor<'g>> for $t {
            type Output = Tensor<'g>;
            #[track_caller]
            fn sub(self, rhs: Tensor<'g>) -> Tensor<'g> {
                ok(ok(self.into_tensor(rhs)).try_sub(rhs))
            }
        }
        impl<'g> Mul<Tensor<'g>> for $t {
            type Output = Tensor<'g>;
            #[track_caller]
            fn mul(self, rhs: Tensor<'g>) -> Tensor<'g> {
                ok(ok(self.into_tensor(rhs)).try_mul(rhs))
            }
        }
        impl<'g> Div<Tensor<'g>> for $t {
            type Output = Tensor<'g>;
            #[track_caller]
            fn div(self, rhs: Tensor<'g>) -> Tensor<'g> {
                ok(ok(self.into_tensor(rhs)).try_div(rhs))
            }
        }
    )*};
}
number_lhs!(f32, f64);
