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
        ($op:expr, $walk:ident) => {
            lanes1(
                a,
                d,
                Walk1::$walk,
                |x| scalar::unary($op, x),
                |x| scalar::unary_tail($op, x),
                tail,
            )
        };
    }
    // The op is fixed inside each loop so the scalar definition's match folds away. The
    // polynomial forms go as one plain loop, sigmoid and exp in stages, sin and cos in two
    // passes (see `plain`, `staged`, `trig`).
    match op {
        U::Neg => each!(U::Neg, Runs),
        U::Abs => each!(U::Abs, Runs),
        U::Sign => each!(U::Sign, Runs),
        U::Square => each!(U::Square, Runs),
        U::Exp => each!(U::Exp, ExpStages),
        U::Log => each!(U::Log, Plain),
        U::Sqrt => each!(U::Sqrt, Runs),
        U::Rsqrt => each!(U::Rsqrt, Runs),
        U::Sin => trig_out_of_line::<T, true>(a, d, tail),
        U::Cos => trig_out_of_line::<T, false>(a, d, tail),
        U::Tanh => each!(U::Tanh, Plain),
        U::Sigmoid => each!(U::Sigmoid, SigmoidStages),
        U::Relu => each!(U::Relu, Runs),
        U::LeakyRelu { alpha } => each!(U::LeakyRelu { alpha }, Runs),
        U::Elu { alpha } => each!(U::Elu { alpha }, Runs),
        U::Softplus => each!(U::Softplus, Runs),
        U::Log1p => each!(U::Log1p, Plain),
    }
}

/// Sin or cos over a slice (see `trig`), kept out of line: inlined into the fused kernel, their
/// reduction for huge arguments made its loops for every other op slower (W4's chain of
/// multiplies and adds took twice as long). Built for AVX2 where the CPU has it.
#[inline(never)]
fn trig_out_of_line<T: Real, const SINE: bool>(a: &[T], d: &mut [T], tail: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked by `has_avx2`).
        return unsafe { trig_avx2::<T, SINE>(a, d, tail) };
    }
    trig_lanes::<T, SINE>(a, d, tail)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn trig_avx2<T: Real, const SINE: bool>(a: &[T], d: &mut [T], tail: usize) {
    trig_lanes::<T, SINE>(a, d, tail)
}

#[inline(always)]
fn trig_lanes<T: Real, const SINE: bool>(a: &[T], d: &mut [T], tail: usize) {
    let (op, walk) = if SINE {
        (UnaryOp::Sin, Walk1::Sin)
    } else {
        (UnaryOp::Cos, Walk1::Cos)
    };
    let (f, g) = (|x| scalar::unary(op, x), |x| scalar::unary_tail(op, x));
    lanes1(a, d, walk, f, g, tail)
}

