//! CSV reading into `Array2<f64>`, with errors that point at the file, line and column.

use std::path::Path;

use ndarray::Array2;

use crate::error::{DatasetError, Result};

/// Reads a comma-separated file of numbers into a matrix, one row per record.
///
/// With `has_header`, the first record gives the column names (returned first); without it the
/// returned names are empty. Blank lines are skipped and fields are trimmed. Every row must have
/// as many fields as the header (or, without one, as the first row); a ragged row or a field
/// that does not parse as `f64` is an error naming the file, the line and the column.
pub fn read_csv(path: impl AsRef<Path>, has_header: bool) -> Result<(Vec<String>, Array2<f64>)> {
    read_csv_delimited(path, has_header, b',')
}

/// [`read_csv`] with another field delimiter, such as `b'\t'`, `b';'` or `b' '`.
pub fn read_csv_delimited(
    path: impl AsRef<Path>,
    has_header: bool,
    delimiter: u8,
) -> Result<(Vec<String>, Array2<f64>)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_csv(&bytes, &path.display().to_string(), has_header, delimiter)
}

/// Parses CSV text already in memory; `source` names it in error messages.
pub fn parse_csv(
    bytes: &[u8],
    source: &str,
    has_header: bool,
    delimiter: u8,
) -> Result<(Vec<String>, Array2<f64>)> {
    parse(bytes, source, has_header, delimiter, has_header)
}

/// The parser behind every reader. `header_sets_width` is false for scikit-learn's files,
/// whose first line is `n_samples,n_features,class names…` rather than one name per column.
pub(crate) fn parse(
    bytes: &[u8],
    source: &str,
    has_header: bool,
    delimiter: u8,
    header_sets_width: bool,
) -> Result<(Vec<String>, Array2<f64>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let csv_error = |e: csv::Error| DatasetError::Csv {
        file: source.to_string(),
        message: e.to_string(),
    };

    let mut records = reader.records();
    let mut header = Vec::new();
    let mut width = None;
    if has_header {
        if let Some(record) = records.next() {
            let record = record.map_err(csv_error)?;
            header = record.iter().map(str::to_string).collect();
            if header_sets_width {
                width = Some(header.len());
            }
        }
    }

    let mut values = Vec::new();
    let mut rows = 0usize;
    for record in records {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, |p| p.line());
        let expected = *width.get_or_insert(record.len());
        if record.len() != expected {
            return Err(DatasetError::RaggedRow {
                file: source.to_string(),
                line,
                expected,
                found: record.len(),
            });
        }
        for (i, field) in record.iter().enumerate() {
            let value = field.parse::<f64>().map_err(|_| DatasetError::BadNumber {
                file: source.to_string(),
                line,
                column: i + 1,
                value: field.to_string(),
            })?;
            values.push(value);
        }
        rows += 1;
    }

    let cols = width.unwrap_or(0);
    let data = Array2::from_shape_vec((rows, cols), values).map_err(|e| DatasetError::Format {
        file: source.to_string(),
        message: e.to_string(),
    })?;
    Ok((header, data))
}
