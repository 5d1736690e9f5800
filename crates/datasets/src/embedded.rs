//! The data sets embedded in the crate (from scikit-learn's wheel) and their loaders.
//!
//! Each file's SHA-256 is checked every time it is loaded, so a corrupted or edited copy fails
//! loudly instead of training on different data. Sources, licenses and checksums are listed in
//! `crates/datasets/data/README.md`.

use ndarray::{s, Array1, Array2, Axis};
use sha2::{Digest, Sha256};

use crate::csv::parse;
use crate::error::{DatasetError, Result};

/// The scikit-learn release the embedded files were taken from.
pub const SCIKIT_LEARN_VERSION: &str = "1.9.1";

/// A data set held in memory: one row of `features` and one entry of `targets` per sample.
///
/// Classification sets use `Dataset<i64>` (labels `0..num_classes`, named by `target_names`);
/// regression sets use `Dataset<f64>` and leave `target_names` empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<T> {
    /// Short name, such as `"iris"`.
    pub name: &'static str,
    /// Shape `(n_samples, n_features)`.
    pub features: Array2<f64>,
    /// Shape `(n_samples,)`.
    pub targets: Array1<T>,
    /// One name per feature column.
    pub feature_names: Vec<String>,
    /// Class names, indexed by label; empty for regression.
    pub target_names: Vec<String>,
    /// scikit-learn's description of the data set (reStructuredText), with its references.
    pub description: &'static str,
}

impl<T> Dataset<T> {
    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.features.nrows()
    }

    /// Number of features (columns).
    pub fn n_features(&self) -> usize {
        self.features.ncols()
    }
}

impl Dataset<i64> {
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.target_names.len()
    }

    /// How many samples carry each label, indexed by label (labels outside
    /// `0..num_classes` are not counted).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &label in &self.targets {
            if let Some(c) = usize::try_from(label).ok().and_then(|l| counts.get_mut(l)) {
                *c += 1;
            }
        }
        counts
    }
}

/// One data file compiled into the crate.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    /// The file's name under `crates/datasets/data/`.
    pub name: &'static str,
    /// Its bytes, exactly as shipped by scikit-learn (decompressed where it shipped gzip).
    pub bytes: &'static [u8],
    /// Its SHA-256, lowercase hex.
    pub sha256: &'static str,
}

impl EmbeddedFile {
    /// The bytes, once their SHA-256 has been checked.
    pub fn verified_bytes(&self) -> Result<&'static [u8]> {
        verify_sha256(self.name, self.bytes, self.sha256)?;
        Ok(self.bytes)
    }
}

macro_rules! embedded {
    ($name:literal, $sha:literal) => {
        EmbeddedFile {
            name: $name,
            bytes: include_bytes!(concat!("../data/", $name)),
            sha256: $sha,
        }
    };
}

const IRIS: EmbeddedFile = embedded!(
    "iris.csv",
    "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449"
);
const BREAST_CANCER: EmbeddedFile = embedded!(
    "breast_cancer.csv",
    "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"
);
const DIGITS: EmbeddedFile = embedded!(
    "digits.csv",
    "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8"
);
const DIABETES_DATA: EmbeddedFile = embedded!(
    "diabetes_data_raw.csv",
    "86badf50b4f9436ddd1e497dc0ae1b93166f8120221ee7dca4634fe849f3be7c"
);
const DIABETES_TARGET: EmbeddedFile = embedded!(
    "diabetes_target.csv",
    "244713a551f62a291a354212d8a048adec6cb1244b2bc44e66a0698f5006d26d"
);

/// Every embedded data file, for inspecting or re-checking provenance.
pub const EMBEDDED_FILES: [EmbeddedFile; 5] =
    [IRIS, BREAST_CANCER, DIGITS, DIABETES_DATA, DIABETES_TARGET];

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fails with [`DatasetError::ChecksumMismatch`] unless `bytes` hash to `expected` (hex, any case).
pub fn verify_sha256(name: &str, bytes: &[u8], expected: &str) -> Result<()> {
    let actual = sha256_hex(bytes);
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(DatasetError::ChecksumMismatch {
            file: name.to_string(),
            expected: expected.to_ascii_lowercase(),
            actual,
        })
    }
}

