//! Train/test split, standardisation, one-hot encoding and mini-batches.

use std::collections::HashSet;

use ndarray::{array, Array1, Array2, Axis};
use rill_datasets::{
    load_iris, one_hot, permutation, train_test_split, Batches, DatasetError, Standardizer,
};

#[test]
fn permutation_is_a_seeded_permutation() {
    let p = permutation(1000, 7);
    let mut sorted = p.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    assert_eq!(p, permutation(1000, 7));
    assert_ne!(p, permutation(1000, 8));
    assert_ne!(p, sorted);
    assert!(permutation(0, 1).is_empty());
    assert_eq!(permutation(1, 1), [0]);
}

#[test]
fn permutation_is_value_stable() {
    // Pinned so that a dependency upgrade cannot silently change seeded splits and batches.
    assert_eq!(permutation(10, 42), [1, 5, 9, 6, 3, 2, 0, 8, 4, 7]);
}

#[test]
fn split_sizes_membership_and_determinism() {
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i * 10 + j) as f64);
    let y: Array1<i64> = (0..10).collect();
    let s = train_test_split(&x, &y, 0.25, 3).unwrap();
    // ceil(0.25 * 10) = 3 test rows, as in scikit-learn.
    assert_eq!((s.x_train.nrows(), s.x_test.nrows()), (7, 3));
    assert_eq!((s.y_train.len(), s.y_test.len()), (7, 3));
    // Rows and labels stay paired, and together the parts hold every sample once.
    let mut seen: Vec<i64> = Vec::new();
    for (xs, ys) in [(&s.x_train, &s.y_train), (&s.x_test, &s.y_test)] {
        for (row, &label) in xs.rows().into_iter().zip(ys.iter()) {
            assert_eq!(row[0], (label * 10) as f64);
            seen.push(label);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..10).collect::<Vec<_>>());
    assert_eq!(s, train_test_split(&x, &y, 0.25, 3).unwrap());
    assert_ne!(s.y_test, train_test_split(&x, &y, 0.25, 4).unwrap().y_test);
}

#[test]
fn split_rejects_bad_arguments() {
    let x = Array2::<f64>::zeros((4, 1));
    let y = Array1::<f64>::zeros(4);
    for f in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        assert!(matches!(
            train_test_split(&x, &y, f, 0),
            Err(DatasetError::InvalidArgument(_))
        ));
    }
    // ceil(0.9 * 4) = 4 leaves no training rows.
    assert!(train_test_split(&x, &y, 0.9, 0).is_err());
    let short = Array1::<f64>::zeros(3);
    assert!(matches!(
        train_test_split(&x, &short, 0.5, 0),
        Err(DatasetError::ShapeMismatch(_))
    ));
}

#[test]
fn iris_split_keeps_all_classes_in_total() {
    let iris = load_iris().unwrap();
    let s = train_test_split(&iris.features, &iris.targets, 0.2, 0).unwrap();
    assert_eq!((s.x_train.nrows(), s.x_test.nrows()), (120, 30));
    let mut counts = [0; 3];
    for &l in s.y_train.iter().chain(s.y_test.iter()) {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [50, 50, 50]);
}

#[test]
fn standardizer_values() {
    let x = array![[1.0, 10.0, 5.0], [3.0, 20.0, 5.0], [5.0, 60.0, 5.0]];
    let s = Standardizer::fit(&x).unwrap();
    assert_eq!(s.mean(), &array![3.0, 30.0, 5.0]);
    let sd0 = (8.0f64 / 3.0).sqrt();
    let sd1 = (1400.0f64 / 3.0).sqrt();
    assert!((s.scale()[0] - sd0).abs() < 1e-12);
    assert!((s.scale()[1] - sd1).abs() < 1e-12);
    assert_eq!(s.scale()[2], 1.0, "a constant column is left unscaled");

    let t = s.transform(&x).unwrap();
    assert!(t.iter().all(|v| v.is_finite()));
    for j in 0..2 {
        let c = t.column(j);
        assert!(c.sum().abs() < 1e-12);
        assert!((c.iter().map(|v| v * v).sum::<f64>() / 3.0 - 1.0).abs() < 1e-12);
    }
    assert_eq!(t.column(2).to_vec(), [0.0, 0.0, 0.0]);
    assert!((t[[0, 0]] + 2.0 / sd0).abs() < 1e-12);

    let back = s.inverse_transform(&t).unwrap();
    assert!(back
        .iter()
        .zip(x.iter())
        .all(|(a, b)| (a - b).abs() < 1e-12));

    // Fitted on training data, applied to new data with the training statistics.
    let new = s.transform(&array![[3.0, 30.0, 7.0]]).unwrap();
    assert_eq!(new.row(0).to_vec(), [0.0, 0.0, 2.0]);
}

