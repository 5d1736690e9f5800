//! Matrix products over the last two axes, with transpose flags and broadcast batch axes.

use super::elementwise::broadcast_shape;
use super::{KResult, OutBuf};
use crate::parallel::Parallel;
use ndarray::{
    linalg::general_mat_mul, Array2, ArrayD, ArrayView2, Axis, Ix2, IxDyn, LinalgScalar,
};
use rayon::prelude::*;
use rill_graph::{Element, Value};
use std::any::TypeId;

pub fn matmul(
    a: &Value,
    b: &Value,
    ta: bool,
    tb: bool,
    parallel: &Parallel,
    out: &mut OutBuf,
) -> KResult {
    Ok(match (a, b) {
        (Value::F32(x), Value::F32(y)) if x.ndim() == 2 && y.ndim() == 2 => {
            Value::F32(fast_2d(x, y, ta, tb, parallel, out)?)
        }
        (Value::F64(x), Value::F64(y)) if x.ndim() == 2 && y.ndim() == 2 => {
            Value::F64(fast_2d(x, y, ta, tb, parallel, out)?)
        }
        (Value::F32(x), Value::F32(y)) => Value::F32(batched(x, y, ta, tb)?),
        (Value::F64(x), Value::F64(y)) => Value::F64(batched(x, y, ta, tb)?),
        (Value::I32(x), Value::I32(y)) => Value::I32(batched(x, y, ta, tb)?),
        (Value::I64(x), Value::I64(y)) => Value::I64(batched(x, y, ta, tb)?),
        _ => {
            return Err(format!(
                "MatMul is not defined for {} and {}",
                a.dtype(),
                b.dtype()
            ))
        }
    })
}

/// Raw pointers handed to the pool for the duration of one product (`parallel.run` returns
/// only when the product is done, so the arrays outlive every use).
#[derive(Clone, Copy)]
struct SendPtr<T>(*const T);
#[derive(Clone, Copy)]
struct SendMutPtr<T>(*mut T);
// SAFETY: see above; the pointees are read (SendPtr) or written by gemm alone (SendMutPtr).
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Send for SendMutPtr<T> {}
// SAFETY: shared by the panels of one product, which read the operands and write disjoint
// parts of the output (see `gemm_into`).
unsafe impl<T> Sync for SendPtr<T> {}
unsafe impl<T> Sync for SendMutPtr<T> {}

/// Products of at least this many multiply-adds are cut into panels split across the pool.
pub(crate) const PARALLEL_FLOPS: usize = 1 << 21;

/// Panels of a big product through the `gemm` crate: enough for the pool to balance, few
/// enough that each packs its operands once (fixed, so results do not depend on the thread
/// count).
const PANELS: usize = 4;

/// The narrowest panel, in rows or columns.
const MIN_PANEL: usize = 32;

/// A 2-D float product: f32 through rill's own kernels (`narrow`, `sgemm`) where the CPU has
/// AVX2 and FMA, else the `gemm` crate (AVX-512 / AVX2 / portable, chosen at run time).
/// Transposes are strides, so no operand is copied first.
fn fast_2d<T: LinalgScalar + Element + num_traits::Zero + Send + Sync>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    ta: bool,
    tb: bool,
    parallel: &Parallel,
    buf: &mut OutBuf,
) -> Result<ArrayD<T>, String> {
    let (m, n) = product_shape(a, b, ta, tb)?;
    let mut out = buf.vec(super::element_count(&[m, n])?);
    gemm_into(a, b, ta, tb, parallel, &mut out, None)?;
    Ok(super::array(&[m, n], out))
}

/// The `[m, n]` of a 2-D product, or TF's error when the inner dimensions differ.
pub(super) fn product_shape<T>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    ta: bool,
    tb: bool,
) -> Result<(usize, usize), String> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() != 2 || sb.len() != 2 {
        return Err(format!("MatMul needs rank 2 here, got {sa:?} and {sb:?}"));
    }
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let (k2, n) = if tb { (sb[1], sb[0]) } else { (sb[0], sb[1]) };
    if k != k2 {
        return Err(format!("Matrix size-incompatible: In[0]: {sa:?}, In[1]: {sb:?} (inner dimensions {k} and {k2})"));
    }
    Ok((m, n))
}