fn format_error(file: &EmbeddedFile, message: impl Into<String>) -> DatasetError {
    DatasetError::Format {
        file: file.name.to_string(),
        message: message.into(),
    }
}

/// Turns a column of whole numbers into labels in `0..num_classes`.
fn labels(file: &EmbeddedFile, column: Array1<f64>, num_classes: usize) -> Result<Array1<i64>> {
    column
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v >= 0.0 && v < num_classes as f64 {
                Ok(v as i64)
            } else {
                Err(format_error(
                    file,
                    format!("row {i}: target {v} is not a label in 0..{num_classes}"),
                ))
            }
        })
        .collect()
}

/// Splits a matrix whose last column is the target.
fn split_last_column(data: Array2<f64>) -> (Array2<f64>, Array1<f64>) {
    let n = data.ncols();
    let target = data.column(n - 1).to_owned();
    let features = data.slice(s![.., ..n - 1]).to_owned();
    (features, target)
}

/// Reads scikit-learn's `n_samples,n_features,class names…` layout (iris, breast cancer).
fn load_sklearn_csv(
    file: &EmbeddedFile,
    name: &'static str,
    feature_names: &[&str],
    description: &'static str,
) -> Result<Dataset<i64>> {
    let bytes = file.verified_bytes()?;
    let (header, data) = parse(bytes, file.name, true, b',', false)?;
    let count = |i: usize| -> Result<usize> {
        header
            .get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format_error(file, "first line must start with n_samples,n_features"))
    };
    let (n_samples, n_features) = (count(0)?, count(1)?);
    if data.dim() != (n_samples, n_features + 1) || n_features != feature_names.len() {
        return Err(format_error(
            file,
            format!(
                "header promises {n_samples} rows of {n_features} features plus a target, \
                 found shape {:?}",
                data.dim()
            ),
        ));
    }
    let target_names: Vec<String> = header[2..].to_vec();
    let (features, target) = split_last_column(data);
    Ok(Dataset {
        name,
        features,
        targets: labels(file, target, target_names.len())?,
        feature_names: feature_names.iter().map(|s| s.to_string()).collect(),
        target_names,
        description,
    })
}

/// Fisher's iris: 150 samples, 4 features (cm), 3 classes of 50
/// (`setosa`, `versicolor`, `virginica`).
pub fn load_iris() -> Result<Dataset<i64>> {
    load_sklearn_csv(
        &IRIS,
        "iris",
        &[
            "sepal length (cm)",
            "sepal width (cm)",
            "petal length (cm)",
            "petal width (cm)",
        ],
        include_str!("../data/iris.rst"),
    )
}

/// Breast cancer Wisconsin (diagnostic): 569 samples, 30 features, 2 classes
/// (label 0 `malignant`: 212, label 1 `benign`: 357).
pub fn load_breast_cancer() -> Result<Dataset<i64>> {
    const PARTS: [&str; 10] = [
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave points",
        "symmetry",
        "fractal dimension",
    ];
    let names: Vec<String> = (PARTS.iter().map(|p| format!("mean {p}")))
        .chain(PARTS.iter().map(|p| format!("{p} error")))
        .chain(PARTS.iter().map(|p| format!("worst {p}")))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    load_sklearn_csv(
        &BREAST_CANCER,
        "breast_cancer",
        &names,
        include_str!("../data/breast_cancer.rst"),
    )
}

