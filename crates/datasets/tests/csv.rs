//! Reading users' CSV files: headers, delimiters, and errors naming file, line and column.

use rill_datasets::{parse_csv, read_csv, read_csv_delimited, DatasetError};

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rill-datasets-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn reads_header_and_values() {
    let path = temp_file("ok.csv", "a, b ,c\n1,2,3\n\n4.5,-6,1e3\n");
    let (header, data) = read_csv(&path, true).unwrap();
    assert_eq!(header, ["a", "b", "c"]);
    assert_eq!(data, ndarray::array![[1.0, 2.0, 3.0], [4.5, -6.0, 1000.0]]);
}

#[test]
fn reads_without_header_and_other_delimiters() {
    let path = temp_file("tab.tsv", "1\t2\n3\t4\n");
    let (header, data) = read_csv_delimited(&path, false, b'\t').unwrap();
    assert!(header.is_empty());
    assert_eq!(data, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
}

#[test]
fn empty_input_gives_empty_matrix() {
    let (header, data) = parse_csv(b"", "empty", true, b',').unwrap();
    assert!(header.is_empty());
    assert_eq!(data.dim(), (0, 0));
    let (header, data) = parse_csv(b"x,y\n", "only-header", true, b',').unwrap();
    assert_eq!(header, ["x", "y"]);
    assert_eq!(data.dim(), (0, 2));
}

#[test]
fn bad_number_names_file_line_and_column() {
    let path = temp_file("bad.csv", "a,b\n1,2\n3,oops\n");
    let err = read_csv(&path, true).unwrap_err();
    match &err {
        DatasetError::BadNumber {
            file,
            line,
            column,
            value,
        } => {
            assert!(file.ends_with("bad.csv"));
            assert_eq!((*line, *column, value.as_str()), (3, 2, "oops"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("bad.csv:3") && msg.contains("column 2") && msg.contains("oops"));
}

#[test]
fn empty_field_is_a_bad_number() {
    let err = parse_csv(b"1,,3\n", "mem", false, b',').unwrap_err();
    assert!(matches!(
        err,
        DatasetError::BadNumber {
            line: 1,
            column: 2,
            ..
        }
    ));
}

#[test]
fn ragged_row_names_line_and_counts() {
    let err = parse_csv(b"a,b,c\n1,2,3\n4,5\n", "ragged.csv", true, b',').unwrap_err();
    match err {
        DatasetError::RaggedRow {
            file,
            line,
            expected,
            found,
        } => assert_eq!(
            (file.as_str(), line, expected, found),
            ("ragged.csv", 3, 3, 2)
        ),
        other => panic!("unexpected error {other:?}"),
    }
    // Without a header the first row sets the width.
    let err = parse_csv(b"1,2\n3,4,5\n", "r2", false, b',').unwrap_err();
    assert!(matches!(
        err,
        DatasetError::RaggedRow {
            line: 2,
            expected: 2,
            found: 3,
            ..
        }
    ));
}

#[test]
fn missing_file_names_the_path() {
    let err = read_csv("/nonexistent/rill/nope.csv", true).unwrap_err();
    assert!(matches!(err, DatasetError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/rill/nope.csv"));
}

#[test]
fn invalid_utf8_is_a_csv_error() {
    let err = parse_csv(b"a,b\n1,\xff\n", "bin.csv", true, b',').unwrap_err();
    assert!(matches!(err, DatasetError::Csv { .. }), "{err:?}");
    assert!(err.to_string().contains("bin.csv"));
}
