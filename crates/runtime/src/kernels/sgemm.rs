//! f32 matrix products on AVX2 + FMA, in the BLIS design: the operands are copied into panels
//! that stay in cache (a block of the right operand in L3, of the left in L2, one panel of each
//! in L1), and a micro-kernel keeps a 6 x 16 tile of the output in twelve registers while it
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
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows of the register tile.
const MR: usize = 6;
/// Columns of the register tile (two AVX vectors).
const NR: usize = 16;
/// Room past the left operand's panels for the two lanes its last store spills (`pack_a`).
const A_SLACK: usize = 8;
/// The longest block of the shared dimension: a 16-column panel of it is 16 KB, half of L1.
const KC_MAX: usize = 256;
/// Rows of the left operand packed at once: 96 x 256 floats is 96 KB, well inside L2.
const MC: usize = 96;
/// Columns of the right operand packed at once: 256 x 1024 floats is 1 MB, in L3.
const NC: usize = 1024;
/// Rows a thread takes at a time in a shared product (`shared_rows`): whole double tiles, few
/// enough that the threads finish within a claim's time of each other (24 beat 48 and 96 at
/// 1024 x 1024 x 1024 on 2 threads, and matched them at 512 x 784 x 512).
const CLAIM: usize = 24;
/// The most floats of right-operand panels a shared product packs for one pass (`shared_rows`):
/// 1 MB, half of a 2 MB L2, so every core keeps its own copy of them in L2 while it runs its
/// claims down the pass (at least one block of steps is packed, whatever its size). Passes of
/// 4 MB (1024 steps of `NC` columns, in L3) ran 3-20% slower on 2 threads at 1024 x 1024 x 1024
/// and 1024 x 784 x 512 on a Xeon whose L3 the host shares.
const SHARED_ROOM: usize = 256 * 1024;

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

/// Storage the tasks of one product write in disjoint parts: the output, or a shared product's
/// packed panels of the right operand (`shared_rows`).
#[derive(Clone, Copy)]
struct Output(*mut f32);
// SAFETY: tasks write disjoint rectangles of the output (see `product`), and `product` returns
// only when every task is done; in `shared_rows` they write disjoint column stripes of the
// panels and read them only after the join that ends the writing.
unsafe impl Send for Output {}
unsafe impl Sync for Output {}