/// `unary` built for AVX-512 or AVX2 where the CPU has it, for the plain kernels (whose callers are built
/// for the baseline; the fused kernel has its own AVX2 build). The arithmetic is the same:
/// Rust never contracts a multiply and an add into an FMA.
pub fn unary_native<T: Real>(op: UnaryOp, a: &[T], d: &mut [T], tail: usize) {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx512() {
        // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked by `has_avx512`).
        return unsafe { unary_avx512(op, a, d, tail) };
    }
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

/// `unary` built for AVX-512: its plain loops run sixteen lanes wide (and `staged` forms go as
/// one loop, see there). Lane for lane the same arithmetic.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn unary_avx512<T: Real>(op: UnaryOp, a: &[T], d: &mut [T], tail: usize) {
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

/// How `lanes1` walks the elements before a tensor's tail. (Functions rather than closures:
/// a closure is compiled for the baseline instruction set wherever it is not inlined.)
#[derive(Clone, Copy)]
pub enum Walk1 {
    /// In runs of 8 lanes (`in_runs`).
    Runs,
    /// As one plain loop (`plain`).
    Plain,
    /// Sigmoid's packet form in three passes (`staged`); `f` must be that form.
    SigmoidStages,
    /// Exp's packet form in three passes (`staged`); `f` must be that form.
    ExpStages,
    /// Sin's packet form in two passes (`trig`); `f` must be that form.
    Sin,
    /// Cos's packet form in two passes (`trig`); `f` must be that form.
    Cos,
}

/// `d[i] = f(a[i])`, and `g` instead of `f` from element `tail` on: `walk` writes the
/// elements before the tail's run (a whole number of 8-lane runs), the rest go one by one.
#[inline(always)]
pub fn lanes1<T: Real>(
    a: &[T],
    d: &mut [T],
    walk: Walk1,
    f: impl Fn(T) -> T,
    g: impl Fn(T) -> T,
    tail: usize,
) {
    let n = d.len();
    let a = &a[..n];
    let whole = n - n % 8;
    // A tail inside the runs (not the case for a whole tensor, as `T::PACKET` divides 8): the
    // last run element by element.
    let ahead = if tail < whole { tail - tail % 8 } else { whole };
    let (head, rest) = d.split_at_mut(ahead);
    match walk {
        Walk1::Runs => in_runs(&a[..ahead], head, &f),
        Walk1::Plain => plain(&a[..ahead], head, &f),
        Walk1::SigmoidStages => staged::<T, Sigmoid>(&a[..ahead], head),
        Walk1::ExpStages => staged::<T, Exp>(&a[..ahead], head),
        Walk1::Sin => trig::<T, true>(&a[..ahead], head),
        Walk1::Cos => trig::<T, false>(&a[..ahead], head),
    }
    for (i, (d, &x)) in rest.iter_mut().zip(&a[ahead..]).enumerate() {
        *d = if ahead + i < tail { f(x) } else { g(x) };
    }
}

/// `d[i] = f(a[i])` in runs of 8 lanes, as `lanes2`: for a short `f`.
#[inline(always)]
fn in_runs<T: Copy>(a: &[T], d: &mut [T], f: &impl Fn(T) -> T) {
    for (d, a) in d.chunks_exact_mut(8).zip(a.chunks_exact(8)) {
        let a: &[T; 8] = a.try_into().expect("8 lanes");
        let r: [T; 8] = std::array::from_fn(|k| f(a[k]));
        d.copy_from_slice(&r);
    }
}

/// `d[i] = f(a[i])` as one plain loop, which the compiler vectorises straight: for a long
/// polynomial `f`, which through runs is vectorised across runs instead, with shuffles to
/// transpose them (sigmoid took 1.7 ns an element that way and 1.3 as a plain loop, measured
/// in a fused add + sigmoid).
#[inline(always)]
fn plain<T: Copy>(a: &[T], d: &mut [T], f: &impl Fn(T) -> T) {
    for (d, &x) in d.iter_mut().zip(a) {
        *d = f(x);
    }
}

/// A form computed in three stages: a range reduction `x -> (m, r)`, the polynomial and
/// scaling `(m, r) -> e`, and a finish `(x, e) -> result`.
trait Stages<T> {
    fn reduce(x: T) -> (T, T);
    fn middle(m: T, r: T) -> T;
    fn finish(x: T, e: T) -> T;
}

/// Sigmoid's packet form (`Real::sigmoid_reduce`, `sigmoid_exp`, `sigmoid_finish`).
struct Sigmoid;
/// Exp's packet form (`Real::exp_reduce`, `exp_scaled`, `exp_finish`).
struct Exp;

impl<T: Real> Stages<T> for Sigmoid {
    #[inline(always)]
    fn reduce(x: T) -> (T, T) {
        x.sigmoid_reduce()
    }
    #[inline(always)]
    fn middle(m: T, r: T) -> T {
        T::sigmoid_exp(m, r)
    }
    #[inline(always)]
    fn finish(x: T, e: T) -> T {
        x.sigmoid_finish(e)
    }
}

impl<T: Real> Stages<T> for Exp {
    #[inline(always)]
    fn reduce(x: T) -> (T, T) {
        x.exp_reduce()
    }
    #[inline(always)]
    fn middle(m: T, r: T) -> T {
        T::exp_scaled(m, r)
    }
    #[inline(always)]
    fn finish(x: T, e: T) -> T {
        x.exp_finish(e)
    }
}

/// A staged form as three passes over up to `STAGE` elements at a time, one per stage, or as
/// one plain loop where the loops are built for AVX-512: the same operations on the same
/// values either way, so the same bits. On a Zen 3 (AVX2), in one pass each element's chain of
/// some 25 dependent operations filled the core's scheduler before the next elements could
/// start, and three short chains overlapped (sigmoid: 1.25 against 0.83 ns an element). On a
/// Xeon with AVX-512 the three passes' stores and reloads cost more than they win: W1's whole
/// training step took 3-5% longer staged (interleaved runs in one process, 1 and 2 threads).
#[inline(always)]
fn staged<T: Real, S: Stages<T>>(a: &[T], d: &mut [T]) {
    const STAGE: usize = 256;
    #[cfg(target_arch = "x86_64")]
    if super::has_avx512() {
        for (d, &x) in d.iter_mut().zip(a) {
            let (m, r) = S::reduce(x);
            *d = S::finish(x, S::middle(m, r));
        }
        return;
    }
    let zero = <T as scalar::Num>::zero();
    let (mut ms, mut rs) = ([zero; STAGE], [zero; STAGE]);
    for (d, a) in d.chunks_mut(STAGE).zip(a.chunks(STAGE)) {
        let (ms, rs) = (&mut ms[..a.len()], &mut rs[..a.len()]);
        for ((m, r), &x) in ms.iter_mut().zip(rs.iter_mut()).zip(a) {
            (*m, *r) = S::reduce(x);
        }
        for ((d, &m), &r) in d.iter_mut().zip(&*ms).zip(&*rs) {
            *d = S::middle(m, r);
        }
        for (d, &x) in d.iter_mut().zip(a) {
            *d = S::finish(x, *d);
        }
    }
}

/// Sin's (`SINE`) or cos's packet form as a plain loop over the branch-free form for the usual
/// arguments (`Real::sincos_near`), which vectorises, then a pass that redoes the few elements
/// whose arguments take Eigen's reduction for huge ones: the same function element by element,
/// so the same bits. In one loop the huge reduction's branch and table lookups would keep the
/// whole loop scalar.
#[inline(always)]
fn trig<T: Real, const SINE: bool>(a: &[T], d: &mut [T]) {
    plain(a, d, &|x: T| x.sincos_near(SINE));
    for (d, &x) in d.iter_mut().zip(a) {
        if x.sincos_far(SINE) {
            *d = if SINE { x.sin_tf() } else { x.cos_tf() };
        }
    }
}
