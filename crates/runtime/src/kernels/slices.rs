//! Elementwise ops over slices in runs of 8 lanes: the loops of the fused kernel's
//! instructions and of plain steps written in place. An operand is a slice as long as the
//! output or one element used everywhere (`Splat`).

use super::scalar::{self, Real};
use rill_graph::{BinaryOp, UnaryOp};

/// An operand of an elementwise loop over `n` output elements.
pub trait Source<T: Copy>: Copy {
    /// The runs of 8 lanes of the first `n - n % 8` elements. Panics unless the operand
    /// covers `n` elements.
    fn runs(self, n: usize) -> impl Iterator<Item = [T; 8]>;
    /// The last `n % 8` elements.
    fn rest(self, n: usize) -> impl Iterator<Item = T>;
    /// Elements `i..i + 8`. Panics unless the operand has them.
    fn run_at(self, i: usize) -> [T; 8];
    /// Element `i`. Panics unless the operand has it.
    fn at(self, i: usize) -> T;
}

impl<T: Copy> Source<T> for &[T] {
    #[inline(always)]
    fn runs(self, n: usize) -> impl Iterator<Item = [T; 8]> {
        self[..n]
            .chunks_exact(8)
            .map(|c| c.try_into().expect("8 lanes"))
    }
    #[inline(always)]
    fn rest(self, n: usize) -> impl Iterator<Item = T> {
        self[n - n % 8..n].iter().copied()
    }
    #[inline(always)]
    fn run_at(self, i: usize) -> [T; 8] {
        self[i..i + 8].try_into().expect("8 lanes")
    }
    #[inline(always)]
    fn at(self, i: usize) -> T {
        self[i]
    }
}

/// One value for every element.
#[derive(Clone, Copy)]
pub struct Splat<T>(pub T);

impl<T: Copy> Source<T> for Splat<T> {
    #[inline(always)]
    fn runs(self, _: usize) -> impl Iterator<Item = [T; 8]> {
        std::iter::repeat([self.0; 8])
    }
    #[inline(always)]
    fn rest(self, _: usize) -> impl Iterator<Item = T> {
        std::iter::repeat(self.0)
    }
    #[inline(always)]
    fn run_at(self, _: usize) -> [T; 8] {
        [self.0; 8]
    }
    #[inline(always)]
    fn at(self, _: usize) -> T {
        self.0
    }
}

/// `d = op(a)`; elements from `tail` on are the last `len % T::PACKET` of their tensor (see
/// `scalar::unary_tail`).
#[inline(always)]
pub fn unary<T: Real>(op: UnaryOp, a: &[T], d: &mut [T], tail: usize) {
    use UnaryOp as U;
    macro_rules! each {
        ($op:expr, $runs:expr) => {
            lanes1::<T, $runs>(
                a,
                d,
                |x| scalar::unary($op, x),
                |x| scalar::unary_tail($op, x),
                tail,
            )
        };
    }
    // The op is fixed inside each loop so the scalar definition's match folds away. The
    // polynomial forms (exp, log, tanh, sigmoid) go as one plain loop (see `lanes1`).
    match op {
        U::Neg => each!(U::Neg, true),
        U::Abs => each!(U::Abs, true),
        U::Sign => each!(U::Sign, true),
        U::Square => each!(U::Square, true),
        U::Exp => each!(U::Exp, false),
        U::Log => each!(U::Log, false),
        U::Sqrt => each!(U::Sqrt, true),
        U::Rsqrt => each!(U::Rsqrt, true),
        U::Sin => each!(U::Sin, true),
        U::Cos => each!(U::Cos, true),
        U::Tanh => each!(U::Tanh, false),
        U::Sigmoid => each!(U::Sigmoid, false),
        U::Relu => each!(U::Relu, true),
        U::LeakyRelu { alpha } => each!(U::LeakyRelu { alpha }, true),
        U::Elu { alpha } => each!(U::Elu { alpha }, true),
        U::Softplus => each!(U::Softplus, true),
    }
}

/// `unary` built for AVX2 where the CPU has it, for the plain kernels (whose callers are built
/// for the baseline; the fused kernel has its own AVX2 build). The arithmetic is the same:
/// Rust never contracts a multiply and an add into an FMA.
pub fn unary_native<T: Real>(op: UnaryOp, a: &[T], d: &mut [T], tail: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked by `has_avx2`).
        return unsafe { unary_avx2(op, a, d, tail) };
    }
    unary(op, a, d, tail)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn unary_avx2<T: Real>(op: UnaryOp, a: &[T], d: &mut [T], tail: usize) {
    unary(op, a, d, tail)
}

/// `d = op(a, b)` over 8-lane runs (see `lanes2`).
#[inline(always)]
pub fn binary<T: Real>(op: BinaryOp, a: impl Source<T>, b: impl Source<T>, d: &mut [T]) {
    binary_with::<T, Zipped>(op, a, b, d)
}

/// `binary` with index loops (see `indexed2`): for a single plain step, where the loop's setup
/// is most of the cost.
#[inline(always)]
pub fn binary_indexed<T: Real>(op: BinaryOp, a: impl Source<T>, b: impl Source<T>, d: &mut [T]) {
    binary_with::<T, Indexed>(op, a, b, d)
}

