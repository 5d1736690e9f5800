//! The one scalar definition of every elementwise op. Plain kernels and fused kernels both call
//! these, so fusing ops can never change the arithmetic.

use ndarray::ArrayD;
use num_traits::Float;
use rill_graph::{BinaryOp, CompareOp, Element, UnaryOp, Value};
use std::cell::RefCell;

use super::eigen;

/// Numbers the arithmetic ops take: floats and integers.
pub trait Num: Element + PartialOrd {
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn mul(self, b: Self) -> Self;
    /// True division on floats, floor division on integers (callers rule out a zero divisor).
    fn div(self, b: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    fn is_zero(self) -> bool {
        self == Self::zero()
    }
    /// NaN is the one value not equal to itself (always false for integers).
    #[allow(clippy::eq_op)]
    fn not_a_number(self) -> bool {
        self != self
    }
    /// The smallest value (the identity of max), -inf for floats.
    fn lowest() -> Self;
    /// The largest value (the identity of min), +inf for floats.
    fn highest() -> Self;
}

macro_rules! float_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)] fn add(self, b: Self) -> Self { self + b }
            #[inline(always)] fn sub(self, b: Self) -> Self { self - b }
            #[inline(always)] fn mul(self, b: Self) -> Self { self * b }
            #[inline(always)] fn div(self, b: Self) -> Self { self / b }
            #[inline(always)] fn neg(self) -> Self { -self }
            #[inline(always)] fn abs(self) -> Self { <$t>::abs(self) }
            #[inline(always)] fn zero() -> Self { 0.0 }
            #[inline(always)] fn one() -> Self { 1.0 }
            #[inline(always)] fn lowest() -> Self { <$t>::NEG_INFINITY }
            #[inline(always)] fn highest() -> Self { <$t>::INFINITY }
        }
    )*};
}
float_num!(f32, f64);

// Integer arithmetic wraps on overflow, as TF's kernels do, instead of panicking.
macro_rules! int_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)] fn add(self, b: Self) -> Self { self.wrapping_add(b) }
            #[inline(always)] fn sub(self, b: Self) -> Self { self.wrapping_sub(b) }
            #[inline(always)] fn mul(self, b: Self) -> Self { self.wrapping_mul(b) }
            #[inline(always)] fn div(self, b: Self) -> Self {
                let q = self.wrapping_div(b);
                // wrapping_rem: MIN % -1 would panic; like MIN / -1 it wraps (to 0).
                if (self.wrapping_rem(b) != 0) && ((self < 0) != (b < 0)) { q - 1 } else { q }
            }
            #[inline(always)] fn neg(self) -> Self { self.wrapping_neg() }
            #[inline(always)] fn abs(self) -> Self { self.wrapping_abs() }
            #[inline(always)] fn zero() -> Self { 0 }
            #[inline(always)] fn one() -> Self { 1 }
            #[inline(always)] fn lowest() -> Self { <$t>::MIN }
            #[inline(always)] fn highest() -> Self { <$t>::MAX }
        }
    )*};
}
int_num!(i32, i64);

