//! The order of every reduction over a contiguous run of axes, in the plain kernel and in a
//! fused program's reduction tail alike, so the two give the same bits.
//!
//! In the `[outer, mid, inner]` view of the input, each output element `(o, i)` keeps `q`
//! partial accumulators (`partials`). Element `m` of its run goes into partial `m % q`, each
//! partial combines its elements in index order from the initial value, and the partials are
//! then folded in halves (`finish`). One accumulator through a long run waits out
//! the latency of every add: with four or 32 of them, their adds overlap. The shape alone
//! fixes `q`, so the order never depends on the thread count or on how the input is walked.

/// Room on the stack for the partials of one `[mid, inner]` slab (`q * inner` elements).
const INLINE: usize = 128;

/// Rows at most this long keep several partials; longer rows are already many independent
/// accumulators (one per column, combined a vector at a time).
const SHORT_ROWS: usize = 32;

/// How many partials each output keeps for a `[mid, inner]` slab: 32 over a contiguous run
/// (`inner == 1`, four vectors of lanes), 4 over short rows, 1 (index order) over wide rows
/// or runs too short to gain.
pub(crate) fn partials(mid: usize, inner: usize) -> usize {
    match inner {
        1 if mid >= 64 => 32,
        2..=SHORT_ROWS if mid >= 16 => 4,
        _ => 1,
    }
}

/// One slab's accumulation: `q` partials of `inner` accumulators each, `[q][inner]`.
pub(crate) struct Slab<T: Copy> {
    q: usize,
    mid: usize,
    inner: usize,
    init: T,
    acc: smallvec::SmallVec<[T; INLINE]>,
}

impl<T: Copy> Slab<T> {
    /// A slab of `[mid, inner]` elements combined from `init`. Allocates nothing when `q` is
    /// above 1 (the partials fit `INLINE`); with `q == 1`, `finish` combines straight into
    /// the output (see `add` and `finish`).
    pub(crate) fn new(mid: usize, inner: usize, init: T) -> Slab<T> {
        let q = partials(mid, inner);
        let len = if q == 1 { 0 } else { q * inner };
        Slab {
            q,
            mid,
            inner,
            init,
            acc: smallvec::SmallVec::from_elem(init, len),
        }
    }

    /// Combines whole slabs, one after another in `xs`, into their `inner` outputs each
    /// (`outs`, started at the initial value).
    #[inline(always)]
    pub(crate) fn whole(&mut self, xs: &[T], outs: &mut [T], combine: &impl Fn(T, T) -> T) {
        let size = self.mid * self.inner;
        if self.q == 1 && self.inner == 1 {
            // Runs in index order, one output each (a mean over a last axis of 1, a row sum):
            // no per-slab setup.
            for (xs, o) in xs.chunks_exact(size).zip(outs) {
                *o = xs.iter().fold(*o, |s, &v| combine(s, v));
            }
            return;
        }
        for (xs, out) in xs.chunks_exact(size).zip(outs.chunks_exact_mut(self.inner)) {
            self.reset();
            self.add(xs, (0, 0, self.inner), out, combine);
            self.finish(out, combine);
        }
    }

    /// Starts the slab over (for the next outer index).
    #[inline]
    pub(crate) fn reset(&mut self) {
        let init = self.init;
        self.acc.iter_mut().for_each(|a| *a = init);
    }

    /// Combines `rows` (`rows.len() / width` rows of `width` elements: the elements
    /// `(m0 + r, c0 + c)` of the slab) into the partials, or with `q == 1` into `out` (the
    /// slab's `inner` outputs, started at the initial value).
    #[inline(always)]
    pub(crate) fn add(
        &mut self,
        rows: &[T],
        (m0, c0, width): (usize, usize, usize),
        out: &mut [T],
        combine: &impl Fn(T, T) -> T,
    ) {
        let (q, inner) = (self.q, self.inner);
        if q == 1 {
            for row in rows.chunks_exact(width) {
                for (s, &v) in out[c0..c0 + width].iter_mut().zip(row) {
                    *s = combine(*s, v);
                }
            }
            return;
        }
        let acc = &mut self.acc[..];
        if q == 32 && width == 1 {
            run_into_lanes(rows, m0, acc, combine);
        } else if width == inner && m0 % q == 0 {
            short_rows(rows, inner, acc, combine);
        } else {
            for (r, row) in rows.chunks_exact(width).enumerate() {
                let p = &mut acc[(m0 + r) % q * inner + c0..][..width];
                for (s, &v) in p.iter_mut().zip(row) {
                    *s = combine(*s, v);
                }
            }
        }
    }

