//! The one scalar definition of every elementwise op. Plain kernels and fused kernels both call
//! these, so fusing ops can never change the arithmetic.

use ndarray::ArrayD;
use num_traits::Float;
use rill_graph::{BinaryOp, CompareOp, Element, UnaryOp, Value};
use std::cell::RefCell;

use super::logistic;

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
    /// `e^x`, in a form the compiler can vectorise (no call into libm for f32).
    fn exp_vec(self) -> Self;
    /// The lanes of the packets TF's Eigen kernels compute in (8 f32 or 4 f64 with AVX): some
    /// functions take another form on the last `len % PACKET` elements of a tensor.
    const PACKET: usize;
    /// TF's sigmoid on an element in a packet (see `logistic`).
    fn sigmoid_packet(self) -> Self;
    /// TF's sigmoid on one of a tensor's last `len % PACKET` elements.
    fn sigmoid_tail(self) -> Self;
    /// The array inside a value of this type.
    fn array(v: &Value) -> Option<&ArrayD<Self>>;
    /// The array inside a value of this type, to write.
    fn array_mut(v: &mut Value) -> Option<&mut ArrayD<Self>>;
    /// Runs `f` with `len` scratch elements: this thread's, kept between calls, so kernels
    /// that need room for intermediates allocate nothing once warm. Not reentrant: `f` must
    /// not call it again (a nested call gets fresh storage).
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
}

macro_rules! real {
    ($t:ty, $variant:ident, $exp:expr, $lanes:expr, $packet:path, $tail:path) => {
        impl Real for $t {
            #[inline(always)]
            fn exp_vec(self) -> $t {
                ($exp)(self)
            }
            const PACKET: usize = $lanes;
            #[inline(always)]
            fn sigmoid_packet(self) -> $t {
                $packet(self)
            }
            #[inline(always)]
            fn sigmoid_tail(self) -> $t {
                $tail(self)
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
                    static SCRATCH: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
                }
                SCRATCH.with(|cell| match cell.try_borrow_mut() {
                    Ok(mut v) => {
                        if v.len() < len {
                            v.resize(len, 0.0);
                        }
                        f(&mut v[..len])
                    }
                    Err(_) => f(&mut vec![0.0; len]),
                })
            }
        }
    };
}

real!(
    f32,
    F32,
    exp_f32,
    8,
    logistic::packet_f32,
    logistic::tail_f32
);
real!(
    f64,
    F64,
    f64::exp,
    4,
    logistic::packet_f64,
    logistic::tail_f64
);

/// `e^x` for f32 without branches or calls, so loops over it vectorise: Cephes' `expf`
/// (range reduction by ln 2, degree-6 polynomial, exponent by bit assembly), within 1 ulp of
/// the correctly rounded result (subnormal results within a few ulp). Overflow gives +inf and
/// underflow 0, as `f32::exp`.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round to nearest by adding and removing 1.5 * 2^23 (no roundps needed).
    const ROUND: f32 = 12_582_912.0;
    let c = x.clamp(-104.0, 88.722_84);
    let t = c * LOG2E + ROUND;
    let n = t - ROUND;
    let r = c - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n in two halves, each a normal float, so results near overflow and in the subnormal
    // range come out right.
    // n as an integer, read off t's bits (t lies in [2^23, 2^24), where the ulp is 1): this
    // vectorises, where `n as i32` (saturating) becomes a scalar conversion per lane. NaN gives
    // garbage here, but then y is NaN and so is the result.
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let h = ni >> 1;
    let s1 = f32::from_bits(((h + 127) << 23) as u32);
    let s2 = f32::from_bits(((ni - h + 127) << 23) as u32);
    let out = y * s1 * s2;
    let out = if x > 88.722_84 { f32::INFINITY } else { out };
    if x < -103.972_08 {
        0.0
    } else {
        out
    }
}

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
        UnaryOp::Exp => x.exp_vec(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Rsqrt => one / x.sqrt(),
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Tanh => x.tanh(),
        UnaryOp::Sigmoid => sigmoid(x),
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
        UnaryOp::Elu { alpha } => {
            if x > zero {
                x
            } else {
                T::from_f64(alpha) * x.exp_m1()
            }
        }
        UnaryOp::Softplus => softplus(x),
    }
}

/// The logistic function as TF computes it inside a packet (the last `len % T::PACKET`
/// elements of a tensor take `unary_tail`).
#[inline(always)]
pub fn sigmoid<T: Real>(x: T) -> T {
    x.sigmoid_packet()
}

/// A unary op on one of the last `len % T::PACKET` elements of a tensor: as `unary`, but in
/// the scalar form TF's Eigen kernels take there where that differs (sigmoid).
#[inline(always)]
pub fn unary_tail<T: Real>(op: UnaryOp, x: T) -> T {
    match op {
        UnaryOp::Sigmoid => x.sigmoid_tail(),
        op => unary(op, x),
    }
}

/// `log(1 + e^x)`, computed without overflow: `max(x, 0) + log1p(e^-|x|)`.
#[inline(always)]
pub fn softplus<T: Real>(x: T) -> T {
    let zero = <T as Num>::zero();
    let m = if x > zero { x } else { zero };
    m + (-Float::abs(x)).exp().ln_1p()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place.
    fn ulps(a: f32, b: f32) -> i64 {
        (a.to_bits() as i64 - b.to_bits() as i64).abs()
    }

    #[test]
    fn exp_f32_is_within_one_ulp_of_the_correctly_rounded_value() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x < 88.7 {
            let exact = (x as f64).exp() as f32;
            worst = worst.max(ulps(exp_f32(x), exact));
            x += 0.000_37;
        }
        assert!(worst <= 1, "worst error {worst} ulp");
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        let sub = exp_f32(-95.0);
        let exact = (-95.0f64).exp() as f32;
        assert!(ulps(sub, exact) <= 2, "{sub} vs {exact}");
    }
}
