//! f32 matrix products on AVX2 + FMA, in the BLIS design: the operands are copied into panels
//! that stay in cache (a block of the right operand in L3, of the left in L2, one panel of each
//! in L1 as far as it holds them: at 512 steps a double panel of the right is 64 KB and comes
//! from L2), and a micro-kernel keeps a 6 x 16 tile of the output in twelve registers while it
//! runs down the shared dimension.
//!
//! Every output element is summed the same way wherever it falls: the shared dimension is cut
//! into blocks by its length alone, each block is one chain of fused multiply-adds from zero,
//! and the blocks are added to the output in order. So results depend on the shape alone: not
//! on the thread count, on how the output is split, or on which tile an element lies in.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::matmul::RowsEpilogue;
use super::narrow::Strided;
use crate::parallel::Parallel;
use rayon::prelude::*;
use std::cell::RefCell;

/// Rows of the register tile.
const MR: usize = 6;
/// Columns of the register tile (two AVX vectors).
const NR: usize = 16;
/// Room past the left operand's panels for the two lanes its last store spills (`pack_a`).
const A_SLACK: usize = 8;
/// The longest block of the shared dimension: 512 steps (a double panel of the right operand
/// is then 64 KB, past L1, but the output is read and written half as often; 1024 x 784 x 512
/// ran 2-4% faster on 2 threads than with 256, on a Zen 5 EPYC).
const KC_MAX: usize = 512;
/// Rows of a block of the right operand `pack_b` copies at a time (see there).
const PACK_ROWS: usize = 8;
/// Rows of the left operand packed at once: 96 x 512 floats is 192 KB, well inside L2.
const MC: usize = 96;
/// Columns of the right operand packed at once: 512 x 1024 floats is 2 MB, in L3.
const NC: usize = 1024;

/// Whether the CPU runs this kernel (AVX2 and FMA).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::has_avx2()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The output, which the tasks of one product write in disjoint parts.
#[derive(Clone, Copy)]
struct Output(*mut f32);
// SAFETY: tasks write disjoint rectangles of the output (see `product`), and `product` returns
// only when every task is done.
unsafe impl Send for Output {}
unsafe impl Sync for Output {}

/// The operands as the tasks of one product read them.
#[derive(Clone, Copy)]
struct Operands {
    a: Strided,
    b: Strided,
}
// SAFETY: the operands are only read, and outlive the product.
unsafe impl Send for Operands {}
unsafe impl Sync for Operands {}

/// Writes `a` (`m x k`) times `b` (`k x n`) row-major into `dst`, which is not read before it
/// is written. Products of at least `parallel_flops` multiply-adds split their output over the
/// pool: by rows when it is at least as tall as it is wide (a square output splits by rows, so
/// that an epilogue runs in the tasks), else into column stripes. Either way the stripes are
/// fixed, one a task, and each task packs its own copy of the operand it does not split: a
/// task then reads panels only from its own core's caches. (Earlier, tall outputs went to the
/// tasks a few rows at a time from one packing of the right operand that the tasks shared;
/// with the left operand in memory, as a fed batch is, that ran 2-5% slower on 2 threads on
/// a Zen 5 EPYC at 1024 x 784 x 512, 1024 x 512 x 512 and 784 x 128 x 512.) When the split
/// is by rows (or there is none), `epilogue` runs on each task's rows once they are final,
/// while they are in cache, and the result is `true`; otherwise the caller runs it.
///
/// # Safety
/// `available()` holds; `m, n, k > 0`; `a` and `b` describe readable `m x k` and `k x n`
/// matrices; `dst` is valid for writing `m * n` elements and aliases neither operand.
pub(super) unsafe fn product(
    (m, n, k): (usize, usize, usize),
    a: Strided,
    b: Strided,
    dst: *mut f32,
    parallel: &Parallel,
    parallel_flops: usize,
    epilogue: Option<RowsEpilogue<'_, f32>>,
) -> bool {
    debug_assert!(m > 0 && n > 0 && k > 0, "the caller handles empty products");
    let tasks = if m.saturating_mul(n).saturating_mul(k) >= parallel_flops {
        parallel.threads()
    } else {
        1
    };
    let how = if tasks == 1 {
        Split::Rows
    } else if m < n {
        Split::Columns
    } else {
        Split::Rows
    };
    let (ops, out) = (Operands { a, b }, Output(dst));
    let run = move || split(m, n, k, ops, out, tasks, how, epilogue);
    if tasks > 1 {
        parallel.run(run);
    } else {
        run();
    }
    how != Split::Columns && epilogue.is_some()
}