    /// Writes the slab's `inner` results into `out`: each its partials folded in halves
    /// (`p[k] = p[k] + p[k + q/2]`, and so on down to one); with `q == 1`, `out` already holds
    /// them. Partial `k` of every output is the run `acc[k * inner..][..inner]`, so each fold
    /// combines the first half of the partials' runs with the second, lane for lane. The
    /// partials are used up: `reset` starts the next slab.
    #[inline]
    pub(crate) fn finish(&mut self, out: &mut [T], combine: &impl Fn(T, T) -> T) {
        let (mut w, inner) = (self.q, self.inner);
        if w == 1 {
            return;
        }
        while w > 1 {
            w /= 2;
            let (low, high) = self.acc.split_at_mut(w * inner);
            for (a, &b) in low.iter_mut().zip(&high[..w * inner]) {
                *a = combine(*a, b);
            }
        }
        out[..inner].copy_from_slice(&self.acc[..inner]);
    }
}

/// A contiguous run from element `m0` into 32 partials (`acc[m % 32]`): whole groups of 32
/// elements as four vectors held in registers.
#[inline(always)]
fn run_into_lanes<T: Copy>(xs: &[T], m0: usize, acc: &mut [T], combine: &impl Fn(T, T) -> T) {
    let lead = ((32 - m0 % 32) % 32).min(xs.len());
    for (k, &v) in xs[..lead].iter().enumerate() {
        let p = &mut acc[(m0 + k) % 32];
        *p = combine(*p, v);
    }
    let xs = &xs[lead..];
    let whole = xs.len() - xs.len() % 32;
    let mut lanes: [T; 32] = acc[..32].try_into().expect("32 partials");
    for group in xs[..whole].chunks_exact(32) {
        let g: &[T; 32] = group.try_into().expect("32 elements");
        lanes = std::array::from_fn(|k| combine(lanes[k], g[k]));
    }
    for (k, &v) in xs[whole..].iter().enumerate() {
        lanes[k] = combine(lanes[k], v);
    }
    acc[..32].copy_from_slice(&lanes);
}

/// Lanes `c..c + L` of every `span`-long group of `xs` into `acc[c..c + L]`, held in registers
/// through all the groups.
#[inline(always)]
fn lanes_through<T: Copy, const L: usize>(
    xs: &[T],
    span: usize,
    c: usize,
    acc: &mut [T],
    combine: &impl Fn(T, T) -> T,
) {
    let mut lanes: [T; L] = acc[c..c + L].try_into().expect("L lanes");
    for group in xs.chunks_exact(span) {
        let g: &[T; L] = group[c..c + L].try_into().expect("L lanes");
        lanes = std::array::from_fn(|k| combine(lanes[k], g[k]));
    }
    acc[c..c + L].copy_from_slice(&lanes);
}

