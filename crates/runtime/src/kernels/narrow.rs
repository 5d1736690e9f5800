//! Float products whose output is at most 16 columns wide (the tutorial's layers and their
//! gradients, a classifier's last layer): one AVX2 + FMA kernel without a GEMM's per-call
//! setup, which costs more than the arithmetic for small products, and without its packing of
//! the left operand, whose elements a narrow product uses only `n` times each (at 1024 x 512
//! x 10 this kernel took 65 µs a 512-row half where `sgemm` took 89; it was ahead at every
//! size tried, up to 4096 x 512 x 16). The right operand is packed once into rows of 16 lanes (zeros
//! past `n`), or with AVX-512, where its rows lie in order, read where it lies with masked
//! loads (packing took half of W1's 2 x 500 x 10 weight gradient); each output row is an
//! accumulator of two vectors (one with AVX-512), fed one left-operand element at a time. Every element is the sum over `p` in order, each step one fused multiply-add; in
//! a deep product (`DEEP` steps or more: a weight gradient over a batch) four such sums, over
//! the steps `p = q mod 4` for `q` in 0..4, added as `(s0 + s1) + (s2 + s3)`, so the kernel is
//! not bound by one chain of multiply-adds when it has few rows. Either way the result depends
//! on the shape alone (never on threads, on the operands' layout, or on what ran before).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The widest output the kernel takes.
pub(super) const MAX_COLS: usize = 16;

/// The deepest product the kernel takes (its packed operand is `16 * k` elements).
pub(super) const MAX_DEPTH: usize = 4096;

/// The depth from which each element is summed as `CHAINS` interleaved chains (module doc):
/// W1's weight gradients (500 steps, 2 or 10 rows) took 2000 cycles a chain at four cycles a
/// multiply-add, with the rows too few to overlap their chains.
const DEEP: usize = 32;

/// The chains of a deep product's element.
const CHAINS: usize = 4;

/// A deep product's chains added up, in the fixed order the module doc gives.
macro_rules! combine {
    ($add:ident, $c:expr) => {
        $add($add($c[0], $c[1]), $add($c[2], $c[3]))
    };
}

/// An operand as gemm takes it: a pointer and element strides for rows and columns. (Only the
/// x86-64 kernels read it.)
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) struct Strided {
    pub ptr: *const f32,
    pub row_stride: isize,
    pub col_stride: isize,
}

impl Strided {
    /// SAFETY: `(i, j)` lies inside the matrix the pointer and strides describe.
    #[inline(always)]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) unsafe fn at(self, i: usize, j: usize) -> f32 {
        *self
            .ptr
            .offset(i as isize * self.row_stride + j as isize * self.col_stride)
    }
}

/// Whether a product of `k` steps into `n` columns takes the kernel (and the CPU has AVX2 and
/// FMA), whatever its rows.
pub(super) fn takes(n: usize, k: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        n <= MAX_COLS && k <= MAX_DEPTH && super::has_avx2()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (n, k);
        false
    }
}