/// How a product's output is divided among its tasks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Split {
    /// Fixed stripes of rows, each task packing the whole right operand for itself.
    Rows,
    /// Fixed stripes of columns, each task packing the whole left operand for itself.
    Columns,
}

/// Runs the product in `tasks` pieces divided `how`, on the current pool.
#[allow(clippy::too_many_arguments)]
fn split(
    m: usize,
    n: usize,
    k: usize,
    ops: Operands,
    out: Output,
    tasks: usize,
    how: Split,
    epilogue: Option<RowsEpilogue<'_, f32>>,
) {
    let by_rows = how == Split::Rows;
    let (len, unit) = if by_rows { (m, MR) } else { (n, NR) };
    // Stripes are whole tiles, so only the last task has a ragged edge.
    let stripe = len.div_ceil(tasks).div_ceil(unit) * unit;
    let task = |t: usize| {
        let (from, to) = ((t * stripe).min(len), ((t + 1) * stripe).min(len));
        if from == to {
            return;
        }
        let (rows, cols) = if by_rows {
            ((from, to), (0, n))
        } else {
            ((0, m), (from, to))
        };
        let on_rows = if by_rows { epilogue } else { None };
        // SAFETY: `product`'s contract; task `t` writes only its own stripe of the output.
        unsafe { stripe_product(rows, cols, k, ops, out, n, on_rows) };
    };
    if tasks > 1 {
        (0..tasks).into_par_iter().for_each(task);
    } else {
        task(0);
    }
}

/// The length of each block of the shared dimension: as even as the blocks can be, by `k` alone.
fn depth_block(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC_MAX))
}

/// Writes rows `rows` by columns `cols` of the product into `out` (row stride `ldc`), then runs
/// `epilogue` on those rows when given (the stripe must then span all columns).
///
/// # Safety
/// As `product`; the ranges lie inside the output, and no other thread writes them meanwhile.
unsafe fn stripe_product(
    rows: (usize, usize),
    cols: (usize, usize),
    k: usize,
    ops: Operands,
    out: Output,
    ldc: usize,
    epilogue: Option<RowsEpilogue<'_, f32>>,
) {
    let kc_len = depth_block(k);
    let a_room = MC.div_ceil(MR) * MR * kc_len + A_SLACK;
    let b_room = NC.min(cols.1 - cols.0).div_ceil(NR) * NR * kc_len;
    // The panels start on cache lines (16 elements), so each step of a right-operand panel
    // is one line, not two halves of two.
    let a_room = a_room.div_ceil(16) * 16;
    with_panels(a_room + b_room + 16, |scratch| {
        let skip = scratch.as_ptr().align_offset(64).min(16);
        let (a_panels, b_panels) = scratch[skip..].split_at_mut(a_room);
        let whole_rows = cols == (0, ldc) && ldc <= NC;
        for jc in (cols.0..cols.1).step_by(NC) {
            let nc = NC.min(cols.1 - jc);
            let mut p0 = 0;
            while p0 < k {
                let kc = kc_len.min(k - p0);
                let (first, last) = (p0 == 0, p0 + kc == k);
                pack_b(ops.b, (p0, kc), (jc, nc), b_panels);
                for ic in (rows.0..rows.1).step_by(MC) {
                    let mc = MC.min(rows.1 - ic);
                    pack_a(ops.a, (ic, mc), (p0, kc), a_panels);
                    let c = out.0.add(ic * ldc + jc);
                    tiles((mc, nc, kc), a_panels, b_panels, c, ldc, first);
                    if let (true, true, Some(f)) = (last, whole_rows, epilogue) {
                        // These rows are final: run the epilogue while they are in cache.
                        f(
                            ic * ldc,
                            std::slice::from_raw_parts_mut(out.0.add(ic * ldc), mc * ldc),
                        );
                    }
                }
                p0 += kc;
            }
        }
        if let (false, Some(f)) = (whole_rows, epilogue) {
            let (from, count) = (rows.0 * ldc, (rows.1 - rows.0) * ldc);
            f(from, std::slice::from_raw_parts_mut(out.0.add(from), count));
        }
    });
}