#[test]
fn standardizer_constant_column_with_inexact_mean_stays_finite() {
    // 0.1 summed ten times is not exactly 1.0, so the mean is off by rounding.
    let x = Array2::from_elem((10, 1), 0.1);
    let (s, t) = Standardizer::fit_transform(&x).unwrap();
    assert_eq!(s.scale()[0], 1.0);
    assert!(t.iter().all(|v| v.abs() < 1e-15));
}

#[test]
fn standardizer_errors() {
    assert!(matches!(
        Standardizer::fit(&Array2::zeros((0, 3))),
        Err(DatasetError::InvalidArgument(_))
    ));
    let s = Standardizer::fit(&Array2::ones((2, 3))).unwrap();
    assert!(matches!(
        s.transform(&Array2::ones((2, 2))),
        Err(DatasetError::ShapeMismatch(_))
    ));
}

#[test]
fn one_hot_encodes_and_rejects_out_of_range() {
    let m = one_hot(&array![2, 0, 1, 2], 3).unwrap();
    assert_eq!(
        m,
        array![
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0]
        ]
    );
    assert_eq!(one_hot(&array![], 4).unwrap().dim(), (0, 4));
    for (labels, bad) in [(array![0, 3], 3), (array![-1, 0], -1)] {
        match one_hot(&labels, 3) {
            Err(DatasetError::LabelOutOfRange {
                label, num_classes, ..
            }) => assert_eq!((label, num_classes), (bad, 3)),
            other => panic!("unexpected {other:?}"),
        }
    }
    let err = one_hot(&array![0, 1, 5], 3).unwrap_err();
    assert!(err.to_string().contains("index 2"));
}

#[test]
fn batches_cover_every_index_once_with_partial_last() {
    for shuffle in [false, true] {
        let batches: Vec<Vec<usize>> = Batches::new(10, 4, shuffle, 9).unwrap().collect();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
        let all: Vec<usize> = batches.concat();
        assert_eq!(all.iter().copied().collect::<HashSet<_>>().len(), 10);
        assert_eq!(all.len(), 10);
        if !shuffle {
            assert_eq!(all, (0..10).collect::<Vec<_>>());
        } else {
            assert_ne!(all, (0..10).collect::<Vec<_>>());
        }
    }
}

#[test]
fn batches_counts_determinism_and_errors() {
    let b = Batches::new(1797, 32, true, 1).unwrap();
    assert_eq!(b.num_batches(), 57);
    assert_eq!(b.len(), 57);
    let first: Vec<_> = b.collect();
    assert_eq!(first.last().unwrap().len(), 1797 - 56 * 32);
    let again: Vec<_> = Batches::new(1797, 32, true, 1).unwrap().collect();
    assert_eq!(first, again);
    let other: Vec<_> = Batches::new(1797, 32, true, 2).unwrap().collect();
    assert_ne!(first, other);

    assert_eq!(Batches::new(8, 4, false, 0).unwrap().count(), 2);
    assert_eq!(
        Batches::new(3, 100, true, 0)
            .unwrap()
            .collect::<Vec<_>>()
            .len(),
        1
    );
    assert_eq!(Batches::new(0, 4, true, 0).unwrap().count(), 0);
    assert!(matches!(
        Batches::new(10, 0, false, 0),
        Err(DatasetError::InvalidArgument(_))
    ));

    let mut it = Batches::new(5, 2, false, 0).unwrap();
    assert_eq!(it.size_hint(), (3, Some(3)));
    it.next();
    assert_eq!(it.len(), 2);
}

#[test]
fn batches_select_rows() {
    let x = Array2::from_shape_fn((5, 2), |(i, _)| i as f64);
    for idx in Batches::new(5, 2, true, 3).unwrap() {
        let xb = x.select(Axis(0), &idx);
        for (row, &i) in xb.rows().into_iter().zip(&idx) {
            assert_eq!(row[0], i as f64);
        }
    }
}