/// Writes `a` (`m x k`) times `b` (`k x n`) row-major into `dst` (`m * n` elements, not
/// read before they are written), with `packed` as room for `16 * k` elements.
///
/// # Safety
/// `takes(n, k)` holds (so the CPU has AVX2 and FMA); `a` and `b` describe `m x k` and
/// `k x n` readable matrices; `dst` is valid for writing `m * n` elements; `packed` holds
/// at least `16 * k` elements.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn product(
    (m, n, k): (usize, usize, usize),
    a: Strided,
    b: Strided,
    dst: *mut f32,
    packed: &mut [f32],
) {
    assert!((1..=MAX_COLS).contains(&n) && packed.len() >= 16 * k);
    if n == 1 && super::has_avx512() && gathers(m, a) {
        // SAFETY: the CPU has AVX-512F; the rest as here.
        return column_avx512(m, k, a, b, dst);
    }
    if n == 1 && m <= 16 && a.row_stride == 1 {
        return column(m, k, a, b, dst);
    }
    let lanes: __mmask16 = ((1u32 << n) - 1) as __mmask16;
    if b.col_stride == 1 && super::has_avx512() {
        // Rows of the operand lie in order: AVX-512 reads each with a masked load, zeros past
        // `n`, as cheap as a plain one, so the rows are read where they lie, unpacked.
        let rows = RowsOfB {
            ptr: b.ptr,
            stride: b.row_stride,
            lanes,
        };
        // SAFETY: the CPU has AVX-512F; `rows` reads row p's `n` elements of `b` alone.
        return rows_avx512((m, n, k), a, rows, dst);
    }
    if b.col_stride == 1 {
        // Rows of the operand lie in order (the usual case): two masked loads per row, which
        // read only its `n` elements and give zeros past them. (Calls to copy and fill cost
        // more than the copying at these sizes.)
        let (lo, hi) = (lanes_below(n, 0), lanes_below(n, 8));
        for (p, row) in packed.chunks_exact_mut(16).take(k).enumerate() {
            let from = b.ptr.offset(p as isize * b.row_stride);
            _mm256_storeu_ps(row.as_mut_ptr(), _mm256_maskload_ps(from, lo));
            _mm256_storeu_ps(
                row.as_mut_ptr().add(8),
                _mm256_maskload_ps(from.wrapping_add(8), hi),
            );
        }
    } else {
        for (p, row) in packed.chunks_exact_mut(16).take(k).enumerate() {
            for (j, lane) in row.iter_mut().enumerate() {
                *lane = if j < n { b.at(p, j) } else { 0.0 };
            }
        }
    }
    let packed = packed.as_ptr();
    if super::has_avx512() {
        let rows = RowsOfB {
            ptr: packed,
            stride: 16,
            lanes: u16::MAX,
        };
        // SAFETY: the CPU has AVX-512F; the packed rows hold 16 lanes each.
        return rows_avx512((m, n, k), a, rows, dst);
    }
    rows_avx2((m, n, k), a, packed, dst)
}

/// `product`'s rows with AVX2, in groups of rows.
///
/// # Safety
/// As `product` after packing (`packed` holds `16 * k` packed elements).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2(
    (m, n, k): (usize, usize, usize),
    a: Strided,
    packed: *const f32,
    dst: *mut f32,
) {
    let mut i = 0;
    // Several rows at a time, so several accumulators are in flight while each waits out its
    // multiply-add's latency: 8 rows of one vector, or 4 rows of two; the rows left over go
    // as one group too. A deep product's rows have four chains each: one row of two vectors,
    // or two of one, keep eight accumulators in the sixteen registers.
    let shape = (m, n, k);
    if k >= DEEP {
        if n > 8 {
            for i in 0..m {
                rows::<1, true>(i, shape, a, packed, dst);
            }
        } else {
            while i + 2 <= m {
                rows::<2, false>(i, shape, a, packed, dst);
                i += 2;
            }
            if i < m {
                rows::<1, false>(i, shape, a, packed, dst);
            }
        }
        return;
    }
    if n > 8 {
        while i + 4 <= m {
            rows::<4, true>(i, shape, a, packed, dst);
            i += 4;
        }
        match m - i {
            0 => {}
            1 => rows::<1, true>(i, shape, a, packed, dst),
            2 => rows::<2, true>(i, shape, a, packed, dst),
            _ => rows::<3, true>(i, shape, a, packed, dst),
        }
    } else {
        while i + 8 <= m {
            rows::<8, false>(i, shape, a, packed, dst);
            i += 8;
        }
        match m - i {
            0 => {}
            1 => rows::<1, false>(i, shape, a, packed, dst),
            2 => rows::<2, false>(i, shape, a, packed, dst),
            3 => rows::<3, false>(i, shape, a, packed, dst),
            4 => rows::<4, false>(i, shape, a, packed, dst),
            5 => rows::<5, false>(i, shape, a, packed, dst),
            6 => rows::<6, false>(i, shape, a, packed, dst),
            _ => rows::<7, false>(i, shape, a, packed, dst),
        }
    }
}