/// Runs `f` with `len` elements of room for packed panels: this thread's, kept between calls, so
/// a product allocates nothing once warm. The panels have their own room, not the kernels'
/// shared scratch (`Real::with_scratch`), because an epilogue takes that while the panels are
/// in use. A nested call (a thread stealing a second product's task while it waits inside the
/// first) takes a second kept buffer.
fn with_panels<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static PANELS: super::Rooms<f32> = const { RefCell::new(Vec::new()) };
    }
    super::with_room(&PANELS, len, f)
}

/// Copies rows `i0..i0 + mc` and columns `p0..p0 + kc` of `a` into `dst` as panels of `MR`
/// rows, each stored column by column (`MR` elements per step of the shared dimension), with
/// zeros past the last row.
///
/// # Safety
/// The ranges lie inside `a`; `dst` holds `mc` rounded up to `MR`, times `kc`, elements; the
/// CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a(a: Strided, (i0, mc): (usize, usize), (p0, kc): (usize, usize), dst: &mut [f32]) {
    assert!(dst.len() >= mc.div_ceil(MR) * MR * kc + A_SLACK);
    let base = dst.as_mut_ptr();
    for ir in (0..mc).step_by(MR) {
        let rows = MR.min(mc - ir);
        let panel = base.add(ir * kc);
        let mut p = 0;
        if rows == MR && a.col_stride == 1 {
            // Rows in order (the usual layout): eight steps of six rows at a time, read along
            // the rows and turned into columns in registers. Each step is stored as eight
            // lanes, whose last two the next step overwrites (the last step's spill into
            // the next panel, or the slack, before that panel is packed).
            let row = |i: usize| {
                a.ptr
                    .offset((i0 + ir + i) as isize * a.row_stride + p0 as isize)
            };
            while p + 8 <= kc {
                let mut r = [_mm256_setzero_ps(); 8];
                for (i, v) in r.iter_mut().take(MR).enumerate() {
                    *v = _mm256_loadu_ps(row(i).add(p));
                }
                for (q, v) in transpose8(r).into_iter().enumerate() {
                    _mm256_storeu_ps(panel.add((p + q) * MR), v);
                }
                p += 8;
            }
        }
        if rows == MR && a.row_stride == 1 {
            // A transposed operand: each step's six rows lie side by side.
            let origin = a
                .ptr
                .offset((i0 + ir) as isize + p0 as isize * a.col_stride);
            for q in 0..kc {
                let src = origin.offset(q as isize * a.col_stride);
                std::ptr::copy_nonoverlapping(src, panel.add(q * MR), MR);
            }
            p = kc;
        }
        let panel = std::slice::from_raw_parts_mut(panel, MR * kc);
        for (q, step) in panel.chunks_exact_mut(MR).enumerate().skip(p) {
            for (i, slot) in step.iter_mut().enumerate() {
                *slot = if i < rows {
                    a.at(i0 + ir + i, p0 + q)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Copies rows `p0..p0 + kc` and columns `j0..j0 + nc` of `b` into `dst` as panels of `NR`
/// columns, each stored row by row (`NR` elements per step of the shared dimension), with
/// zeros past the last column.
///
/// # Safety
/// The ranges lie inside `b`; `dst` holds `nc` rounded up to `NR`, times `kc`, elements; the
/// CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b(b: Strided, (p0, kc): (usize, usize), (j0, nc): (usize, usize), dst: &mut [f32]) {
    debug_assert!(dst.len() >= nc.div_ceil(NR) * NR * kc);
    // Columns in whole panels; a ragged last panel is copied element by element below.
    let whole = nc / NR * NR;
    let at = |p: usize, j: usize| {
        b.ptr
            .offset((p0 + p) as isize * b.row_stride + (j0 + j) as isize * b.col_stride)
    };
    let mut done = 0;
    if b.col_stride == 1 {
        // Rows in order (the usual layout): eight rows at a time, each panel's piece of them
        // written in one run. The panels lie `kc * NR` elements apart, a power of two for the
        // usual block lengths; a row at a time, whose sixteen-element pieces go one to each
        // panel, packed 512 x 512 in 180 us where this order takes 21, and ordering by panels
        // alone (a whole panel down every row) re-reads each row's lines after the few sets
        // of L1 they share have lost them (60 us at 784 steps by 512 columns, against 28).
        for g in (0..kc).step_by(PACK_ROWS) {
            let rows = PACK_ROWS.min(kc - g);
            for jr in (0..whole).step_by(NR) {
                let run = &mut dst[jr * kc + g * NR..][..rows * NR];
                for (q, piece) in run.chunks_exact_mut(NR).enumerate() {
                    piece.copy_from_slice(std::slice::from_raw_parts(at(g + q, jr), NR));
                }
            }
        }
        done = kc;
    } else if b.row_stride == 1 {
        // A transposed operand, each column contiguous: eight steps of eight columns at a
        // time, read down the columns and turned into rows in registers. Each group of eight
        // columns goes down all its steps before the next: the columns lie a power of two
        // apart for the usual shapes, so their lines share a few sets of L1, and a pass of
        // eight steps across every column would find the other half of each line gone when
        // it came back (128 x 512 x 512 with this operand took 326 us that way, 290 this).
        let eights = kc / 8 * 8;
        for j8 in (0..whole).step_by(8) {
            let (jr, lane) = (j8 / NR * NR, j8 % NR);
            for p in (0..eights).step_by(8) {
                let mut r = [_mm256_setzero_ps(); 8];
                for (l, v) in r.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(at(p, j8 + l));
                }
                for (q, v) in transpose8(r).into_iter().enumerate() {
                    let to = dst.as_mut_ptr().add(jr * kc + (p + q) * NR + lane);
                    _mm256_storeu_ps(to, v);
                }
            }
        }
        done = eights;
    }
    for jr in (0..nc).step_by(NR) {
        let cols = NR.min(nc - jr);
        let from = if cols == NR { done } else { 0 };
        for p in from..kc {
            for (j, slot) in dst[jr * kc + p * NR..][..NR].iter_mut().enumerate() {
                *slot = if j < cols { *at(p, jr + j) } else { 0.0 };
            }
        }
    }
}

/// Eight vectors of eight turned around: element `q` of vector `l` becomes element `l` of
/// vector `q`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// All tiles of an `mc x nc` block of the output at `c` from packed panels of `kc` steps, each
/// written (`first`) or added to. Where the CPU has AVX-512, most of the block goes as double
/// tiles (two panels of each operand at once, `micro_avx512`); the rest, or all of it without
/// AVX-512, as single ones. Either way each element is the same chain of multiply-adds.
///
/// # Safety
/// The panels hold `mc` rows and `nc` columns packed by `pack_a` and `pack_b`; `c` is valid for
/// the block with row stride `ldc`; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
unsafe fn tiles(
    block: (usize, usize, usize),
    a_panels: &[f32],
    b_panels: &[f32],
    c: *mut f32,
    ldc: usize,
    first: bool,
) {
    if super::has_avx512() {
        // SAFETY: the CPU has AVX-512F (and AVX2 and FMA, as the caller promises).
        return tiles_avx512(block, a_panels, b_panels, c, ldc, first);
    }
    tiles_avx2(block, a_panels, b_panels, c, ldc, first, (0, 0))
}

/// The tiles of the block from row `from.0` or column `from.1` on, as `MR x NR` tiles: every
/// tile whose top-left corner lies at or past either (the rest is another kernel's).
///
/// # Safety
/// As `tiles`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tiles_avx2(
    (mc, nc, kc): (usize, usize, usize),
    a_panels: &[f32],
    b_panels: &[f32],
    c: *mut f32,
    ldc: usize,
    first: bool,
    from: (usize, usize),
) {
    for jr in (0..nc).step_by(NR) {
        let b_panel = b_panels[jr * kc..].as_ptr();
        // Below `from.1`, only the rows from `from.0` on are this call's.
        let top = if jr < from.1 { from.0 } else { 0 };
        for ir in (top..mc).step_by(MR) {
            let a_panel = a_panels[ir * kc..].as_ptr();
            let (mr, nr) = (MR.min(mc - ir), NR.min(nc - jr));
            tile(
                kc,
                a_panel,
                b_panel,
                c.add(ir * ldc + jr),
                ldc,
                first,
                (mr, nr),
            );
        }
    }
}

/// `tiles` with AVX-512: every `2 NR` columns of the block through `micro_avx512`, in tiles of
/// `2 MR` rows and one of the rows left over; the columns left over through `tiles_avx2`.
///
/// # Safety
/// As `tiles`; the CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tiles_avx512(
    (mc, nc, kc): (usize, usize, usize),
    a_panels: &[f32],
    b_panels: &[f32],
    c: *mut f32,
    ldc: usize,
    first: bool,
) {
    let (tall, wide) = (mc / (2 * MR) * (2 * MR), nc / (2 * NR) * (2 * NR));
    // The rows past the last whole double tile (fewer than 2 MR) go through the same kernel
    // with fewer rows: their panels are packed with zeros past the last row, so the kernel
    // reads whole panels and stores only its rows.
    let short = mc - tall;
    let rest = a_panels[tall * kc..].as_ptr();
    let rest = (rest, if short > MR { rest.add(MR * kc) } else { rest });
    for jr in (0..wide).step_by(2 * NR) {
        let b = (
            b_panels[jr * kc..].as_ptr(),
            b_panels[(jr + NR) * kc..].as_ptr(),
        );
        for ir in (0..tall).step_by(2 * MR) {
            let a = (
                a_panels[ir * kc..].as_ptr(),
                a_panels[(ir + MR) * kc..].as_ptr(),
            );
            micro_avx512::<{ 2 * MR }>(kc, a, b, c.add(ir * ldc + jr), ldc, first);
        }
        let c = c.add(tall * ldc + jr);
        match short {
            0 => {}
            1 => micro_avx512::<1>(kc, rest, b, c, ldc, first),
            2 => micro_avx512::<2>(kc, rest, b, c, ldc, first),
            3 => micro_avx512::<3>(kc, rest, b, c, ldc, first),
            4 => micro_avx512::<4>(kc, rest, b, c, ldc, first),
            5 => micro_avx512::<5>(kc, rest, b, c, ldc, first),
            6 => micro_avx512::<6>(kc, rest, b, c, ldc, first),
            7 => micro_avx512::<7>(kc, rest, b, c, ldc, first),
            8 => micro_avx512::<8>(kc, rest, b, c, ldc, first),
            9 => micro_avx512::<9>(kc, rest, b, c, ldc, first),
            10 => micro_avx512::<10>(kc, rest, b, c, ldc, first),
            _ => micro_avx512::<11>(kc, rest, b, c, ldc, first),
        }
    }
    if wide < nc {
        // The columns past the double tiles, on every row.
        tiles_avx2((mc, nc, kc), a_panels, b_panels, c, ldc, first, (mc, wide));
    }
}