/// Whole rows of at most `SHORT_ROWS` elements, from a row `m0` with `m0 % 4 == 0`, into 4
/// partials (`acc[(m % 4) * inner..]`). Partial `p`'s column `c` is `acc[p * inner + c]`, and
/// row `4g + p`'s is element `p * inner + c` of group `g` (four rows, `4 * inner` elements in
/// order): so each group goes into the partials as one flat run, lane for lane, in vectors
/// whatever `inner` is, 32 lanes at a time held in registers through all the groups.
#[inline(always)]
fn short_rows<T: Copy>(xs: &[T], inner: usize, acc: &mut [T], combine: &impl Fn(T, T) -> T) {
    let span = 4 * inner;
    let groups = xs.len() / span;
    let (grouped, rest) = xs.split_at(groups * span);
    // Runs of 32 lanes, then of 8, then the last (at most 4) one by one.
    let (wide, narrow) = (span - span % 32, span - span % 8);
    for c in (0..wide).step_by(32) {
        lanes_through::<T, 32>(grouped, span, c, acc, combine);
    }
    for c in (wide..narrow).step_by(8) {
        lanes_through::<T, 8>(grouped, span, c, acc, combine);
    }
    if narrow < span {
        let lanes = &mut acc[narrow..span];
        for group in grouped.chunks_exact(span) {
            for (s, &v) in lanes.iter_mut().zip(&group[narrow..]) {
                *s = combine(*s, v);
            }
        }
    }
    // The rows past the last group of four.
    for (r, row) in rest.chunks_exact(inner).enumerate() {
        for (s, &v) in acc[r * inner..][..inner].iter_mut().zip(row) {
            *s = combine(*s, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order spelled out element by element: partial `m % q` in index order, then the
    /// partials folded in halves.
    fn reference(xs: &[f32], mid: usize, inner: usize) -> Vec<f32> {
        let q = partials(mid, inner);
        let tree = |p: &[f32]| -> f32 {
            let mut p = p.to_vec();
            while p.len() > 1 {
                let h = p.len() / 2;
                p = (0..h).map(|k| p[k] + p[k + h]).collect();
            }
            p[0]
        };
        (0..inner)
            .map(|i| {
                let mut p = vec![0f32; q];
                for m in 0..mid {
                    p[m % q] += xs[m * inner + i];
                }
                tree(&p)
            })
            .collect()
    }

    type Walk<'a> = dyn Fn(&mut Slab<f32>, &mut [f32]) + 'a;

    /// Whole slabs, rows split at every kind of boundary and single rows in pieces all give
    /// the reference's bits.
    #[test]
    fn every_walk_gives_the_order_s_bits() {
        let add = |a: f32, b: f32| a + b;
        for (mid, inner) in [
            (500, 1),
            (70, 1),
            (10, 1),
            (500, 10),
            (17, 3),
            (40, 8),
            (9, 40),
        ] {
            let xs: Vec<f32> = (0..mid * inner)
                .map(|e| ((e * 7919 % 1000) as f32 - 500.0) * 1.1e-3)
                .collect();
            let want = reference(&xs, mid, inner);
            let walks: [&Walk; 3] = [
                &|s, out| s.add(&xs, (0, 0, inner), out, &add),
                // Chunks of 12 rows (a multiple of 4, not of 32), then the rest.
                &|s, out| {
                    for (k, rows) in xs.chunks(12 * inner).enumerate() {
                        s.add(rows, (12 * k, 0, inner), out, &add);
                    }
                },
                // Row by row, each in pieces of at most 3 columns.
                &|s, out| {
                    for (m, row) in xs.chunks(inner).enumerate() {
                        for (k, piece) in row.chunks(3).enumerate() {
                            s.add(piece, (m, 3 * k, piece.len()), out, &add);
                        }
                    }
                },
            ];
            for walk in walks {
                let mut slab = Slab::new(mid, inner, 0f32);
                let mut out = vec![0f32; inner];
                walk(&mut slab, &mut out);
                slab.finish(&mut out, &add);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&want), "mid {mid} inner {inner}");
            }
            // Three slabs at once, the same numbers scaled per slab.
            let scales = [1.0f32, -3.0, 0.25];
            let three: Vec<f32> = scales
                .iter()
                .flat_map(|&c| xs.iter().map(move |&x| x * c))
                .collect();
            let mut outs = vec![0f32; 3 * inner];
            Slab::new(mid, inner, 0f32).whole(&three, &mut outs, &add);
            for (k, out) in outs.chunks(inner).enumerate() {
                let slab = &three[k * mid * inner..(k + 1) * mid * inner];
                let want = reference(slab, mid, inner);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(out), bits(&want), "slab {k}, mid {mid} inner {inner}");
            }
        }
    }
}