/// What runs on rows of a product once gemm wrote them: `(index of the first element, rows)`.
pub(super) type RowsEpilogue<'a, T> = &'a (dyn Fn(usize, &mut [T]) + Sync);

/// Writes the product of two 2-D float matrices into `out` (cleared first), row-major. When
/// the product is computed in panels of rows, `epilogue` runs on each panel right after it (on
/// the same thread, while it is in cache) and the result is `true`; otherwise the caller runs
/// it (`false`).
pub(super) fn gemm_into<T: LinalgScalar + num_traits::Zero + Send + Sync + 'static>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    ta: bool,
    tb: bool,
    parallel: &Parallel,
    out: &mut Vec<T>,
    epilogue: Option<RowsEpilogue<'_, T>>,
) -> Result<bool, String> {
    let (m, n) = product_shape(a, b, ta, tb)?;
    let k = if ta { a.shape()[0] } else { a.shape()[1] };
    super::element_count(&[m, n])?;
    out.clear();
    if m == 0 || n == 0 || k == 0 {
        out.resize(m * n, T::zero());
        return Ok(false);
    }
    out.reserve_exact(m * n);
    // Element strides of the operands as stored; a transpose swaps row and column strides.
    let (ars, acs) = (a.strides()[0], a.strides()[1]);
    let (brs, bcs) = (b.strides()[0], b.strides()[1]);
    let (lhs_rs, lhs_cs) = if ta { (acs, ars) } else { (ars, acs) };
    let (rhs_rs, rhs_cs) = if tb { (bcs, brs) } else { (brs, bcs) };
    // gemm overwrites every element of the output (it does not read it), so the storage is
    // handed over uninitialised and its length set once the product is written.
    let (a_ptr, b_ptr, out_ptr) = (
        SendPtr(a.as_ptr()),
        SendPtr(b.as_ptr()),
        SendMutPtr(out.spare_capacity_mut().as_mut_ptr().cast::<T>()),
    );
    if let Some(share) = narrow_share::<T>(m, n, k, parallel) {
        // Rows `from..to` of the product, then of the epilogue, on whichever thread runs them:
        // every element of a narrow product depends on its row and the shape alone, so the
        // pieces compute the bits the whole would.
        let rows = |from: usize, to: usize| {
            let (a_ptr, b_ptr, out_ptr) = (a_ptr, b_ptr, out_ptr);
            // SAFETY: rows `from..to` of the m x k operand `a` (its pointer and strides as
            // ndarray lays them out) and of the m x n output, whose capacity holds m * n; the
            // pieces write disjoint rows, and each share below returns once all have run.
            unsafe {
                let ran = narrow_f32(
                    (to - from, n, k),
                    (a_ptr.0.offset(from as isize * lhs_rs), lhs_rs, lhs_cs),
                    (b_ptr.0, rhs_rs, rhs_cs),
                    out_ptr.0.add(from * n),
                );
                assert!(ran, "fewer rows of a narrow product are narrow too");
                if let Some(f) = epilogue {
                    f(
                        from * n,
                        std::slice::from_raw_parts_mut(out_ptr.0.add(from * n), (to - from) * n),
                    );
                }
            }
        };
        match share {
            NarrowShare::Whole => rows(0, m),
            NarrowShare::Pair(half) => parallel.pair(|| rows(0, half), || rows(half, m)),
            NarrowShare::Pool(piece) => parallel.run(|| {
                (0..m.div_ceil(piece))
                    .into_par_iter()
                    .for_each(|i| rows(i * piece, ((i + 1) * piece).min(m)))
            }),
        }
        // SAFETY: the pieces wrote all m * n elements, within the capacity.
        unsafe { out.set_len(m * n) };
        return Ok(epilogue.is_some());
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() && super::sgemm::available() {
        let strided = |ptr: *const T, row_stride, col_stride| super::narrow::Strided {
            ptr: ptr.cast::<f32>(),
            row_stride,
            col_stride,
        };
        // SAFETY: T is f32 (same type id), and the CPU has AVX2 and FMA; the pointers and
        // strides (of either sign) describe `a` and `b` exactly as ndarray lays them out
        // (m x k and k x n, checked above, none empty); `out`'s capacity holds m x n elements
        // and aliases neither operand.
        let ran = unsafe {
            super::sgemm::product(
                (m, n, k),
                strided(a_ptr.0, lhs_rs, lhs_cs),
                strided(b_ptr.0, rhs_rs, rhs_cs),
                out_ptr.0.cast::<f32>(),
                parallel,
                PARALLEL_FLOPS,
                epilogue.map(|f| as_f32_epilogue(f)),
            )
        };
        // SAFETY: the product wrote all m * n elements, within the capacity.
        unsafe { out.set_len(m * n) };
        return Ok(ran);
    }
    // Big products are cut into panels along the longer side of the output, each an
    // independent single-threaded gemm; the panels depend on the shape alone, so every thread
    // count computes each element the same way.
    let panels = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_FLOPS {
        PANELS.min(m.max(n) / MIN_PANEL).max(1)
    } else {
        1
    };
    let split_rows = m >= n;
    let len = if split_rows { m } else { n };
    let panel = |i: usize| {
        let (from, to) = (len * i / panels, len * (i + 1) / panels);
        let (pm, pn) = if split_rows {
            (to - from, n)
        } else {
            (m, to - from)
        };
        // SAFETY: the pointers and strides describe `a` and `b` exactly as ndarray lays them
        // out (m x k and k x n elements, checked above) and `out`'s capacity holds m x n
        // row-major elements; panel `i` reads rows (or columns) `from..to` of the operand it
        // splits and writes only its own rows (or columns) of `out`, so no two panels write
        // the same element; all panels finish before this function returns.
        unsafe {
            let (a_ptr, b_ptr, out_ptr) = (a_ptr, b_ptr, out_ptr);
            let (lhs, rhs, dst) = if split_rows {
                (
                    a_ptr.0.offset(from as isize * lhs_rs),
                    b_ptr.0,
                    out_ptr.0.add(from * n),
                )
            } else {
                (
                    a_ptr.0,
                    b_ptr.0.offset(from as isize * rhs_cs),
                    out_ptr.0.add(from),
                )
            };
            gemm::gemm(
                pm,
                pn,
                k,
                dst,
                1,
                n as isize,
                false,
                lhs,
                lhs_cs,
                lhs_rs,
                rhs,
                rhs_cs,
                rhs_rs,
                T::zero(),
                T::one(),
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
            if let (true, Some(f)) = (split_rows, epilogue) {
                // SAFETY: gemm has just written rows `from..to` (all their elements); only
                // this panel touches them.
                let rows = std::slice::from_raw_parts_mut(dst, (to - from) * n);
                f(from * n, rows);
            }
        }
    };
    if panels > 1 && parallel.threads() > 1 {
        parallel.run(|| (0..panels).into_par_iter().for_each(panel));
    } else {
        (0..panels).for_each(panel);
    }
    // SAFETY: gemm wrote all m * n elements (k > 0, dst not read), within the capacity.
    unsafe { out.set_len(m * n) };
    Ok(split_rows && epilogue.is_some())
}

/// How a narrow f32 product (`narrow::takes`) and its epilogue share out their rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NarrowShare {
    /// All on the calling thread.
    Whole,
    /// Rows before the given one here, the rest on the companion (`Parallel::pair`).
    Pair(usize),
    /// Pieces of the given number of rows over the pool.
    Pool(usize),
}

/// How a narrow f32 product splits its rows, or `None` when the narrow kernel does not take
/// it. Splits are at multiples of 16 rows, for products of at least `PAIR_WORK` (multiply-adds
/// plus `EPILOGUE_WORK` an element). Off the pool, a product goes half to the companion
/// (a hand-over costs ~0.15 µs, entering the pool 14-18 µs), unless it is big enough
/// (`PARALLEL_FLOPS`) to want more than two threads of a bigger pool. On one of the pool's
/// threads (a step that runs there), products of at least `POOL_WORK` go over the pool.
fn narrow_share<T: 'static>(
    m: usize,
    n: usize,
    k: usize,
    parallel: &Parallel,
) -> Option<NarrowShare> {
    if TypeId::of::<T>() != TypeId::of::<f32>() || !super::narrow::takes(n, k) {
        return None;
    }
    let work = m
        .saturating_mul(n)
        .saturating_mul(k.saturating_add(EPILOGUE_WORK));
    let threads = parallel.threads();
    let pieces = |count: usize| NarrowShare::Pool((m / count).div_ceil(16).max(1) * 16);
    Some(if m < 32 || work < PAIR_WORK || threads == 1 {
        NarrowShare::Whole
    } else if parallel.thread_index().is_some() {
        if work >= POOL_WORK {
            pieces(threads)
        } else {
            NarrowShare::Whole
        }
    } else if threads > 2 && work >= PARALLEL_FLOPS {
        pieces(threads)
    } else if parallel.pairs() {
        NarrowShare::Pair((m / 2).div_ceil(16) * 16)
    } else {
        NarrowShare::Whole
    })
}

