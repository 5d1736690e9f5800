//! Feature standardisation and one-hot encoding of class labels.

use ndarray::{Array1, Array2, Axis};

use crate::error::{DatasetError, Result};

/// Per-column standardisation, `(x - mean) / std`, fitted on training data only
/// (scikit-learn's `StandardScaler`: population standard deviation, ddof = 0).
///
/// A column that is constant in the fitted data keeps a scale of 1, so it is centred but not
/// divided, and never turns into NaN or infinity.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    mean: Array1<f64>,
    scale: Array1<f64>,
}

impl Standardizer {
    /// Learns each column's mean and standard deviation. Fails on a matrix with no rows.
    pub fn fit(x: &Array2<f64>) -> Result<Self> {
        let n = x.nrows();
        if n == 0 {
            return Err(DatasetError::InvalidArgument(
                "cannot fit a Standardizer on zero rows".into(),
            ));
        }
        let nf = n as f64;
        let mean = x.sum_axis(Axis(0)) / nf;
        let scale = x
            .axis_iter(Axis(1))
            .zip(mean.iter())
            .map(|(column, &m)| {
                let var = column.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / nf;
                // scikit-learn's test for a column that is constant up to rounding of the mean.
                let eps = f64::EPSILON;
                let bound = nf * eps * var + (nf * m * eps).powi(2);
                if var <= bound {
                    1.0
                } else {
                    var.sqrt()
                }
            })
            .collect();
        Ok(Self { mean, scale })
    }

    /// Fits on `x` and returns the fitted standardizer with `x` transformed.
    pub fn fit_transform(x: &Array2<f64>) -> Result<(Self, Array2<f64>)> {
        let s = Self::fit(x)?;
        let t = s.transform(x)?;
        Ok((s, t))
    }

    /// The fitted column means.
    pub fn mean(&self) -> &Array1<f64> {
        &self.mean
    }

    /// The fitted divisors: each column's standard deviation, or 1 for a constant column.
    pub fn scale(&self) -> &Array1<f64> {
        &self.scale
    }

    /// Applies `(x - mean) / scale` column by column.
    pub fn transform(&self, x: &Array2<f64>) -> Result<Array2<f64>> {
        self.check(x)?;
        Ok((x - &self.mean) / &self.scale)
    }

    /// Undoes [`transform`](Self::transform): `x * scale + mean`.
    pub fn inverse_transform(&self, x: &Array2<f64>) -> Result<Array2<f64>> {
        self.check(x)?;
        Ok(x * &self.scale + &self.mean)
    }

    fn check(&self, x: &Array2<f64>) -> Result<()> {
        if x.ncols() == self.mean.len() {
            Ok(())
        } else {
            Err(DatasetError::ShapeMismatch(format!(
                "Standardizer was fitted on {} columns but got {}",
                self.mean.len(),
                x.ncols()
            )))
        }
    }
}

/// One row per label with a 1.0 in the label's column: shape `(labels.len(), num_classes)`.
/// Fails on a label that is negative or not below `num_classes`.
pub fn one_hot(labels: &Array1<i64>, num_classes: usize) -> Result<Array2<f64>> {
    let mut out = Array2::zeros((labels.len(), num_classes));
    for (index, &label) in labels.iter().enumerate() {
        match usize::try_from(label) {
            Ok(l) if l < num_classes => out[[index, l]] = 1.0,
            _ => {
                return Err(DatasetError::LabelOutOfRange {
                    index,
                    label,
                    num_classes,
                })
            }
        }
    }
    Ok(out)
}