/// The right operand's rows as the AVX-512 kernel reads them: row `p` is the `lanes` (a mask)
/// of the 16 floats at `ptr + p * stride`, zeros in the other lanes. Packed rows (16 lanes, zeros
/// past `n`) take every lane; rows read where they lie take the first `n`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct RowsOfB {
    ptr: *const f32,
    stride: isize,
    lanes: __mmask16,
}

/// `product`'s rows with AVX-512: each output row is one accumulator of sixteen lanes, eight
/// rows at a time, so each step over `p` is one load of the packed operand and eight broadcast
/// multiply-adds (where AVX2 needs two vectors a row and a pointer a row). Lane for lane the
/// same multiply-adds as `rows`, so the same bits.
///
/// # Safety
/// As `product` after packing (`packed` holds `16 * k` packed elements); the CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn rows_avx512(shape: (usize, usize, usize), a: Strided, b: RowsOfB, dst: *mut f32) {
    let m = shape.0;
    let mut i = 0;
    if shape.2 >= DEEP {
        // Four chains a row: five rows at a time keep twenty accumulators in flight, and each
        // step's packed row is loaded once for five rows (W1's 10-row weight gradient, 500
        // steps, in two groups rather than 4 + 4 + 2 took 13% less time; the bits are the same,
        // as each row is summed alone).
        while i + 5 <= m {
            group_avx512::<5, CHAINS>(i, shape, a, b, dst);
            i += 5;
        }
        match m - i {
            0 => {}
            1 => group_avx512::<1, CHAINS>(i, shape, a, b, dst),
            2 => group_avx512::<2, CHAINS>(i, shape, a, b, dst),
            3 => group_avx512::<3, CHAINS>(i, shape, a, b, dst),
            _ => group_avx512::<4, CHAINS>(i, shape, a, b, dst),
        }
        return;
    }
    while i + 8 <= m {
        group_avx512::<8, 1>(i, shape, a, b, dst);
        i += 8;
    }
    match m - i {
        0 => {}
        1 => group_avx512::<1, 1>(i, shape, a, b, dst),
        2 => group_avx512::<2, 1>(i, shape, a, b, dst),
        3 => group_avx512::<3, 1>(i, shape, a, b, dst),
        4 => group_avx512::<4, 1>(i, shape, a, b, dst),
        5 => group_avx512::<5, 1>(i, shape, a, b, dst),
        6 => group_avx512::<6, 1>(i, shape, a, b, dst),
        _ => group_avx512::<7, 1>(i, shape, a, b, dst),
    }
}

/// Output rows `i..i + R` with AVX-512 (see `rows_avx512`), each summed as `C` chains (1, or
/// `CHAINS` for a deep product: step `p` goes to chain `p % C`); each row is stored with a mask
/// of its `n` lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn group_avx512<const R: usize, const C: usize>(
    i: usize,
    (_, n, k): (usize, usize, usize),
    a: Strided,
    b: RowsOfB,
    dst: *mut f32,
) {
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    // Each row's start, and one offset along the rows for all of them. The starts go through
    // `black_box`: where the compiler sees that they lie a fixed stride apart, it derives each
    // row's address from the one before it, a chain of adds through the rows carried from step
    // to step (LLVM did that with one pointer per row stepped on its own, too): twenty adds in
    // a row per four steps of a deep product. Hidden, W1's 10 x 500 x 10 weight gradient went
    // from 1.22 to 0.89 µs and a 512-row half of 1024 x 512 x 10 from 65 to 49 µs.
    // (A product of few steps, one chain a row, keeps its plain starts: the trip through memory
    // cost more there than the chain, 0.94 against 0.87 µs at 500 x 10 x 10.)
    let starts: [*const f32; R] =
        std::array::from_fn(|r| a.ptr.wrapping_offset((i + r) as isize * a.row_stride));
    let rows = if C > 1 {
        std::hint::black_box(starts)
    } else {
        starts
    };
    let mut step = |p: usize, q: usize| {
        let row = _mm512_maskz_loadu_ps(b.lanes, b.ptr.wrapping_offset(p as isize * b.stride));
        let along = p as isize * a.col_stride;
        for r in 0..R {
            let x = _mm512_set1_ps(*rows[r].wrapping_offset(along));
            acc[r][q] = _mm512_fmadd_ps(x, row, acc[r][q]);
        }
    };
    let whole = k / C * C;
    for p in (0..whole).step_by(C) {
        for q in 0..C {
            step(p + q, q);
        }
    }
    for p in whole..k {
        step(p, p - whole);
    }
    let lanes: __mmask16 = ((1u32 << n) - 1) as __mmask16;
    for (r, chains) in acc.iter().enumerate() {
        let row = if C == 1 {
            chains[0]
        } else {
            combine!(_mm512_add_ps, chains)
        };
        _mm512_mask_storeu_ps(dst.add((i + r) * n), lanes, row);
    }
}