/// The smallest narrow product `narrow_share` splits: W1's 500 x 2 x 10 layer with its sigmoid
/// took 2.5 µs alone.
const PAIR_WORK: usize = 1 << 13;

/// The smallest narrow product `narrow_share` splits over the pool from one of its threads,
/// whose tasks cost a few microseconds (W2's 128 x 512 x 10 layer took 16 µs alone).
const POOL_WORK: usize = 1 << 18;

/// What an epilogue element counts as, in multiply-adds (a sigmoid's exp and divide).
const EPILOGUE_WORK: usize = 8;

/// The epilogue of a product of f32s, as the f32 kernels take it.
///
/// # Safety
/// T is f32.
unsafe fn as_f32_epilogue<'e, T: 'static>(f: RowsEpilogue<'e, T>) -> RowsEpilogue<'e, f32> {
    debug_assert_eq!(TypeId::of::<T>(), TypeId::of::<f32>());
    // SAFETY: T is f32, so the two types are one; the lifetime is kept.
    std::mem::transmute::<RowsEpilogue<'e, T>, RowsEpilogue<'e, f32>>(f)
}

/// Runs an f32 product with a narrow output through `narrow::product` when it takes it
/// (see there); whether it did. The operands are `(pointer, row stride, column stride)`.
fn narrow_f32<T: 'static>(
    (m, n, k): (usize, usize, usize),
    (a, a_rs, a_cs): (*const T, isize, isize),
    (b, b_rs, b_cs): (*const T, isize, isize),
    dst: *mut T,
) -> bool {
    if TypeId::of::<T>() != TypeId::of::<f32>() || !super::narrow::takes(n, k) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::narrow::{product, Strided};
        use super::scalar::Real;
        let strided = |ptr: *const T, row_stride, col_stride| Strided {
            ptr: ptr.cast::<f32>(),
            row_stride,
            col_stride,
        };
        let (a, b) = (strided(a, a_rs, a_cs), strided(b, b_rs, b_cs));
        f32::with_scratch(16 * k, |packed| {
            // SAFETY: T is f32 (same type id); `takes` held, so the CPU has AVX2 and FMA; the
            // caller's pointers and strides describe the m x k and k x n operands and an
            // output with room for m * n elements; `packed` has 16 * k.
            unsafe { product((m, n, k), a, b, dst.cast::<f32>(), packed) }
        });
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (a, a_rs, a_cs, b, b_rs, b_cs, dst);
        false
    }
}

