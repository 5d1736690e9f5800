//! The Keras-style model's weight files and bad input: `save_weights` / `load_weights`
//! round-trip exactly and write atomically; mismatched files, bad data and misuse are clear
//! errors, never panics.

use ndarray::{array, Array1, Array2, Array3};
use rill::nn::{Dense, FitArgs, NnError, Sequential};
use std::path::{Path, PathBuf};

fn model(seed: u64) -> Sequential {
    let mut m = Sequential::default().with_seed(seed);
    m.add(Dense::new(4).input_dim(3).activation("relu"));
    m.add(Dense::new(2).activation("softmax"));
    m.compile("adam", "categorical_crossentropy", &["accuracy"])
        .unwrap();
    m
}

/// A fresh, empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rill-keras-io-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn quiet<'a>() -> FitArgs<'a> {
    FitArgs::default().verbose(0)
}

fn data() -> (Array2<f32>, Array2<f32>) {
    let x = Array2::from_shape_fn((20, 3), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
    let y = Array2::from_shape_fn((20, 2), |(i, j)| ((i % 2) == j) as u8 as f32);
    (x, y)
}

// ---------------------------------------------------------------------------------------------
// Weights

#[test]
fn weights_round_trip_exactly() {
    let dir = scratch("roundtrip");
    let path = dir.join("model.weights.safetensors");
    let mut trained = model(1);
    let (x, y) = data();
    trained.fit(&x, &y, quiet().epochs(3)).unwrap();
    trained.save_weights(&path).unwrap();
    assert_eq!(
        entries(&dir),
        ["model.weights.safetensors"],
        "no temporary files left"
    );

    let fresh = model(2);
    assert_ne!(fresh.get_weights().unwrap(), trained.get_weights().unwrap());
    fresh.load_weights(&path).unwrap();
    let (a, b) = (fresh.get_weights().unwrap(), trained.get_weights().unwrap());
    assert_eq!(a.len(), 4);
    for ((na, wa), (nb, wb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let bits = |w: &ndarray::ArrayD<f32>| w.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(wa), bits(wb), "{na} bit for bit");
    }
    assert_eq!(
        fresh.predict(&x, 32).unwrap(),
        trained.predict(&x, 32).unwrap()
    );

    // Saving again over the file replaces it, still with nothing left behind.
    let other = model(3);
    other.save_weights(&path).unwrap();
    assert_eq!(entries(&dir), ["model.weights.safetensors"]);
    fresh.load_weights(&path).unwrap();
    assert_eq!(fresh.get_weights().unwrap(), other.get_weights().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_save_leaves_the_existing_file_intact() {
    let dir = scratch("failed-save");
    let path = dir.join("w.safetensors");
    let good = model(1);
    good.save_weights(&path).unwrap();
    let before = std::fs::read(&path).unwrap();

    // Saving to a path that is a directory fails and changes nothing.
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let e = model(2).save_weights(&sub).unwrap_err();
    assert!(matches!(e, NnError::Io(_)), "{e:?}");
    assert!(e.to_string().contains("sub"), "{e}");
    assert!(sub.is_dir() && entries(&sub).is_empty());
    assert_eq!(
        entries(&dir),
        ["sub", "w.safetensors"],
        "no temporary files left"
    );

    // A save whose write fails midway (here: the temporary file cannot be created, as a
    // directory squats on its name) leaves the existing file as it was.
    let squat = dir.join(format!(".w.safetensors.tmp{}", std::process::id()));
    std::fs::create_dir(&squat).unwrap();
    assert!(model(3).save_weights(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    std::fs::remove_dir(&squat).unwrap();

    // A save that cannot even start (an uncompiled model) does not touch the file either.
    let mut uncompiled = Sequential::default();
    uncompiled.add(Dense::new(1).input_dim(3));
    assert!(uncompiled.save_weights(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let loaded = model(4);
    loaded.load_weights(&path).unwrap();
    assert_eq!(loaded.get_weights().unwrap(), good.get_weights().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loading_mismatched_weights_says_which() {
    let dir = scratch("mismatch");
    let path = dir.join("w.safetensors");
    model(1).save_weights(&path).unwrap();

    // Shapes differ: dense/kernel is [3, 5] here, [3, 4] in the file.
    let mut wide = Sequential::default();
    wide.add(Dense::new(5).input_dim(3).activation("relu"));
    wide.add(Dense::new(2).activation("softmax"));
    wide.compile("adam", "mse", &[]).unwrap();
    let before = wide.get_weights().unwrap();
    let e = wide.load_weights(&path).unwrap_err().to_string();
    assert!(
        e.contains("dense/kernel") && e.contains("[3, 5]") && e.contains("[3, 4]"),
        "{e}"
    );
    assert!(e.contains("dense_1/kernel"), "{e}");
    assert_eq!(wide.get_weights().unwrap(), before, "nothing loaded");

    // Names differ: a third layer the file does not have, and no bias.
    let mut deeper = Sequential::default();
    deeper.add(Dense::new(4).input_dim(3).activation("relu"));
    deeper.add(Dense::new(2).use_bias(false));
    deeper.add(Dense::new(2).activation("softmax"));
    deeper.compile("adam", "mse", &[]).unwrap();
    let e = deeper.load_weights(&path).unwrap_err().to_string();
    assert!(e.contains("missing weight 'dense_2/kernel'"), "{e}");
    assert!(e.contains("unexpected weight 'dense_1/bias'"), "{e}");

    // Not a weights file at all; a file that does not exist.
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not safetensors").unwrap();
    let e = model(1).load_weights(&junk).unwrap_err().to_string();
    assert!(e.contains("junk.safetensors"), "{e}");
    let e = model(1)
        .load_weights(dir.join("absent.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.safetensors"), "{e}");

    // set_weights checks the same way.
    let m = model(1);
    let mut w = m.get_weights().unwrap();
    w[1].1 = Array1::<f32>::zeros(7).into_dyn();
    let e = m.set_weights(&w).unwrap_err().to_string();
    assert!(e.contains("dense/bias") && e.contains("[7]"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[track_caller]
fn assert_invalid(r: Result<impl std::fmt::Debug, NnError>, words: &[&str]) {
    let e = r.expect_err("should be an error");
    let text = e.to_string();
    for w in words {
        assert!(text.contains(w), "error {text:?} lacks {w:?}");
    }
}

#[test]
fn x_and_y_of_different_lengths() {
    let mut m = model(1);
    let (x, y) = data();
    let short = y.slice(ndarray::s![..15, ..]).to_owned();
    let words = ["x sizes: 20", "y sizes: 15"];
    assert_invalid(m.fit(&x, &short, quiet()), &words);
    assert_invalid(m.evaluate(&x, &short, 32), &words);
    assert_invalid(m.fit(&x, &y, quiet().validation_data(&x, &short)), &words);
}

#[test]
fn a_feature_count_that_does_not_match_input_dim() {
    let mut m = model(1);
    let x4 = Array2::<f32>::zeros((5, 4));
    let y = Array2::<f32>::zeros((5, 2));
    let words = ["expected shape (None, 3)", "[5, 4]"];
    assert_invalid(m.fit(&x4, &y, quiet()), &words);
    assert_invalid(m.evaluate(&x4, &y, 32), &words);
    assert_invalid(m.predict(&x4, 32), &words);
    // The wrong rank too.
    assert_invalid(
        m.predict(&Array3::<f32>::zeros((5, 3, 1)), 32),
        &["(None, 3)"],
    );
    assert_invalid(m.predict(&Array1::<f32>::zeros(3), 32), &["(None, 3)"]);
    // Targets that do not match the output.
    assert_invalid(
        m.fit(
            &Array2::<f32>::zeros((5, 3)),
            &Array2::<f32>::zeros((5, 3)),
            quiet(),
        ),
        &["(None, 2)", "[5, 3]"],
    );
}

#[test]
fn batch_size_zero() {
    let mut m = model(1);
    let (x, y) = data();
    let words = ["batch_size", "0"];
    assert_invalid(m.fit(&x, &y, quiet().batch_size(0)), &words);
    assert_invalid(m.evaluate(&x, &y, 0), &words);
    assert_invalid(m.predict(&x, 0), &words);
}

#[test]
fn an_empty_data_set() {
    let mut m = model(1);
    let (x, y) = (Array2::<f32>::zeros((0, 3)), Array2::<f32>::zeros((0, 2)));
    assert_invalid(m.fit(&x, &y, quiet()), &["empty"]);
    assert_invalid(m.evaluate(&x, &y, 32), &["empty"]);
    assert_invalid(m.predict(&x, 32), &["empty"]);
    let (tx, ty) = data();
    assert_invalid(m.fit(&tx, &ty, quiet().validation_data(&x, &y)), &["empty"]);
}

#[test]
fn validation_split_out_of_range_or_too_small() {
    let mut m = model(1);
    let (x, y) = data();
    for bad in [1.0, 1.5, -0.1, f64::NAN] {
        assert_invalid(
            m.fit(&x, &y, quiet().validation_split(bad)),
            &["validation_split"],
        );
    }
    // Keras refuses a split that leaves no validation (or no training) sample.
    let (x1, y1) = (
        x.slice(ndarray::s![..1, ..]).to_owned(),
        y.slice(ndarray::s![..1, ..]).to_owned(),
    );
    assert_invalid(
        m.fit(&x1, &y1, quiet().validation_split(0.5)),
        &["validation_split"],
    );
    // Any split that leaves a sample on each side is fine: floor(3 * 0.9) = 2 train, 1 validates.
    let (x3, y3) = (
        x.slice(ndarray::s![..3, ..]).to_owned(),
        y.slice(ndarray::s![..3, ..]).to_owned(),
    );
    let h = m.fit(&x3, &y3, quiet().validation_split(0.1)).unwrap();
    assert_eq!(h.get("val_loss").unwrap().len(), 1);
}

#[test]
fn nan_in_the_inputs_with_check_finite() {
    let mut m = Sequential::default();
    m.add(Dense::new(2).input_dim(3));
    m.compile("sgd", "mse", &[]).unwrap();
    let (mut x, mut y) = data();
    x[[3, 1]] = f32::NAN;
    let before = m.get_weights().unwrap();
    assert_invalid(m.fit(&x, &y, quiet().check_finite(true)), &["x", "NaN"]);
    assert_eq!(m.get_weights().unwrap(), before, "refused before any step");
    // Without the check it trains, as Keras does, into NaN.
    let h = m.fit(&x, &y, quiet()).unwrap();
    assert!(h.get("loss").unwrap()[0].is_nan());
    // Infinities, in y, and in the validation data.
    let (x, _) = data();
    y[[0, 0]] = f32::INFINITY;
    assert_invalid(
        m.fit(&x, &y, quiet().check_finite(true)),
        &["y", "infinite"],
    );
    let (mut vx, vy) = data();
    vx[[0, 0]] = f32::NEG_INFINITY;
    let (tx, ty) = data();
    assert_invalid(
        m.fit(
            &tx,
            &ty,
            quiet().check_finite(true).validation_data(&vx, &vy),
        ),
        &["infinite"],
    );
}

#[test]
fn labels_out_of_range_for_the_loss() {
    let x = Array2::<f32>::zeros((4, 3));
    let mut sparse = Sequential::default();
    sparse.add(Dense::new(3).input_dim(3).activation("softmax"));
    sparse
        .compile("sgd", "sparse_categorical_crossentropy", &["accuracy"])
        .unwrap();
    assert_invalid(
        sparse.fit(&x, &array![0i64, 1, 3, 2], quiet()),
        &["label value of 3", "[0, 3)"],
    );
    assert_invalid(
        sparse.fit(&x, &array![0i64, -1, 2, 2], quiet()),
        &["label value of -1"],
    );
    assert_invalid(
        sparse.evaluate(&x, &array![0.0f32, 1.5, 2.0, 2.0], 32),
        &["label value of 1.5"],
    );
    assert_invalid(
        sparse.fit(&x, &Array2::<f32>::zeros((4, 3)), quiet()),
        &["integer labels"],
    );
    sparse.fit(&x, &array![0i32, 1, 2, 2], quiet()).unwrap();

    let mut binary = Sequential::default();
    binary.add(Dense::new(1).input_dim(3).activation("sigmoid"));
    binary
        .compile("sgd", "binary_crossentropy", &["accuracy"])
        .unwrap();
    for bad in [2.0f32, -1.0, f32::NAN] {
        assert_invalid(
            binary.fit(&x, &array![[0.0f32], [1.0], [bad], [0.5]], quiet()),
            &["binary_crossentropy", "[0, 1]"],
        );
    }
    binary
        .fit(&x, &array![[0.0f32], [1.0], [0.25], [0.5]], quiet())
        .unwrap();
}

#[test]
fn using_a_model_before_compile() {
    let mut m = Sequential::default();
    m.add(Dense::new(2).input_dim(3));
    let (x, y) = data();
    let words = ["compile"];
    assert_invalid(m.fit(&x, &y, quiet()), &words);
    assert_invalid(m.evaluate(&x, &y, 32), &words);
    assert_invalid(m.predict(&x, 32), &words);
    assert_invalid(m.get_weights(), &words);
    assert_invalid(m.set_weights(&[]), &words);
    assert_invalid(
        m.save_weights(std::env::temp_dir().join("never.safetensors")),
        &words,
    );
    assert_invalid(m.load_weights("never.safetensors"), &words);
    assert_invalid(m.metrics_names(), &words);
    assert!(m.graph().is_err());
    // A model without an input shape, or without layers, cannot compile.
    let mut no_shape = Sequential::default();
    no_shape.add(Dense::new(2));
    assert_invalid(no_shape.compile("sgd", "mse", &[]), &["input"]);
    assert_invalid(Sequential::default().compile("sgd", "mse", &[]), &["layer"]);
}

#[test]
fn bad_layer_settings() {
    let mut m = Sequential::default();
    m.add(Dense::new(2).input_dim(3));
    m.add(rill::nn::Dropout::new(1.0));
    assert_invalid(m.compile("sgd", "mse", &[]), &["Dropout", "rate"]);
    let mut m = Sequential::default();
    m.add(Dense::new(2).input_dim(3).activation("nope"));
    assert_invalid(
        m.compile("sgd", "mse", &[]),
        &["Unknown activation: 'nope'", "relu"],
    );
}