/// Handwritten digits: 1797 images of 8x8 pixels flattened row by row into 64 features
/// (`pixel_{row}_{col}`), each a whole number in `0..=16`; 10 classes, the digits `0`–`9`.
pub fn load_digits() -> Result<Dataset<i64>> {
    let file = &DIGITS;
    let (_, data) = parse(file.verified_bytes()?, file.name, false, b',', false)?;
    if data.ncols() != 65 {
        return Err(format_error(
            file,
            format!(
                "expected 64 pixels and a target per row, found {} columns",
                data.ncols()
            ),
        ));
    }
    let (features, target) = split_last_column(data);
    Ok(Dataset {
        name: "digits",
        features,
        targets: labels(file, target, 10)?,
        feature_names: (0..8)
            .flat_map(|r| (0..8).map(move |c| format!("pixel_{r}_{c}")))
            .collect(),
        target_names: (0..10).map(|d| d.to_string()).collect(),
        description: include_str!("../data/digits.rst"),
    })
}

/// Diabetes, as stored: 442 patients, 10 baseline variables in their original units
/// (age in years, sex coded 1/2, BMI, blood pressure, six serum measurements), and the target,
/// a measure of disease progression one year later (25..=346).
///
/// scikit-learn ships these raw values and scales them when loading; [`load_diabetes`] does
/// the same.
pub fn load_diabetes_raw() -> Result<Dataset<f64>> {
    let (_, features) = parse(
        DIABETES_DATA.verified_bytes()?,
        DIABETES_DATA.name,
        false,
        b' ',
        false,
    )?;
    let (_, target) = parse(
        DIABETES_TARGET.verified_bytes()?,
        DIABETES_TARGET.name,
        false,
        b',',
        false,
    )?;
    if features.dim() != (442, 10) || target.dim() != (442, 1) {
        return Err(format_error(
            &DIABETES_DATA,
            format!(
                "expected 442x10 features and 442 targets, found {:?} and {:?}",
                features.dim(),
                target.dim()
            ),
        ));
    }
    Ok(Dataset {
        name: "diabetes",
        features,
        targets: target.column(0).to_owned(),
        feature_names: [
            "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        target_names: Vec::new(),
        description: include_str!("../data/diabetes.rst"),
    })
}

/// Diabetes as scikit-learn's `load_diabetes()` returns it by default: each feature column
/// mean-centred and divided by its (population) standard deviation times `sqrt(442)`, so that
/// its squares sum to 1. The targets are left as they are.
pub fn load_diabetes() -> Result<Dataset<f64>> {
    let mut data = load_diabetes_raw()?;
    let n = data.n_samples() as f64;
    for mut column in data.features.axis_iter_mut(Axis(1)) {
        let mean = column.sum() / n;
        column.mapv_inplace(|v| v - mean);
        let std = (column.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
        let divisor = if std == 0.0 { 1.0 } else { std } * n.sqrt();
        column.mapv_inplace(|v| v / divisor);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_refuses_a_file_whose_checksum_differs() {
        let tampered = EmbeddedFile {
            sha256: "0000000000000000000000000000000000000000000000000000000000000000",
            ..IRIS
        };
        let err = load_sklearn_csv(&tampered, "iris", &["a", "b", "c", "d"], "").unwrap_err();
        assert!(
            matches!(&err, DatasetError::ChecksumMismatch { file, actual, .. }
                if file == "iris.csv" && actual == IRIS.sha256),
            "{err:?}"
        );
    }

    #[test]
    fn sklearn_header_must_match_the_data() {
        let bytes: &'static [u8] = b"3,2,a,b\n1,2,0\n3,4,1\n";
        // The loader wants a `'static` checksum, as the real ones are.
        let sha256: &'static str = Box::leak(sha256_hex(bytes).into_boxed_str());
        let file = EmbeddedFile {
            name: "short.csv",
            bytes,
            sha256,
        };
        let err = load_sklearn_csv(&file, "short", &["x", "y"], "").unwrap_err();
        assert!(err.to_string().contains("header promises 3 rows"), "{err}");
    }
}
