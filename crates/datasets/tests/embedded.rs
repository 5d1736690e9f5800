//! The embedded data sets: shapes, known values, class balance and checksum checking.

use rill_datasets::{
    load_breast_cancer, load_diabetes, load_diabetes_raw, load_digits, load_iris, sha256_hex,
    verify_sha256, DatasetError, EMBEDDED_FILES,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn iris_shape_classes_and_first_row() {
    let d = load_iris().unwrap();
    assert_eq!(d.features.dim(), (150, 4));
    assert_eq!(d.targets.len(), 150);
    assert_eq!(d.target_names, ["setosa", "versicolor", "virginica"]);
    assert_eq!(d.class_counts(), [50, 50, 50]);
    assert_eq!(d.features.row(0).to_vec(), [5.1, 3.5, 1.4, 0.2]);
    assert_eq!(d.targets[0], 0);
    assert_eq!(d.targets[149], 2);
    assert_eq!(d.feature_names[2], "petal length (cm)");
    // Column means as printed in the data set's description.
    let means = d.features.mean_axis(ndarray::Axis(0)).unwrap();
    for (m, want) in means.iter().zip([5.84, 3.05, 3.76, 1.20]) {
        assert!(close(*m, want, 0.01), "{m} vs {want}");
    }
    assert!(d.description.contains("Fisher"));
}

#[test]
fn breast_cancer_shape_and_class_counts() {
    let d = load_breast_cancer().unwrap();
    assert_eq!(d.features.dim(), (569, 30));
    assert_eq!(d.target_names, ["malignant", "benign"]);
    assert_eq!(d.class_counts(), [212, 357]);
    assert_eq!(d.features[[0, 0]], 17.99);
    assert_eq!(d.targets[0], 0);
    assert_eq!(d.feature_names.len(), 30);
    assert_eq!(d.feature_names[0], "mean radius");
    assert_eq!(d.feature_names[10], "radius error");
    assert_eq!(d.feature_names[29], "worst fractal dimension");
    let max_area = d.features.column(3).fold(f64::MIN, |a, &b| a.max(b));
    assert_eq!(max_area, 2501.0);
}

#[test]
fn digits_shape_pixel_range_and_classes() {
    let d = load_digits().unwrap();
    assert_eq!(d.features.dim(), (1797, 64));
    assert_eq!(d.num_classes(), 10);
    assert_eq!(
        d.class_counts(),
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert!(d
        .features
        .iter()
        .all(|&v| v.fract() == 0.0 && (0.0..=16.0).contains(&v)));
    assert_eq!(d.features.fold(0.0f64, |a, &b| a.max(b)), 16.0);
    assert_eq!(
        d.features
            .row(0)
            .iter()
            .take(8)
            .copied()
            .collect::<Vec<_>>(),
        [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(d.targets[0], 0);
    assert_eq!(d.feature_names[9], "pixel_1_1");
    assert_eq!(d.target_names[7], "7");
}

#[test]
fn diabetes_raw_values() {
    let d = load_diabetes_raw().unwrap();
    assert_eq!(d.features.dim(), (442, 10));
    assert_eq!(
        d.features.row(0).to_vec(),
        [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    assert_eq!(
        d.targets.iter().take(3).copied().collect::<Vec<_>>(),
        [151.0, 75.0, 141.0]
    );
    let min = d.targets.fold(f64::MAX, |a, &b| a.min(b));
    let max = d.targets.fold(f64::MIN, |a, &b| a.max(b));
    assert_eq!((min, max), (25.0, 346.0));
    assert!(d.target_names.is_empty());
}

#[test]
fn diabetes_scaled_matches_scikit_learn() {
    let d = load_diabetes().unwrap();
    assert_eq!(d.features.dim(), (442, 10));
    // scikit-learn's load_diabetes().data[0]
    let want = [
        0.03807591,
        0.05068012,
        0.06169621,
        0.02187239,
        -0.0442235,
        -0.03482076,
        -0.04340085,
        -0.00259226,
        0.01990749,
        -0.01764613,
    ];
    for (got, want) in d.features.row(0).iter().zip(want) {
        assert!(close(*got, want, 1e-8), "{got} vs {want}");
    }
    for column in d.features.columns() {
        assert!(close(column.sum(), 0.0, 1e-12));
        assert!(close(column.iter().map(|v| v * v).sum::<f64>(), 1.0, 1e-12));
    }
    assert_eq!(d.targets[0], 151.0);
}

#[test]
fn every_embedded_file_matches_its_recorded_checksum() {
    for f in EMBEDDED_FILES {
        assert_eq!(sha256_hex(f.bytes), f.sha256, "{}", f.name);
        assert!(f.verified_bytes().is_ok());
    }
}

#[test]
fn checksum_mismatch_is_detected() {
    let iris = EMBEDDED_FILES[0];
    let mut bytes = iris.bytes.to_vec();
    bytes[20] ^= 1;
    let err = verify_sha256(iris.name, &bytes, iris.sha256).unwrap_err();
    match &err {
        DatasetError::ChecksumMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, "iris.csv");
            assert_eq!(expected, iris.sha256);
            assert_ne!(actual, iris.sha256);
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(err.to_string().contains("iris.csv"));
    // Upper-case hex is accepted.
    verify_sha256("x", iris.bytes, &iris.sha256.to_uppercase()).unwrap();
}

#[test]
fn sha256_of_known_input() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
