//! `DatasetError`: every way loading, parsing or preparing data can fail.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from this crate. Messages name the file, line and column where one applies.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// An embedded data file no longer has the SHA-256 recorded in `data/README.md`.
    #[error(
        "embedded data file `{file}` failed its checksum: SHA-256 is {actual}, expected {expected}"
    )]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
    },

    /// A file could not be read from disk.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A CSV field is not a number.
    #[error("{file}:{line}: column {column}: cannot parse {value:?} as a number")]
    BadNumber {
        file: String,
        /// 1-based line number.
        line: u64,
        /// 1-based column number.
        column: usize,
        value: String,
    },

    /// A CSV row has a different number of fields from the rows before it.
    #[error("{file}:{line}: row has {found} fields, expected {expected}")]
    RaggedRow {
        file: String,
        /// 1-based line number.
        line: u64,
        expected: usize,
        found: usize,
    },

    /// The CSV reader itself failed (for example on invalid UTF-8).
    #[error("{file}: malformed CSV: {message}")]
    Csv { file: String, message: String },

    /// A file parsed as CSV but does not have the layout its loader expects.
    #[error("{file}: {message}")]
    Format { file: String, message: String },

    /// A class label is negative or not below the number of classes.
    #[error("label {label} at index {index} is out of range for {num_classes} classes")]
    LabelOutOfRange {
        index: usize,
        label: i64,
        num_classes: usize,
    },

    /// Arrays that must agree in shape do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),

    /// An argument is outside its allowed range (a batch size of 0, a test fraction of 1.5, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// `Result` with [`DatasetError`].
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;