fn matrix<T>(a: ArrayView2<'_, T>, transpose: bool) -> ArrayView2<'_, T> {
    if transpose {
        a.reversed_axes()
    } else {
        a
    }
}

fn batched<T: LinalgScalar>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    ta: bool,
    tb: bool,
) -> Result<ArrayD<T>, String> {
    let (ra, rb) = (a.ndim(), b.ndim());
    if ra < 2 || rb < 2 {
        return Err(format!(
            "MatMul needs rank >= 2, got {:?} and {:?}",
            a.shape(),
            b.shape()
        ));
    }
    let (sa, sb) = (a.shape(), b.shape());
    let (m, k) = if ta {
        (sa[ra - 1], sa[ra - 2])
    } else {
        (sa[ra - 2], sa[ra - 1])
    };
    let (k2, n) = if tb {
        (sb[rb - 1], sb[rb - 2])
    } else {
        (sb[rb - 2], sb[rb - 1])
    };
    if k != k2 {
        return Err(format!(
            "Matrix size-incompatible: In[0]: {sa:?}, In[1]: {sb:?} (inner dimensions {k} and {k2})"
        ));
    }
    if ra == 2 && rb == 2 {
        let x = matrix(a.view().into_dimensionality::<Ix2>().expect("rank 2"), ta);
        let y = matrix(b.view().into_dimensionality::<Ix2>().expect("rank 2"), tb);
        return Ok(x.dot(&y).into_dyn());
    }
    let batch = broadcast_shape(&sa[..ra - 2], &sb[..rb - 2])?;
    let count: usize = batch.iter().product();
    let full = |s: &[usize], r: usize| -> Vec<usize> {
        batch.iter().chain(&s[r - 2..]).copied().collect()
    };
    let av = a
        .broadcast(IxDyn(&full(sa, ra)))
        .ok_or("batch axes do not broadcast")?;
    let bv = b
        .broadcast(IxDyn(&full(sb, rb)))
        .ok_or("batch axes do not broadcast")?;
    let a3 = av
        .to_shape((count, sa[ra - 2], sa[ra - 1]))
        .map_err(|e| e.to_string())?;
    let b3 = bv
        .to_shape((count, sb[rb - 2], sb[rb - 1]))
        .map_err(|e| e.to_string())?;
    let mut out = ndarray::Array3::<T>::zeros((count, m, n));
    for (i, mut o) in out.axis_iter_mut(Axis(0)).enumerate() {
        let x = matrix(a3.index_axis(Axis(0), i), ta);
        let y = matrix(b3.index_axis(Axis(0), i), tb);
        general_mat_mul(T::one(), &x, &y, T::zero(), &mut o);
    }
    let mut shape = batch;
    shape.extend([m, n]);
    out.into_shape_with_order(IxDyn(&shape))
        .map_err(|e| e.to_string())
}