/// The AVX-512 micro-kernel: an `R x 2 NR` tile (`R` at most `2 MR`) from two panels of each
/// operand (rows past `MR` from the second), up to twenty-four accumulators of sixteen lanes
/// fed by one broadcast element of `a` and two vectors of `b` per step. Lane for lane it is
/// `micro` (the same multiply-adds in the same order), so the bits do not depend on which
/// kernel ran.
///
/// # Safety
/// As `micro` for each of the `MR x NR` tiles it covers (`R` rows of the output valid); the CPU
/// has AVX-512F (it is inlined into `tiles_avx512`, which enables it).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn micro_avx512<const R: usize>(
    kc: usize,
    a: (*const f32, *const f32),
    b: (*const f32, *const f32),
    c: *mut f32,
    ldc: usize,
    first: bool,
) {
    let mut lo = [_mm512_setzero_ps(); R];
    let mut hi = [_mm512_setzero_ps(); R];
    for i in 0..R {
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + 2 * NR - 1).cast());
    }
    let (mut a0, mut a1, mut b0, mut b1) = (a.0, a.1, b.0, b.1);
    for _ in 0..kc {
        let (b_lo, b_hi) = (_mm512_loadu_ps(b0), _mm512_loadu_ps(b1));
        for i in 0..R.min(MR) {
            let ai = _mm512_set1_ps(*a0.add(i));
            lo[i] = _mm512_fmadd_ps(ai, b_lo, lo[i]);
            hi[i] = _mm512_fmadd_ps(ai, b_hi, hi[i]);
        }
        for i in MR..R {
            let ai = _mm512_set1_ps(*a1.add(i - MR));
            lo[i] = _mm512_fmadd_ps(ai, b_lo, lo[i]);
            hi[i] = _mm512_fmadd_ps(ai, b_hi, hi[i]);
        }
        a0 = a0.add(MR);
        a1 = a1.add(MR);
        b0 = b0.add(NR);
        b1 = b1.add(NR);
    }
    for i in 0..R {
        let row = c.add(i * ldc);
        if first {
            _mm512_storeu_ps(row, lo[i]);
            _mm512_storeu_ps(row.add(NR), hi[i]);
        } else {
            _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), lo[i]));
            _mm512_storeu_ps(
                row.add(NR),
                _mm512_add_ps(_mm512_loadu_ps(row.add(NR)), hi[i]),
            );
        }
    }
}

