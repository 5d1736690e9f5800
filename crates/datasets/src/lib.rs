//! rill-datasets: small real data sets embedded in the crate, CSV reading, and data preparation.
//!
//! The data sets are the ones scikit-learn ships in its wheel, copied byte for byte, each
//! checked against its SHA-256 when loaded: [`load_iris`], [`load_breast_cancer`],
//! [`load_digits`], [`load_diabetes`] (and [`load_diabetes_raw`]). Their sources, licenses and
//! checksums are in `crates/datasets/data/README.md`.
//!
//! Preparing data for training:
//!
//! ```
//! use ndarray::Axis;
//! use rill_datasets::{load_iris, one_hot, train_test_split, Batches, Standardizer};
//!
//! let iris = load_iris()?;
//! let split = train_test_split(&iris.features, &iris.targets, 0.2, 42)?;
//! let (scaler, x_train) = Standardizer::fit_transform(&split.x_train)?;
//! let x_test = scaler.transform(&split.x_test)?;
//! let y_train = one_hot(&split.y_train, iris.num_classes())?;
//! assert_eq!((x_train.nrows(), x_test.nrows()), (120, 30));
//!
//! for epoch in 0..2 {
//!     for indices in Batches::new(x_train.nrows(), 32, true, epoch)? {
//!         let xb = x_train.select(Axis(0), &indices);
//!         let yb = y_train.select(Axis(0), &indices);
//!         assert_eq!((xb.ncols(), yb.ncols()), (4, 3)); // the last batch has 24 rows
//!     }
//! }
//! # Ok::<(), rill_datasets::DatasetError>(())
//! ```

mod batches;
mod csv;
mod embedded;
mod error;
mod preprocess;
mod split;

pub use batches::Batches;
pub use csv::{parse_csv, read_csv, read_csv_delimited};
pub use embedded::{
    load_breast_cancer, load_diabetes, load_diabetes_raw, load_digits, load_iris, sha256_hex,
    verify_sha256, Dataset, EmbeddedFile, EMBEDDED_FILES, SCIKIT_LEARN_VERSION,
};
pub use error::{DatasetError, Result};
pub use preprocess::{one_hot, Standardizer};
pub use split::{permutation, train_test_split, Split};