/// Floats: every op is defined on them.
pub trait Real: Num + Float {
    /// The lanes of the packets TF's Eigen kernels compute in (8 f32 or 4 f64 with AVX): some
    /// functions take another form on the last `len % PACKET` elements of a tensor.
    const PACKET: usize;
    /// TF's sigmoid, tanh, exp and log on an element in a packet, and (`_tail`) on one of a
    /// tensor's last `len % PACKET` elements (see `eigen`).
    fn sigmoid_tf(self) -> Self;
    fn sigmoid_tail(self) -> Self;
    /// `sigmoid_tf` in its three stages (see `eigen::float::sigmoid`).
    fn sigmoid_reduce(self) -> (Self, Self);
    fn sigmoid_exp(m: Self, r: Self) -> Self;
    fn sigmoid_finish(self, e: Self) -> Self;
    /// `exp_tf` in its three stages (see `eigen::float::exp`).
    fn exp_reduce(self) -> (Self, Self);
    fn exp_scaled(m: Self, r: Self) -> Self;
    fn exp_finish(self, e: Self) -> Self;
    fn tanh_tf(self) -> Self;
    fn tanh_tail(self) -> Self;
    fn exp_tf(self) -> Self;
    fn exp_tail(self) -> Self;
    fn log_tf(self) -> Self;
    fn log_tail(self) -> Self;
    /// TF's sin and cos on an element in a packet and (`_tail`) in the tail, as the others.
    fn sin_tf(self) -> Self;
    fn sin_tail(self) -> Self;
    fn cos_tf(self) -> Self;
    fn cos_tail(self) -> Self;
    /// `sin_tf` (`sine`) or `cos_tf` in two parts (see `eigen::float::sincos_near`): the form
    /// without a branch, right wherever `sincos_far` is false.
    fn sincos_near(self, sine: bool) -> Self;
    fn sincos_far(self, sine: bool) -> bool;
    /// The array inside a value of this type.
    fn array(v: &Value) -> Option<&ArrayD<Self>>;
    /// The array inside a value of this type, to write.
    fn array_mut(v: &mut Value) -> Option<&mut ArrayD<Self>>;
    /// Runs `f` with `len` scratch elements: this thread's, kept between calls, so kernels
    /// that need room for intermediates allocate nothing once warm. A nested call gets a
    /// second buffer, also kept (`with_room`).
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

macro_rules! real {
    ($t:ty, $variant:ident, $lanes:expr, $forms:ident) => {
        impl Real for $t {
            const PACKET: usize = $lanes;
            #[inline(always)]
            fn sigmoid_tf(self) -> $t {
                eigen::$forms::sigmoid(self)
            }
            #[inline(always)]
            fn sigmoid_tail(self) -> $t {
                eigen::$forms::sigmoid_tail(self)
            }
            #[inline(always)]
            fn sigmoid_reduce(self) -> ($t, $t) {
                eigen::$forms::sigmoid_reduce(self)
            }
            #[inline(always)]
            fn sigmoid_exp(m: $t, r: $t) -> $t {
                eigen::$forms::sigmoid_exp(m, r)
            }
            #[inline(always)]
            fn sigmoid_finish(self, e: $t) -> $t {
                eigen::$forms::sigmoid_finish(self, e)
            }
            #[inline(always)]
            fn exp_reduce(self) -> ($t, $t) {
                eigen::$forms::exp_reduce(self)
            }
            #[inline(always)]
            fn exp_scaled(m: $t, r: $t) -> $t {
                eigen::$forms::exp_scaled(m, r)
            }
            #[inline(always)]
            fn exp_finish(self, e: $t) -> $t {
                eigen::$forms::exp_finish(self, e)
            }
            #[inline(always)]
            fn tanh_tf(self) -> $t {
                eigen::$forms::tanh(self)
            }
            #[inline(always)]
            fn tanh_tail(self) -> $t {
                eigen::$forms::tanh_tail(self)
            }
            #[inline(always)]
            fn exp_tf(self) -> $t {
                eigen::$forms::exp(self)
            }
            #[inline(always)]
            fn exp_tail(self) -> $t {
                eigen::$forms::exp_tail(self)
            }
            #[inline(always)]
            fn log_tf(self) -> $t {
                eigen::$forms::log(self)
            }
            #[inline(always)]
            fn log_tail(self) -> $t {
                eigen::$forms::log_tail(self)
            }
            #[inline(always)]
            fn sin_tf(self) -> $t {
                eigen::$forms::sin(self)
            }
            #[inline(always)]
            fn sin_tail(self) -> $t {
                eigen::$forms::sin_tail(self)
            }
            #[inline(always)]
            fn cos_tf(self) -> $t {
                eigen::$forms::cos(self)
            }
            #[inline(always)]
            fn cos_tail(self) -> $t {
                eigen::$forms::cos_tail(self)
            }
            #[inline(always)]
            fn sincos_near(self, sine: bool) -> $t {
                eigen::$forms::sincos_near(self, sine)
            }
            #[inline(always)]
            fn sincos_far(self, sine: bool) -> bool {
                eigen::$forms::sincos_far(self, sine)
            }
            fn array(v: &Value) -> Option<&ArrayD<$t>> {
                match v {
                    Value::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn array_mut(v: &mut Value) -> Option<&mut ArrayD<$t>> {
                match v {
                    Value::$variant(a) => Some(a),
                    _ => None,
                }
            }
            fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [$t]) -> R) -> R {
                thread_local! {
                    static SCRATCH: super::Rooms<$t> = const { RefCell::new(Vec::new()) };
                }
                super::with_room(&SCRATCH, len, f)
            }
        }
    };
}

real!(f32, F32, 8, float);
real!(f64, F64, 4, double);

/// A unary op on a float.
#[inline(always)]
pub fn unary<T: Real>(op: UnaryOp, x: T) -> T {
    let one = <T as Num>::one();
    let zero = <T as Num>::zero();
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Abs => Float::abs(x),
        UnaryOp::Sign => {
            if x > zero {
                one
            } else if x < zero {
                -one
            } else {
                x // keeps 0, -0 and NaN as they are, as TF does
            }
        }
        UnaryOp::Square => x * x,
        UnaryOp::Exp => x.exp_tf(),
        UnaryOp::Log => x.log_tf(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => one / x.sqrt(),
        UnaryOp::Sin => x.sin_tf(),
        UnaryOp::Cos => x.cos_tf(),
        UnaryOp::Tanh => x.tanh_tf(),
        UnaryOp::Sigmoid => x.sigmoid_tf(),
        UnaryOp::Relu => {
            if x > zero {
                x
            } else {
                zero
            }
        }
        UnaryOp::LeakyRelu { alpha } => {
            if x > zero {
                x
            } else {
                x * T::from_f64(alpha)
            }
        }
        UnaryOp::Elu { alpha } => elu(x, alpha, T::exp_tf),
        UnaryOp::Softplus => softplus(x),
        UnaryOp::Log1p => log1p(x),
    }
}

/// A unary op on one of the last `len % T::PACKET` elements of a tensor: as `unary`, but in
/// the scalar form TF's Eigen kernels take there where that differs (the ops
/// `UnaryOp::takes_tail_form` names, which fusion keeps at their own shape).
#[inline(always)]
pub fn unary_tail<T: Real>(op: UnaryOp, x: T) -> T {
    match op {
        UnaryOp::Sigmoid => x.sigmoid_tail(),
        UnaryOp::Tanh => x.tanh_tail(),
        UnaryOp::Exp => x.exp_tail(),
        UnaryOp::Log => x.log_tail(),
        UnaryOp::Sin => x.sin_tail(),
        UnaryOp::Cos => x.cos_tail(),
        UnaryOp::Softplus => softplus_tail(x),
        UnaryOp::Log1p => Float::ln_1p(x),
        UnaryOp::Elu { alpha } => elu(x, alpha, T::exp_tail),
        op => unary(op, x),
    }
}

/// TF's softplus (`SoftplusOp`), `log(1 + e^x)` on an element in a packet: exp in its packet
/// form, log1p as Eigen's `generic_plog1p` over the packet log (see `softplus_with`).
#[inline(always)]
pub fn softplus<T: Real>(x: T) -> T {
    softplus_with(x, T::exp_tf, log1p)
}

/// TF's log1p on an element in a packet: Eigen's `generic_plog1p` over the packet log. x
/// where 1 + x rounds to 1 or its log is infinite, else x * (log(1 + x) / ((1 + x) - 1)),
/// which corrects the rounding of 1 + x; a subnormal x (TF's threads flush them) gives a zero
/// of its sign. (A tensor's last `len % T::PACKET` elements take the scalar `log1p`, which
/// returns a subnormal x as it is.)
#[inline(always)]
pub fn log1p<T: Real>(x: T) -> T {
    if Float::abs(x) < T::min_positive_value() {
        return x * <T as Num>::zero();
    }
    let one = <T as Num>::one();
    let xp1 = x + one;
    let log1 = xp1.log_tf();
    if xp1 == one || xp1 == log1 {
        x
    } else {
        x * (log1 / (xp1 - one))
    }
}

/// TF's softplus on one of a tensor's last `len % T::PACKET` elements: the scalar exp and
/// log1p.
#[inline(always)]
pub fn softplus_tail<T: Real>(x: T) -> T {
    softplus_with(x, T::exp_tail, Float::ln_1p)
}

/// Softplus as TF's kernel selects it: x above `-t`, `e^x` below `t` and `log1p(e^x)`
/// between, with `t = log(epsilon) + 2` (within epsilon of the true value in each range).
#[inline(always)]
fn softplus_with<T: Real>(x: T, exp: impl Fn(T) -> T, log1p: impl Fn(T) -> T) -> T {
    let t = softplus_threshold::<T>();
    let e = exp(x);
    if x > -t {
        x
    } else if x < t {
        e
    } else {
        log1p(e)
    }
}

/// TF's `Elu`, with Keras's `alpha` on the negative side: `alpha * (exp(x) - 1)` below 0 (not
/// expm1: TF gives 0 where exp(x) rounds to 1), x elsewhere: -0, NaN and a negative subnormal
/// (TF's threads compare subnormals as zero) included.
#[inline(always)]
fn elu<T: Real>(x: T, alpha: f64, exp: impl Fn(T) -> T) -> T {
    if x <= -T::min_positive_value() {
        T::from_f64(alpha) * (exp(x) - <T as Num>::one())
    } else {
        x
    }
}

/// `log(epsilon) + 2` in `T`: below it `e^x` is softplus to within epsilon, above its
/// negation `x` is.
#[inline(always)]
fn softplus_threshold<T: Real>() -> T {
    Float::ln(T::epsilon()) + T::from_f64(2.0)
}

/// A unary op on an integer (only the ops for which `accepts_integers` holds get here).
#[inline(always)]
pub fn unary_int<T: Num>(op: UnaryOp, x: T) -> T {
    match op {
        UnaryOp::Neg => x.neg(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Sign => {
            if x > T::zero() {
                T::one()
            } else if x < T::zero() {
                T::one().neg()
            } else {
                T::zero()
            }
        }
        _ => x.mul(x), // Square
    }
}

/// A binary op on numbers. `Pow` is only reached for floats (see `pow`).
#[inline(always)]
pub fn binary<T: Num>(op: BinaryOp, a: T, b: T) -> T {
    match op {
        BinaryOp::Add => a.add(b),
        BinaryOp::Sub => a.sub(b),
        BinaryOp::Mul => a.mul(b),
        BinaryOp::Div => a.div(b),
        BinaryOp::Maximum => {
            // NaN wins, as in TF and NumPy.
            if a > b || a.not_a_number() {
                a
            } else {
                b
            }
        }
        BinaryOp::Minimum => {
            if a < b || a.not_a_number() {
                a
            } else {
                b
            }
        }
        BinaryOp::Pow => T::from_f64(a.to_f64().powf(b.to_f64())),
    }
}

/// `a^b` on floats, in the float's own precision.
#[inline(always)]
pub fn pow<T: Real>(a: T, b: T) -> T {
    a.powf(b)
}

/// A comparison.
#[inline(always)]
pub fn compare<T: PartialOrd>(op: CompareOp, a: T, b: T) -> bool {
    match op {
        CompareOp::Equal => a == b,
        CompareOp::NotEqual => a != b,
        CompareOp::Less => a < b,
        CompareOp::LessEqual => a <= b,
        CompareOp::Greater => a > b,
        CompareOp::GreaterEqual => a >= b,
    }
}