impl Output {
    /// The start of the storage (a method, so closures capture the whole `Sync` wrapper).
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

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
/// that an epilogue runs in the tasks), else into column stripes. A tall output's rows go to
/// whichever task is free, a few at a time, from one shared packing of the right operand
/// (`shared_rows`); a short one's in fixed stripes, each task packing the whole right operand
/// and its own stripe of the left. When the split
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
    } else if m >= 4 * tasks * CLAIM {
        Split::SharedRows
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
    /// Rows taken a few at a time by whichever task is free, from one packed right operand
    /// (`shared_rows`): for outputs tall enough to give each task several claims.
    SharedRows,
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
    if how == Split::SharedRows {
        // SAFETY: `product`'s contract.
        return unsafe { shared_rows((m, n, k), ops, out, tasks, epilogue) };
    }
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

/// The product split by rows over `tasks` threads that share one packed copy of the right
/// operand. For each block of its columns, and of the shared dimension (as many steps at a
/// time as `SHARED_ROOM` holds), the tasks first pack a stripe of columns each, then take
/// `CLAIM` rows at a time until none are left, running each row block down the packed steps.
/// A thread the host holds up takes fewer claims, where with fixed stripes the product would
/// wait for its half; and the right operand is packed once, not once per task. The epilogue
/// runs on each claim's rows in the last pass, when they are final.
///
/// # Safety
/// As `product`; run on the pool whose threads take the tasks.
unsafe fn shared_rows(
    (m, n, k): (usize, usize, usize),
    ops: Operands,
    out: Output,
    tasks: usize,
    epilogue: Option<RowsEpilogue<'_, f32>>,
) {
    let kc_len = depth_block(k);
    // One block of steps' panels, rounded to cache lines so each block starts on one.
    let block_room = (NC.min(n).div_ceil(NR) * NR * kc_len).div_ceil(16) * 16;
    // Blocks of steps per pass: as many as `SHARED_ROOM` holds, but no more than there are.
    let per_pass = (SHARED_ROOM / block_room).clamp(1, k.div_ceil(kc_len));
    let last_jc = (n - 1) / NC * NC;
    with_shared_panels(per_pass * block_room + 16, |room| {
        let skip = room.as_ptr().align_offset(64).min(16);
        let panels = Output(room[skip..].as_mut_ptr());
        for jc in (0..n).step_by(NC) {
            for pass0 in (0..k).step_by(per_pass * kc_len) {
                let pass = Pass {
                    dims: (m, n, k),
                    cols: (jc, NC.min(n - jc)),
                    steps: (pass0, (pass0 + per_pass * kc_len).min(k)),
                    kc_len,
                    block_room,
                    panels,
                };
                let col_stripe = pass.cols.1.div_ceil(tasks).div_ceil(NR) * NR;
                // SAFETY (both): `product`'s contract; the packing ends (the join of the
                // first loop) before any task reads the panels.
                (0..tasks)
                    .into_par_iter()
                    .for_each(|t| unsafe { pass.pack_stripe(ops, t * col_stripe, col_stripe) });
                let next = AtomicUsize::new(0);
                let last = jc == last_jc && pass.steps.1 == k;
                let epilogue = if last { epilogue } else { None };
                (0..tasks)
                    .into_par_iter()
                    .for_each(|_| unsafe { pass.take_claims(ops, out, &next, epilogue) });
            }
        }
    });
}

/// One pass of a shared product (`shared_rows`): a block of the output's columns times a run
/// of blocks of the shared dimension, whose right-operand panels the tasks share.
#[derive(Clone, Copy)]
struct Pass {
    /// The whole product, `m x n` by `k` steps.
    dims: (usize, usize, usize),
    /// The first column and the number of columns of this pass.
    cols: (usize, usize),
    /// The steps of the shared dimension in this pass, `from..to`.
    steps: (usize, usize),
    kc_len: usize,
    /// Room for one block of steps in `panels`.
    block_room: usize,
    panels: Output,
}

impl Pass {
    /// The blocks of steps of this pass: each one's place in the panels, first step and length.
    fn blocks(&self) -> impl Iterator<Item = (usize, usize, usize)> {
        let (kc_len, room, k) = (self.kc_len, self.block_room, self.dims.2);
        (self.steps.0..self.steps.1)
            .step_by(kc_len)
            .enumerate()
            .map(move |(q, p0)| (q * room, p0, kc_len.min(k - p0)))
    }

    /// Packs `width` columns from `from` (a multiple of `NR`) of every block of this pass.
    ///
    /// # Safety
    /// As `product`; no other task packs these columns or reads the panels meanwhile.
    unsafe fn pack_stripe(&self, ops: Operands, from: usize, width: usize) {
        let (jc, nc) = self.cols;
        let (c0, c1) = (from.min(nc), (from + width).min(nc));
        if c0 == c1 {
            return;
        }
        for (offset, p0, kc) in self.blocks() {
            // Panel `jr` of a block lies at `jr * kc`: the stripe's whole panels.
            let at = self.panels.ptr().add(offset + c0 * kc);
            let dst = std::slice::from_raw_parts_mut(at, (c1 - c0).div_ceil(NR) * NR * kc);
            pack_b(ops.b, (p0, kc), (jc + c0, c1 - c0), dst);
        }
    }

    /// Takes `CLAIM` rows at a time from `next` until none are left, each down every block of
    /// this pass, then through `epilogue` when given (the pass that makes them final).
    ///
    /// # Safety
    /// As `product`; the panels are packed; every task of the pass takes its rows from `next`.
    unsafe fn take_claims(
        &self,
        ops: Operands,
        out: Output,
        next: &AtomicUsize,
        epilogue: Option<RowsEpilogue<'_, f32>>,
    ) {
        let ((m, n, _), (jc, nc)) = (self.dims, self.cols);
        let a_room = (CLAIM * self.kc_len + A_SLACK).div_ceil(16) * 16;
        with_panels(a_room + 16, |scratch| {
            let skip = scratch.as_ptr().align_offset(64).min(16);
            let a_panels = &mut scratch[skip..];
            loop {
                let ic = next.fetch_add(CLAIM, Ordering::Relaxed);
                if ic >= m {
                    break;
                }
                let mc = CLAIM.min(m - ic);
                for (offset, p0, kc) in self.blocks() {
                    pack_a(ops.a, (ic, mc), (p0, kc), a_panels);
                    let b_panels =
                        std::slice::from_raw_parts(self.panels.ptr().add(offset), self.block_room);
                    let c = out.ptr().add(ic * n + jc);
                    tiles((mc, nc, kc), a_panels, b_panels, c, n, p0 == 0);
                }
                if let Some(f) = epilogue {
                    f(
                        ic * n,
                        std::slice::from_raw_parts_mut(out.ptr().add(ic * n), mc * n),
                    );
                }
            }
        })
    }
}

/// `with_panels` for the packed right operand a shared product's tasks share: the calling
/// thread's, apart from the panels each task packs its left operand into.
fn with_shared_panels<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    thread_local! {
        static SHARED: super::Rooms<f32> = const { RefCell::new(Vec::new()) };
    }
    super::with_room(&SHARED, len, f)
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
    // Columns in whole panels; a ragged last panel is copied element by element below.
    let whole = nc / NR * NR;
    let at = |p: usize, j: usize| {
        b.ptr
            .offset((p0 + p) as isize * b.row_stride + (j0 + j) as isize * b.col_stride)
    };
    let mut done = 0;
    if b.col_stride == 1 {
        // Rows in order (the usual layout): each row of the block is read once, in order, its
        // pieces of 16 going to their panels.
        for p in 0..kc {
            let src = at(p, 0);
            for jr in (0..whole).step_by(NR) {
                let piece = std::slice::from_raw_parts(src.add(jr), NR);
                dst[jr * kc + p * NR..][..NR].copy_from_slice(piece);
            }
        }
        done = kc;
    } else if b.row_stride == 1 {
        // A transposed operand, each column contiguous: eight steps of eight columns at a
        // time, read down the columns and turned into rows in registers.
        while done + 8 <= kc {
            for j8 in (0..whole).step_by(8) {
                let mut r = [_mm256_setzero_ps(); 8];
                for (l, v) in r.iter_mut().enumerate() {
                    *v = _mm256_loadu_ps(at(done, j8 + l));
                }
                let (jr, lane) = (j8 / NR * NR, j8 % NR);
                for (q, v) in transpose8(r).into_iter().enumerate() {
                    let to = dst.as_mut_ptr().add(jr * kc + (done + q) * NR + lane);
                    _mm256_storeu_ps(to, v);
                }
            }
            done += 8;
        }
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
        // for the rows left over), the packed blocks (96 rows, 1024 columns, 256 steps) and the
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
        // The shared split with two blocks of columns (1040 > NC) and several passes of the
        // shared dimension (1100 steps of 1024 columns > SHARED_ROOM).
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
                for how in [Split::Rows, Split::Columns, Split::SharedRows] {
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