/// A single output column of at most 16 rows from a left operand whose columns lie in order
/// (a weight gradient `x^T dy` of a one-unit layer): the output rows are the vector lanes, and
/// each step over `p` is one or two loads, a broadcast and multiply-adds. Each element is still
/// the sum over `p` in order, one fused multiply-add at a time, so it has the bits the row
/// kernel gives (where the row kernel would waste 7 of every 8 lanes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn column(m: usize, k: usize, a: Strided, b: Strided, dst: *mut f32) {
    let (lo_lanes, hi_lanes) = (lanes_below(m, 0), lanes_below(m, 8));
    let (mut lo, mut hi) = ([_mm256_setzero_ps(); CHAINS], [_mm256_setzero_ps(); CHAINS]);
    // One chain, or for a deep product one per step modulo `CHAINS`.
    let chains = if k >= DEEP { CHAINS } else { 1 };
    for p in 0..k {
        let q = p % chains;
        // Column p of the left operand: rows 0..m, in order (masked lanes are never read).
        let col = a.ptr.wrapping_offset(p as isize * a.col_stride);
        let y = _mm256_set1_ps(b.at(p, 0));
        lo[q] = _mm256_fmadd_ps(_mm256_maskload_ps(col, lo_lanes), y, lo[q]);
        if m > 8 {
            let upper = _mm256_maskload_ps(col.wrapping_add(8), hi_lanes);
            hi[q] = _mm256_fmadd_ps(upper, y, hi[q]);
        }
    }
    let (lo, hi) = if chains == 1 {
        (lo[0], hi[0])
    } else {
        (combine!(_mm256_add_ps, lo), combine!(_mm256_add_ps, hi))
    };
    let mut tile = [0f32; 16];
    _mm256_storeu_ps(tile.as_mut_ptr(), lo);
    _mm256_storeu_ps(tile.as_mut_ptr().add(8), hi);
    std::ptr::copy_nonoverlapping(tile.as_ptr(), dst, m);
}

/// Whether `column_avx512` takes an `m`-row left operand: one whose rows lie in order and
/// fit one vector, or any whose sixteen rows' offsets fit the gather's 32-bit indices.
fn gathers(m: usize, a: Strided) -> bool {
    (m <= 16 && a.row_stride == 1) || a.row_stride.unsigned_abs() < i32::MAX as usize / 16
}

/// `column` with AVX-512, sixteen rows at a time: each block's rows in one vector, read with a
/// mask register (where AVX2's masked loads are two slow instructions a step) where they lie
/// in order, else gathered (a one-unit layer's `h w` over a batch: the row kernel would use one
/// lane in sixteen). Lane for lane `column`'s arithmetic, so the row kernel's bits.
///
/// # Safety
/// As `column`, but any `m` (`gathers(m, a)` holds); the CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn column_avx512(m: usize, k: usize, a: Strided, b: Strided, dst: *mut f32) {
    let offsets = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(a.row_stride as i32),
    );
    for i in (0..m).step_by(16) {
        let block = Strided {
            ptr: a.ptr.wrapping_offset(i as isize * a.row_stride),
            ..a
        };
        column_block_avx512((m - i).min(16), k, block, b, offsets, dst.add(i));
    }
}