/// One `mr x nr` tile of the output (at most `MR x NR`): written from the sum over this block
/// of the shared dimension when `first`, else that sum is added to it. A partial tile is summed
/// in full in a scratch tile and its valid part copied, with the same arithmetic.
///
/// # Safety
/// `a` and `b` are packed panels of `kc` steps; `c` is valid for an `mr x nr` tile with row
/// stride `ldc`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    first: bool,
    (mr, nr): (usize, usize),
) {
    if mr == MR && nr == NR {
        return micro(kc, a, b, c, ldc, first);
    }
    let mut sum = [0.0f32; MR * NR];
    micro(kc, a, b, sum.as_mut_ptr(), NR, true);
    for i in 0..mr {
        let row = std::slice::from_raw_parts_mut(c.add(i * ldc), nr);
        for (slot, &s) in row.iter_mut().zip(&sum[i * NR..]) {
            *slot = if first { s } else { *slot + s };
        }
    }
}

/// The micro-kernel: a full `MR x NR` tile, twelve accumulators fed by one broadcast element of
/// `a` and two vectors of `b` per step.
///
/// # Safety
/// As `tile`, for a full tile; the CPU has AVX2 and FMA (it is inlined into `tiles`, which
/// enables them).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn micro(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, first: bool) {
    let mut lo = [_mm256_setzero_ps(); MR];
    let mut hi = [_mm256_setzero_ps(); MR];
    // The tile's rows are read or written once the sum is done: fetch them meanwhile.
    for i in 0..MR {
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc).cast());
        _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + NR - 1).cast());
    }
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let (b_lo, b_hi) = (_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8)));
        for i in 0..MR {
            let ai = _mm256_broadcast_ss(&*a.add(i));
            lo[i] = _mm256_fmadd_ps(ai, b_lo, lo[i]);
            hi[i] = _mm256_fmadd_ps(ai, b_hi, hi[i]);
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    for i in 0..MR {
        let row = c.add(i * ldc);
        if first {
            _mm256_storeu_ps(row, lo[i]);
            _mm256_storeu_ps(row.add(8), hi[i]);
        } else {
            _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), lo[i]));
            _mm256_storeu_ps(
                row.add(8),
                _mm256_add_ps(_mm256_loadu_ps(row.add(8)), hi[i]),
            );
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn tiles(_: (usize, usize, usize), _: &[f32], _: &[f32], _: *mut f32, _: usize, _: bool) {
    unreachable!("`available()` is false off x86_64")
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn pack_a(_: Strided, _: (usize, usize), _: (usize, usize), _: &mut [f32]) {
    unreachable!("`available()` is false off x86_64")
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn pack_b(_: Strided, _: (usize, usize), _: (usize, usize), _: &mut [f32]) {
    unreachable!("`available()` is false off x86_64")
}

#[cfg(test)]
mod tests {
    use super::super::scalar::Real;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// How a test operand is stored.
    #[derive(Clone, Copy, Debug)]
    enum Layout {
        /// Rows in order.
        Rows,
        /// Columns in order (a transposed operand).
        Columns,
        /// Rows in order, three elements of padding after each.
        Padded,
        /// Rows in order, read last row first (a negative row stride).
        RowsReversed,
        /// Columns in order, read last column first (a negative column stride).
        ColumnsReversed,
    }

    const LAYOUTS: [Layout; 5] = [
        Layout::Rows,
        Layout::Columns,
        Layout::Padded,
        Layout::RowsReversed,
        Layout::ColumnsReversed,
    ];

    /// A `rows x cols` operand laid out as `layout`: its storage and the view of it.
    fn operand(rows: usize, cols: usize, layout: Layout, seed: u64) -> (Vec<f32>, Strided) {
        let (r, c) = (rows as isize, cols as isize);
        let (len, start, row_stride, col_stride) = match layout {
            Layout::Rows => (rows * cols, 0, c, 1),
            Layout::Columns => (rows * cols, 0, 1, r),
            Layout::Padded => (rows * (cols + 3), 0, c + 3, 1),
            Layout::RowsReversed => (rows * cols, (r - 1) * c, -c, 1),
            Layout::ColumnsReversed => (rows * cols, (c - 1) * r, 1, -r),
        };
        let data = values(len, seed);
        // SAFETY: `start` is the first element of the view, inside `data`.
        let ptr = unsafe { data.as_ptr().offset(start) };
        let view = Strided {
            ptr,
            row_stride,
            col_stride,
        };
        (data, view)
    }

    /// The product as the kernel is meant to sum it, one element at a time: blocks of the
    /// shared dimension of `depth_block(k)`, each a chain of fused multiply-adds from zero, the
    /// first stored and the others added in order.
    fn model(m: usize, n: usize, k: usize, a: Strided, b: Strided) -> Vec<f32> {
        let block = depth_block(k);
        let mut out = vec![0.0f32; m * n];
        for (e, slot) in out.iter_mut().enumerate() {
            let (i, j) = (e / n, e % n);
            for p0 in (0..k).step_by(block) {
                // SAFETY: i < m, j < n and p < k.
                let sum = (p0..(p0 + block).min(k))
                    .fold(0.0f32, |s, p| unsafe { a.at(i, p).mul_add(b.at(p, j), s) });
                *slot = if p0 == 0 { sum } else { *slot + sum };
            }
        }
        out
    }

    /// Fills this thread's panels, and those of the pool's threads, with NaN, so a product that
    /// read room it had not packed would show it.
    fn poison_panels(pool: &Parallel) {
        let poison = || with_panels(1 << 20, |room| room.fill(f32::NAN));
        poison();
        pool.run(|| rayon::broadcast(|_| poison()));
    }

    /// The product in `tasks` pieces divided `how`, into an output filled with NaN.
    fn product_of(
        (m, n, k): (usize, usize, usize),
        (a, b): (Strided, Strided),
        tasks: usize,
        how: Split,
    ) -> Vec<f32> {
        let pool = Parallel::with_threads(tasks).unwrap();
        poison_panels(&pool);
        let mut out = vec![f32::NAN; m * n];
        let ops = Operands { a, b };
        pool.run(|| split(m, n, k, ops, Output(out.as_mut_ptr()), tasks, how, None));
        out
    }

    fn same_bits(x: &[f32], y: &[f32]) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.to_bits() == b.to_bits())
    }

    #[test]
    fn products_have_the_models_bits_for_ragged_shapes_and_every_layout() {
        if !available() {
            return;
        }
        // Around the tile (6 x 16) and the AVX-512 double tile (12 x 32, and its short forms
        // for the rows left over), the packed blocks (96 rows, 1024 columns, 512 steps) and the
        // eight-step runs of the packs.
        for &(m, n, k) in &[
            (1, 1, 1),
            (30, 50, 40),
            (24, 64, 600),
            (11, 40, 30),
            (7, 64, 70),
            (99, 32, 5),
            (1, 40, 9),
            (40, 1, 17),
            (6, 16, 8),
            (7, 17, 3),
            (5, 15, 300),
            (97, 33, 257),
            (13, 1030, 20),
            (200, 40, 513),
        ] {
            for la in LAYOUTS {
                for lb in LAYOUTS {
                    let (_a, a) = operand(m, k, la, 1);
                    let (_b, b) = operand(k, n, lb, 2);
                    let got = product_of((m, n, k), (a, b), 1, Split::Rows);
                    let want = model(m, n, k, a, b);
                    assert!(same_bits(&got, &want), "{m}x{k}x{n} {la:?} x {lb:?}");
                }
            }
        }
    }

    #[test]
    fn products_stay_close_to_a_sum_in_f64() {
        if !available() {
            return;
        }
        let (m, n, k) = (61, 37, 700);
        let (_a, a) = operand(m, k, Layout::Rows, 3);
        let (_b, b) = operand(k, n, Layout::Columns, 4);
        let got = product_of((m, n, k), (a, b), 1, Split::Rows);
        for (e, &v) in got.iter().enumerate() {
            let (i, j) = (e / n, e % n);
            // SAFETY: i < m, j < n and p < k.
            let terms = (0..k).map(|p| unsafe { a.at(i, p) as f64 * b.at(p, j) as f64 });
            let (exact, size) = terms.fold((0.0, 0.0), |(s, z), t| (s + t, z + t.abs()));
            // The classic bound for a sum of k rounded steps in f32, with room to spare.
            let bound = k as f64 * f32::EPSILON as f64 * size;
            assert!(
                (v as f64 - exact).abs() <= bound,
                "element {e}: {v} vs {exact}"
            );
        }
    }

    #[test]
    fn the_bits_do_not_depend_on_the_split() {
        if !available() {
            return;
        }
        // Tall, wide and square outputs, with two blocks of columns (1040 > NC) and of the
        // shared dimension (1100 > KC_MAX).
        for &(m, n, k) in &[
            (100, 70, 600),
            (61, 130, 257),
            (1100, 20, 40),
            (300, 1040, 1100),
        ] {
            let (_a, a) = operand(m, k, Layout::Rows, 5);
            let (_b, b) = operand(k, n, Layout::Columns, 6);
            let alone = product_of((m, n, k), (a, b), 1, Split::Rows);
            assert!(same_bits(&alone, &model(m, n, k, a, b)));
            for tasks in [2, 3] {
                for how in [Split::Rows, Split::Columns] {
                    let split = product_of((m, n, k), (a, b), tasks, how);
                    assert!(
                        same_bits(&alone, &split),
                        "{m}x{k}x{n}: {tasks} tasks split {how:?} differ"
                    );
                }
            }
        }
    }

    #[test]
    fn the_epilogue_sees_every_row_once_after_its_sum() {
        if !available() {
            return;
        }
        // Split by rows, with one block of columns and with two (1100 > NC), a square output
        // (by rows too), then by columns.
        for &(m, n, k) in &[
            (200, 40, 300),
            (1200, 1100, 20),
            (64, 64, 30),
            (30, 100, 20),
        ] {
            let (_a, a) = operand(m, k, Layout::Rows, 7);
            let (_b, b) = operand(k, n, Layout::Rows, 8);
            let plain = product_of((m, n, k), (a, b), 1, Split::Rows);
            let seen = std::sync::Mutex::new(vec![0u8; m * n]);
            let double = |start: usize, rows: &mut [f32]| {
                let mut seen = seen.lock().unwrap();
                for (i, x) in rows.iter_mut().enumerate() {
                    seen[start + i] += 1;
                    *x *= 2.0;
                }
            };
            let mut out = vec![0.0f32; m * n];
            let pool = Parallel::with_threads(2).unwrap();
            let ran =
                unsafe { product((m, n, k), a, b, out.as_mut_ptr(), &pool, 0, Some(&double)) };
            assert_eq!(ran, m >= n, "{m}x{k}x{n}: the epilogue ran in the product");
            if !ran {
                double(0, &mut out);
            }
            assert!(seen.into_inner().unwrap().iter().all(|&c| c == 1));
            assert!(out.iter().zip(&plain).all(|(x, y)| *x == 2.0 * y));
        }
    }

    #[test]
    fn an_epilogue_may_use_the_kernels_scratch_while_the_panels_are_in_use() {
        if !available() {
            return;
        }
        // The fused kernel's epilogue takes `Real::with_scratch`. Were the panels held in that
        // scratch, the epilogue would get fresh storage (an allocation) on every call.
        let (m, n, k) = (300, 200, 300);
        let (_a, a) = operand(m, k, Layout::Rows, 9);
        let (_b, b) = operand(k, n, Layout::Rows, 10);
        // This thread's scratch, grown to more than any call below needs.
        let home = f32::with_scratch(m * n, |room| room.as_ptr() as usize);
        let (calls, elsewhere) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let add_one = |_: usize, rows: &mut [f32]| {
            calls.fetch_add(1, Relaxed);
            f32::with_scratch(rows.len(), |room| {
                if room.as_ptr() as usize != home {
                    elsewhere.fetch_add(1, Relaxed);
                }
                room.copy_from_slice(rows);
                rows.iter_mut().zip(room).for_each(|(x, r)| *x = *r + 1.0);
            })
        };
        let mut out = vec![0.0f32; m * n];
        // Sequential, so every call runs on this thread.
        let one = Parallel::sequential();
        let ran = unsafe { product((m, n, k), a, b, out.as_mut_ptr(), &one, 1, Some(&add_one)) };
        assert!(ran);
        assert_eq!(
            calls.into_inner(),
            m.div_ceil(MC),
            "one call per block of rows"
        );
        assert_eq!(
            elsewhere.into_inner(),
            0,
            "an epilogue got storage of its own"
        );
        let plain = product_of((m, n, k), (a, b), 1, Split::Rows);
        assert!(out.iter().zip(&plain).all(|(x, y)| *x == y + 1.0));
    }
}
