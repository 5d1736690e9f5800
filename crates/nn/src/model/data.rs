//! Model inputs and targets: ndarray arrays of any rank, viewed as `[samples, ...]` f32 data.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
use rill_graph::Value;

/// Features: an f32 array whose first axis is the sample axis.
pub trait Inputs {
    fn view_dyn(&self) -> ArrayViewD<'_, f32>;
}

impl<D: ndarray::Dimension> Inputs for ndarray::Array<f32, D> {
    fn view_dyn(&self) -> ArrayViewD<'_, f32> {
        self.view().into_dyn()
    }
}

impl<D: ndarray::Dimension> Inputs for ndarray::ArrayView<'_, f32, D> {
    fn view_dyn(&self) -> ArrayViewD<'_, f32> {
        self.view().into_dyn()
    }
}

/// Targets: f32 values, or integer class labels (for sparse losses), first axis samples.
pub trait Targets {
    fn to_f32(&self) -> ArrayD<f32>;
}

impl<D: ndarray::Dimension> Targets for ndarray::Array<f32, D> {
    fn to_f32(&self) -> ArrayD<f32> {
        self.view().into_dyn().to_owned()
    }
}

impl<D: ndarray::Dimension> Targets for ndarray::Array<i64, D> {
    fn to_f32(&self) -> ArrayD<f32> {
        self.mapv(|v| v as f32).into_dyn()
    }
}

impl<D: ndarray::Dimension> Targets for ndarray::Array<i32, D> {
    fn to_f32(&self) -> ArrayD<f32> {
        self.mapv(|v| v as f32).into_dyn()
    }
}

/// Copies rows of `R` elements of `src`, those at `indices`, one after another into `dst`.
fn copy_rows<const R: usize>(dst: &mut [f32], src: &[f32], indices: &[usize]) {
    for (d, &i) in dst.chunks_exact_mut(R).zip(indices) {
        let row: &[f32; R] = src[i * R..(i + 1) * R].try_into().expect("R elements");
        let d: &mut [f32; R] = d.try_into().expect("R elements");
        *d = *row;
    }
}

/// Copies the samples at `indices` into `buffer`, reusing its allocation when the batch has
/// the same size as the last one.
pub(crate) fn gather_into(buffer: &mut Value, data: &ArrayViewD<'_, f32>, indices: &[usize]) {
    let mut shape = data.shape().to_vec();
    shape[0] = indices.len();
    let reuse = matches!(buffer, Value::F32(a) if a.shape() == shape.as_slice());
    if !reuse {
        *buffer = Value::F32(ArrayD::zeros(IxDyn(&shape)));
    }
    let Value::F32(out) = buffer else {
        unreachable!("set above")
    };
    // Rows of a standard-layout array are runs of memory: copy them whole.
    if let (Some(src), Some(dst)) = (data.as_slice(), out.as_slice_mut()) {
        // Short rows (the tutorial's two features, one target) by fixed-size copies: a call to
        // memcpy per row costs more than the row.
        match shape[1..].iter().product::<usize>() {
            1 => copy_rows::<1>(dst, src, indices),
            2 => copy_rows::<2>(dst, src, indices),
            3 => copy_rows::<3>(dst, src, indices),
            4 => copy_rows::<4>(dst, src, indices),
            row => {
                for (d, &i) in dst.chunks_exact_mut(row.max(1)).zip(indices) {
                    d.copy_from_slice(&src[i * row..(i + 1) * row]);
                }
            }
        }
        return;
    }
    for (mut row, &i) in out.axis_iter_mut(Axis(0)).zip(indices) {
        row.assign(&data.index_axis(Axis(0), i));
    }
}