/// One block of `column_avx512`: `m` rows (at most 16), their elements `offsets` apart.
///
/// # Safety
/// As `column_avx512`, `m` at most 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn column_block_avx512(
    m: usize,
    k: usize,
    a: Strided,
    b: Strided,
    offsets: __m512i,
    dst: *mut f32,
) {
    let rows: __mmask16 = ((1u32 << m) - 1) as __mmask16;
    let mut acc = [_mm512_setzero_ps(); CHAINS];
    let chains = if k >= DEEP { CHAINS } else { 1 };
    let in_order = a.row_stride == 1;
    let mut step = |p: usize, q: usize| {
        let col = a.ptr.wrapping_offset(p as isize * a.col_stride);
        let y = _mm512_set1_ps(b.at(p, 0));
        let x = if in_order {
            _mm512_maskz_loadu_ps(rows, col)
        } else {
            _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), rows, offsets, col)
        };
        acc[q] = _mm512_fmadd_ps(x, y, acc[q]);
    };
    let sum = if chains == 1 {
        for p in 0..k {
            step(p, 0);
        }
        acc[0]
    } else {
        let whole = k / CHAINS * CHAINS;
        for p in (0..whole).step_by(CHAINS) {
            for q in 0..CHAINS {
                step(p + q, q);
            }
        }
        for p in whole..k {
            step(p, p - whole);
        }
        combine!(_mm512_add_ps, acc)
    };
    _mm512_mask_storeu_ps(dst, rows, sum);
}

/// The mask of lanes `from + l < n` (`l` in 0..8), for masked loads.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn lanes_below(n: usize, from: usize) -> __m256i {
    let lane = |l: usize| if from + l < n { -1 } else { 0 };
    _mm256_setr_epi32(
        lane(0),
        lane(1),
        lane(2),
        lane(3),
        lane(4),
        lane(5),
        lane(6),
        lane(7),
    )
}