/// How `binary` and `unary` walk their runs.
trait Walk {
    fn lanes2<T: Copy>(a: impl Source<T>, b: impl Source<T>, d: &mut [T], f: impl Fn(T, T) -> T);
}

/// Zips of runs (`lanes2`): the fused kernel's instructions run best this way.
struct Zipped;
/// Index loops (`indexed2`): no zip to set up.
struct Indexed;

impl Walk for Zipped {
    #[inline(always)]
    fn lanes2<T: Copy>(a: impl Source<T>, b: impl Source<T>, d: &mut [T], f: impl Fn(T, T) -> T) {
        lanes2(a, b, d, f)
    }
}

impl Walk for Indexed {
    #[inline(always)]
    fn lanes2<T: Copy>(a: impl Source<T>, b: impl Source<T>, d: &mut [T], f: impl Fn(T, T) -> T) {
        indexed2(a, b, d, f)
    }
}

#[inline(always)]
fn binary_with<T: Real, W: Walk>(op: BinaryOp, a: impl Source<T>, b: impl Source<T>, d: &mut [T]) {
    use BinaryOp as B;
    macro_rules! each {
        ($op:expr) => {
            W::lanes2(a, b, d, |x, y| scalar::binary($op, x, y))
        };
    }
    match op {
        B::Add => each!(B::Add),
        B::Sub => each!(B::Sub),
        B::Mul => each!(B::Mul),
        B::Div => each!(B::Div),
        B::Maximum => each!(B::Maximum),
        B::Minimum => each!(B::Minimum),
        B::Pow => W::lanes2(a, b, d, scalar::pow),
    }
}

/// `d[i] = f(a[i], b[i])` in runs of 8 lanes, then the rest one by one. The runs make every
/// instruction of a fused program load and store whole vectors, so a register written by one
/// instruction is read back by the next through store forwarding. Left to itself, the compiler
/// vectorises loops shorter than its unrolled width differently for each op (scalar for one,
/// half vectors for another), and a half-vector load of scalar stores stalls.
#[inline(always)]
pub fn lanes2<T: Copy>(a: impl Source<T>, b: impl Source<T>, d: &mut [T], f: impl Fn(T, T) -> T) {
    let n = d.len();
    let (runs, rest) = d.split_at_mut(n - n % 8);
    for ((d, a), b) in runs.chunks_exact_mut(8).zip(a.runs(n)).zip(b.runs(n)) {
        let r: [T; 8] = std::array::from_fn(|k| f(a[k], b[k]));
        d.copy_from_slice(&r);
    }
    for ((d, x), y) in rest.iter_mut().zip(a.rest(n)).zip(b.rest(n)) {
        *d = f(x, y);
    }
}

/// `lanes2` with index loops. A zip's setup (lengths, a call that is not always inlined) is
/// cheap next to a long loop, but on an 8-element tensor it costs more than the arithmetic;
/// in a fused kernel, though, the zipped form runs faster (measured: twice as fast on W4's
/// chain), so each path keeps its own.
#[inline(always)]
pub fn indexed2<T: Copy>(a: impl Source<T>, b: impl Source<T>, d: &mut [T], f: impl Fn(T, T) -> T) {
    let n = d.len();
    let whole = n - n % 8;
    let mut i = 0;
    while i < whole {
        let (x, y) = (a.run_at(i), b.run_at(i));
        let r: [T; 8] = std::array::from_fn(|k| f(x[k], y[k]));
        d[i..i + 8].copy_from_slice(&r);
        i += 8;
    }
    for (k, d) in d.iter_mut().enumerate().skip(whole) {
        *d = f(a.at(k), b.at(k));
    }
}

/// `d[i] = f(a[i])`, and `g` instead of `f` from element `tail` on. `RUNS`: in runs of 8
/// lanes, as `lanes2`; otherwise as one plain loop, which the compiler vectorises straight.
/// The runs suit a short `f`; a long polynomial `f` through the runs is vectorised across
/// runs instead, with shuffles to transpose them (sigmoid took 1.7 ns an element that way
/// and 1.3 as a plain loop, measured in a fused add + sigmoid).
#[inline(always)]
pub fn lanes1<T: Copy, const RUNS: bool>(
    a: &[T],
    d: &mut [T],
    f: impl Fn(T) -> T,
    g: impl Fn(T) -> T,
    tail: usize,
) {
    let n = d.len();
    let a = &a[..n];
    let whole = n - n % 8;
    // A tail inside the runs (not the case for a whole tensor, as `T::PACKET` divides 8): the
    // last run element by element.
    let runs = if tail < whole { tail - tail % 8 } else { whole };
    if RUNS {
        for (d, a) in d[..runs].chunks_exact_mut(8).zip(a.chunks_exact(8)) {
            let a: &[T; 8] = a.try_into().expect("8 lanes");
            let r: [T; 8] = std::array::from_fn(|k| f(a[k]));
            d.copy_from_slice(&r);
        }
    } else {
        for (d, &x) in d[..runs].iter_mut().zip(&a[..runs]) {
            *d = f(x);
        }
    }
    for (i, (d, &x)) in d.iter_mut().zip(a).enumerate().skip(runs) {
        *d = if i < tail { f(x) } else { g(x) };
    }
}