/// Plain 2-D product (used by tests as a reference).
pub fn mat2<T: LinalgScalar>(a: &Array2<T>, b: &Array2<T>) -> Array2<T> {
    a.dot(b)
}

#[cfg(test)]
mod tests {
    use super::{gemm_into, narrow_share, NarrowShare};
    use crate::parallel::Parallel;
    use ndarray::{ArrayD, IxDyn};

    fn matrix(rows: usize, cols: usize, seed: u32) -> ArrayD<f32> {
        let mut s = seed;
        ArrayD::from_shape_fn(IxDyn(&[rows, cols]), |_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
    }

    /// Narrow products split in two row halves between the caller and the companion (W1's
    /// layers and their input gradients), with an epilogue that depends on where each element
    /// lies: the same bits as on one thread, for plain and transposed operands.
    #[test]
    fn paired_narrow_products_match_one_thread_bit_for_bit() {
        let two = Parallel::with_threads(2).unwrap();
        let one = Parallel::sequential();
        // An awake companion, so the halves below are shared, not all taken back.
        crate::parallel::wake_companion(&two);
        let epilogue = |start: usize, rows: &mut [f32]| {
            for (i, r) in rows.iter_mut().enumerate() {
                *r = (*r + (start + i) as f32 * 1e-3).tanh();
            }
        };
        for (m, k, n) in [
            (500, 10, 10),
            (500, 2, 10),
            (500, 10, 1),
            (500, 1, 10),
            (40, 6, 16),
        ] {
            assert!(
                matches!(
                    narrow_share::<f32>(m, n, k, &two),
                    Some(NarrowShare::Pair(_))
                ),
                "{m}x{k}x{n} pairs"
            );
            assert_eq!(narrow_share::<f32>(m, n, k, &one), Some(NarrowShare::Whole));
            assert_eq!(narrow_share::<f64>(m, n, k, &two), None);
            for ta in [false, true] {
                let a = if ta { matrix(k, m, 1) } else { matrix(m, k, 1) };
                let b = matrix(k, n, 2);
                for with_epilogue in [false, true] {
                    let f: Option<super::RowsEpilogue<'_, f32>> =
                        with_epilogue.then_some(&epilogue as _);
                    let (mut paired, mut alone) = (Vec::new(), Vec::new());
                    let ran = gemm_into(&a, &b, ta, false, &two, &mut paired, f).unwrap();
                    assert_eq!(ran, with_epilogue, "the halves ran the epilogue");
                    let ran_alone = gemm_into(&a, &b, ta, false, &one, &mut alone, f).unwrap();
                    if with_epilogue && !ran_alone {
                        epilogue(0, &mut alone);
                    }
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&paired), bits(&alone), "{m}x{k}x{n} ta {ta}");
                }
            }
        }
    }

    /// Big narrow products (a classifier's last layer, W2's 1024 x 512 x 10) split over the
    /// pool, from one of its threads and from outside it with more than two threads: the same
    /// bits as on one thread, the epilogue once on every row.
    #[test]
    fn narrow_products_over_the_pool_match_one_thread_bit_for_bit() {
        let one = Parallel::sequential();
        let epilogue = |start: usize, rows: &mut [f32]| {
            for (i, r) in rows.iter_mut().enumerate() {
                *r = (*r + (start + i) as f32 * 1e-3).tanh();
            }
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (threads, m, k, n) in [(2, 1024, 512, 10), (2, 200, 300, 16), (3, 1000, 700, 3)] {
            let pool = Parallel::with_threads(threads).unwrap();
            let from_outside = narrow_share::<f32>(m, n, k, &pool);
            let from_inside = pool.run(|| narrow_share::<f32>(m, n, k, &pool));
            assert!(
                matches!(from_inside, Some(NarrowShare::Pool(_))),
                "{from_inside:?}"
            );
            if threads > 2 {
                assert!(matches!(from_outside, Some(NarrowShare::Pool(_))));
            }
            for ta in [false, true] {
                let a = if ta { matrix(k, m, 3) } else { matrix(m, k, 3) };
                let b = matrix(k, n, 4);
                let mut alone = Vec::new();
                let ran_alone = gemm_into(&a, &b, ta, false, &one, &mut alone, None).unwrap();
                assert!(!ran_alone);
                epilogue(0, &mut alone);
                let mut inside = Vec::new();
                let ran = pool.run(|| {
                    gemm_into(&a, &b, ta, false, &pool, &mut inside, Some(&epilogue)).unwrap()
                });
                assert!(ran, "the pieces ran the epilogue");
                assert_eq!(
                    bits(&inside),
                    bits(&alone),
                    "{m}x{k}x{n} ta {ta} in the pool"
                );
                let mut outside = Vec::new();
                assert!(
                    gemm_into(&a, &b, ta, false, &pool, &mut outside, Some(&epilogue)).unwrap()
                );
                assert_eq!(bits(&outside), bits(&alone), "{m}x{k}x{n} ta {ta} outside");
            }
        }
    }
}