/// Output rows `i..i + R`; `WIDE`: columns 8..16 too. Rows must be written in increasing
/// order (see the stores).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn rows<const R: usize, const WIDE: bool>(
    i: usize,
    (m, n, k): (usize, usize, usize),
    a: Strided,
    packed: *const f32,
    dst: *mut f32,
) {
    let mut lo = [[_mm256_setzero_ps(); CHAINS]; R];
    let mut hi = [[_mm256_setzero_ps(); CHAINS]; R];
    // Each row's next left-operand element, stepped along the row (wrapping: the last step
    // points past the operand and is never read).
    let mut next: [*const f32; R] =
        std::array::from_fn(|r| a.ptr.wrapping_offset((i + r) as isize * a.row_stride));
    let mut step = |p: usize, q: usize| {
        let b_lo = _mm256_loadu_ps(packed.add(16 * p));
        let b_hi = if WIDE {
            _mm256_loadu_ps(packed.add(16 * p + 8))
        } else {
            _mm256_setzero_ps()
        };
        for r in 0..R {
            let x = _mm256_set1_ps(*next[r]);
            next[r] = next[r].wrapping_offset(a.col_stride);
            lo[r][q] = _mm256_fmadd_ps(x, b_lo, lo[r][q]);
            if WIDE {
                hi[r][q] = _mm256_fmadd_ps(x, b_hi, hi[r][q]);
            }
        }
    };
    // A deep product's steps go to their chains (module doc), a shallow one's to chain 0.
    let (lo, hi) = if k >= DEEP {
        let whole = k / CHAINS * CHAINS;
        for p in (0..whole).step_by(CHAINS) {
            for q in 0..CHAINS {
                step(p + q, q);
            }
        }
        for p in whole..k {
            step(p, p - whole);
        }
        (
            lo.map(|c| combine!(_mm256_add_ps, c)),
            hi.map(|c| combine!(_mm256_add_ps, c)),
        )
    } else {
        for p in 0..k {
            step(p, 0);
        }
        (lo.map(|c| c[0]), hi.map(|c| c[0]))
    };
    // Whole-vector stores: the lanes past a row's `n` spill into the rows after it, which are
    // written later and overwrite them. Only where a store would pass the end of the output
    // does a row go through a copy. (Masked stores are microcoded and slow on AMD.)
    let width = if WIDE { 16 } else { 8 };
    for r in 0..R {
        let at = (i + r) * n;
        let row = dst.add(at);
        if at + width <= m * n {
            _mm256_storeu_ps(row, lo[r]);
            if WIDE {
                _mm256_storeu_ps(row.add(8), hi[r]);
            }
        } else {
            let mut tile = [0f32; 16];
            _mm256_storeu_ps(tile.as_mut_ptr(), lo[r]);
            _mm256_storeu_ps(tile.as_mut_ptr().add(8), hi[r]);
            std::ptr::copy_nonoverlapping(tile.as_ptr(), row, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::matmul::matmul;
    use super::super::OutBuf;
    use crate::parallel::Parallel;
    use ndarray::Array2;
    use rill_graph::Value;

    /// Deterministic values in [-1, 1).
    fn matrix(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        Array2::from_shape_fn((rows, cols), |_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
    }

    fn product(a: &Array2<f32>, b: &Array2<f32>, ta: bool, tb: bool, out: &mut OutBuf) -> Value {
        let (a, b) = (Value::from(a.clone()), Value::from(b.clone()));
        matmul(&a, &b, ta, tb, &Parallel::sequential(), out).unwrap()
    }

    /// A product's bits depend on its shape alone, not on how its left operand lies in
    /// memory: row-ordered (the row kernel) and column-ordered (the column kernel, or the row
    /// kernel with other strides) give the same bits. Layouts do change between plans (a step
    /// written in place keeps its buffer's strides), so anything else would let fusion change
    /// a product's bits.
    #[test]
    fn a_product_s_bits_do_not_depend_on_the_left_operand_s_layout() {
        let mut out = OutBuf::default();
        for n in [1, 3, 10] {
            for m in [1, 2, 9, 16, 20] {
                for k in [1, 8, 40, 100] {
                    let a = matrix(m, k, (m * 1000 + k * 10 + n) as u64);
                    let b = matrix(k, n, (k + n) as u64);
                    let rows = product(&a, &b, false, false, &mut out).to_f64_vec();
                    let columns =
                        product(&a.t().to_owned(), &b, true, false, &mut out).to_f64_vec();
                    let bits =
                        |v: &[f64]| v.iter().map(|&x| (x as f32).to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&rows), bits(&columns), "m {m} n {n} k {k}");
                }
            }
        }
    }

    /// Where the CPU has AVX-512, its row kernel gives the AVX2 kernel's bits, for every
    /// width, every tail group of rows, both layouts of the left operand, and the right
    /// operand packed or read where it lies.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_rows_have_the_avx2_rows_bits() {
        if !super::super::has_avx512() {
            return;
        }
        for n in 1..=super::MAX_COLS {
            for m in [1, 3, 7, 8, 9, 15, 21] {
                // Shallow, and deep (at `DEEP` and past it, with 0 to 3 steps past the last
                // whole round of chains).
                for k in [1, 5, super::DEEP, 39, 42] {
                    let a = matrix(m, k, (n * 100 + m * 10 + k) as u64);
                    let b = matrix(k, n, (k * 7 + n) as u64);
                    let packed: Vec<f32> = (0..16 * k)
                        .map(|e| if e % 16 < n { b[[e / 16, e % 16]] } else { 0.0 })
                        .collect();
                    let t = a.t().as_standard_layout().to_owned();
                    let layouts = [
                        super::Strided {
                            ptr: a.as_ptr(),
                            row_stride: k as isize,
                            col_stride: 1,
                        },
                        super::Strided {
                            ptr: t.as_ptr(),
                            row_stride: 1,
                            col_stride: m as isize,
                        },
                    ];
                    for lhs in layouts {
                        let (mut wide, mut plain) = (vec![0f32; m * n], vec![0f32; m * n]);
                        let (mut grouped, mut in_place) = (vec![0f32; m * n], vec![0f32; m * n]);
                        let packed_rows = super::RowsOfB {
                            ptr: packed.as_ptr(),
                            stride: 16,
                            lanes: u16::MAX,
                        };
                        let rows_in_place = super::RowsOfB {
                            ptr: b.as_ptr(),
                            stride: n as isize,
                            lanes: ((1u32 << n) - 1) as u16,
                        };
                        // SAFETY: the CPU has AVX-512F (so AVX2 and FMA); `lhs` describes the
                        // m x k operand, `packed` the k x n one packed and `b` unpacked (n
                        // lanes a row read), each output m * n.
                        unsafe {
                            super::rows_avx512((m, n, k), lhs, packed_rows, wide.as_mut_ptr());
                            let at = in_place.as_mut_ptr();
                            super::rows_avx512((m, n, k), lhs, rows_in_place, at);
                            let at = grouped.as_mut_ptr();
                            super::rows_avx2((m, n, k), lhs, packed.as_ptr(), at);
                            for i in 0..m {
                                super::rows::<1, true>(
                                    i,
                                    (m, n, k),
                                    lhs,
                                    packed.as_ptr(),
                                    plain.as_mut_ptr(),
                                );
                            }
                        }
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&wide), bits(&plain), "m {m} n {n} k {k}");
                        assert_eq!(bits(&grouped), bits(&plain), "m {m} n {n} k {k}: groups");
                        assert_eq!(bits(&in_place), bits(&plain), "m {m} n {n} k {k}: in place");
                    }
                }
            }
        }
    }

    /// Where the CPU has AVX-512, its column kernel gives the AVX2 one's bits, for every row
    /// count it takes, shallow and deep.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx512_column_has_the_avx2_columns_bits() {
        if !super::super::has_avx512() {
            return;
        }
        for m in 1..=16 {
            for k in [1, 9, super::DEEP, 37, 500] {
                // The left operand stored column by column (its transpose row-major).
                let t = matrix(k, m, (m * 1000 + k) as u64);
                let b = matrix(k, 1, (k + 7) as u64);
                let a = super::Strided {
                    ptr: t.as_ptr(),
                    row_stride: 1,
                    col_stride: m as isize,
                };
                let b = super::Strided {
                    ptr: b.as_ptr(),
                    row_stride: 1,
                    col_stride: 1,
                };
                let (mut wide, mut plain) = (vec![0f32; m], vec![0f32; m]);
                // SAFETY: the CPU has AVX-512F (so AVX2 and FMA); `a` is m x k, `b` k x 1,
                // each output m long.
                unsafe {
                    super::column_avx512(m, k, a, b, wide.as_mut_ptr());
                    super::column(m, k, a, b, plain.as_mut_ptr());
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&wide), bits(&plain), "m {m} k {k}");
            }
        }
    }

    /// Where the CPU has AVX-512, a one-column product over a left operand whose rows lie apart
    /// (a one-unit layer's `h w`), gathered sixteen rows at a time, has the model's bits, for
    /// whole and partial blocks of rows, shallow and deep.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_gathered_column_has_the_models_bits() {
        if !super::super::has_avx512() {
            return;
        }
        for m in [1, 15, 16, 17, 40, 500] {
            for k in [1, 10, super::DEEP, 37] {
                let a = matrix(m, k, (m * 31 + k) as u64);
                let b = matrix(k, 1, (k + 11) as u64);
                let lhs = super::Strided {
                    ptr: a.as_ptr(),
                    row_stride: k as isize,
                    col_stride: 1,
                };
                let rhs = super::Strided {
                    ptr: b.as_ptr(),
                    row_stride: 1,
                    col_stride: 1,
                };
                assert!(super::gathers(m, lhs));
                let mut out = vec![0f32; m];
                // SAFETY: the CPU has AVX-512F (so AVX2 and FMA); `lhs` is m x k, `rhs` k x 1,
                // the output m long.
                unsafe { super::column_avx512(m, k, lhs, rhs, out.as_mut_ptr()) };
                let bits: Vec<u32> = out.iter().map(|x| x.to_bits()).collect();
                assert_eq!(bits, model(&a, &b), "m {m} k {k}");
            }
        }
    }

    /// Each element of a product as the module doc defines it, one element at a time: one
    /// chain of fused multiply-adds over `p` in order, or from `DEEP` steps on four chains
    /// (`p % 4`) added as `(s0 + s1) + (s2 + s3)`.
    fn model(a: &Array2<f32>, b: &Array2<f32>) -> Vec<u32> {
        let ((m, k), n) = (a.dim(), b.ncols());
        let chains = if k >= super::DEEP { super::CHAINS } else { 1 };
        (0..m * n)
            .map(|e| {
                let (i, j) = (e / n, e % n);
                let mut s = [0f32; super::CHAINS];
                for p in 0..k {
                    s[p % chains] = a[[i, p]].mul_add(b[[p, j]], s[p % chains]);
                }
                let sum = if chains == 1 {
                    s[0]
                } else {
                    (s[0] + s[1]) + (s[2] + s[3])
                };
                sum.to_bits()
            })
            .collect()
    }

    /// Products have the model's bits, shallow and deep (W1's weight gradients: 500 steps, 2
    /// and 10 rows, 10 and 1 columns), with the left operand in both layouts.
    #[test]
    fn products_have_the_models_bits() {
        let mut out = OutBuf::default();
        for (m, n) in [
            (1, 1),
            (2, 10),
            (10, 10),
            (10, 1),
            (5, 16),
            (13, 3),
            (16, 1),
        ] {
            for k in [1, 7, super::DEEP - 1, super::DEEP, 33, 35, 500] {
                let a = matrix(m, k, (m * 100 + n * 10 + k) as u64);
                let b = matrix(k, n, (k + 3 * n) as u64);
                let want = model(&a, &b);
                let bits = |v: Value| {
                    let v = v.to_f64_vec();
                    v.iter().map(|&x| (x as f32).to_bits()).collect::<Vec<_>>()
                };
                let rows = bits(product(&a, &b, false, false, &mut out));
                assert_eq!(rows, want, "m {m} n {n} k {k}");
                let columns = bits(product(&a.t().to_owned(), &b, true, false, &mut out));
                assert_eq!(columns, want, "m {m} n {n} k {k}, left operand transposed");
            }
        }
    }

    /// Every output width the kernel takes (and the first it does not), row counts that leave
    /// every tail group, depths from 1 to past a cache line, all transposes: against a
    /// reference summed in f64, and twice through reused output storage.
    #[test]
    fn narrow_products_match_an_f64_reference() {
        let mut out = OutBuf::default();
        for n in 1..=super::MAX_COLS + 1 {
            for m in [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 21] {
                for k in [1, 2, 3, 9, 40] {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        let seed = (n * 1000 + m * 10 + k) as u64;
                        let a = matrix(m, k, seed);
                        let b = matrix(k, n, seed + 1);
                        let (sa, sb) = (
                            if ta { a.t().to_owned() } else { a.clone() },
                            if tb { b.t().to_owned() } else { b.clone() },
                        );
                        let want: Vec<f64> = (0..m * n)
                            .map(|e| {
                                let (i, j) = (e / n, e % n);
                                (0..k).map(|p| a[[i, p]] as f64 * b[[p, j]] as f64).sum()
                            })
                            .collect();
                        for _ in 0..2 {
                            let got = product(&sa, &sb, ta, tb, &mut out);
                            assert_eq!(got.shape(), &[m, n]);
                            for (e, (g, w)) in got.to_f64_vec().iter().zip(&want).enumerate() {
                                assert!(
                                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                                    "m {m} n {n} k {k} ta {ta} tb {tb} element {e}: {g} vs {w}"
                                );
                            }
                            // The storage goes back for the next product, as a buffer would.
                            out = OutBuf::new(Some(got));
                        }
                    }
                }
            }
        }
    }
}
