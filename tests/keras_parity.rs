//! Keras parity: with Keras's initial weights and shuffle off, rill's `Sequential` trains the
//! tutorial's model (SGD, MSE, batch 500, 100 epochs) and an Adam classifier to the same
//! per-epoch losses (1e-5 relative) and final weights (1e-4) as Keras. Fixture made by
//! `tools/reference/keras_parity.py`.

use ndarray::ArrayD;
use rill::nn::{Adam, Dense, FitArgs, Sequential};
use serde_json::Value as Json;

#[path = "common/fixture.rs"]
mod fixture;

fn fixture() -> Json {
    fixture::load("keras_parity.json")
}

/// A fixture array as the f32 the model computes in.
fn array(j: &Json) -> ArrayD<f32> {
    fixture::array(j).mapv(|v| v as f32)
}

/// Keras's weights, renamed from `sequential/dense/kernel` to rill's `dense/kernel`.
fn keras_weights(j: &Json) -> Vec<(String, ArrayD<f32>)> {
    j.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.trim_start_matches("sequential/").to_string(), array(v)))
        .collect()
}

fn assert_rel(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1e-3),
            "{what}[{i}]: rill {g} vs Keras {w}"
        );
    }
}

fn check(
    case: &Json,
    mut model: Sequential,
    optimizer: rill::nn::model::OptimizerSpec,
    loss: &str,
    metrics: &[&str],
    epochs: usize,
    batch: usize,
) {
    model.compile(optimizer, loss, metrics).unwrap();
    model
        .set_weights(&keras_weights(&case["initial_weights"]))
        .unwrap();
    let (x, y, vx, vy) = (
        array(&case["x"]),
        array(&case["y"]),
        array(&case["val_x"]),
        array(&case["val_y"]),
    );
    let h = model
        .fit(
            &x,
            &y,
            FitArgs::default()
                .epochs(epochs)
                .batch_size(batch)
                .shuffle(false)
                .verbose(0)
                .validation_data(&vx, &vy),
        )
        .unwrap();
    for (key, values) in case["history"].as_object().unwrap() {
        let want: Vec<f64> = values
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got = h
            .get(key)
            .unwrap_or_else(|| panic!("rill's history has no '{key}'"));
        assert_rel(key, got, &want, 1e-5);
    }
    let finals = keras_weights(&case["final_weights"]);
    for (name, got) in model.get_weights().unwrap() {
        let want = &finals.iter().find(|(n, _)| *n == name).unwrap().1;
        let got: Vec<f64> = got.iter().map(|v| *v as f64).collect();
        let want: Vec<f64> = want.iter().map(|v| *v as f64).collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{name}[{i}]: rill {g} vs Keras {w}"
            );
        }
    }
    let want: Vec<f64> = case["evaluate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_rel(
        "evaluate",
        &model.evaluate(&vx, &vy, 32).unwrap(),
        &want,
        1e-5,
    );
    let head = array(&case["predict_head"]);
    let p = model.predict(&vx, 32).unwrap();
    for (i, (g, w)) in p.iter().zip(head.iter()).enumerate() {
        assert!((g - w).abs() <= 1e-5, "predict[{i}]: rill {g} vs Keras {w}");
    }
}

#[test]
fn tutorial_model_trains_exactly_as_keras() {
    let f = fixture();
    // The tutorial's model, built from a list.
    let model = Sequential::new(vec![
        Box::new(Dense::new(10).input_dim(2).activation("sigmoid")),
        Box::new(Dense::new(10).activation("sigmoid")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ]);
    check(
        &f["tutorial_sgd_mse"],
        model,
        "SGD".into(),
        "mean_squared_error",
        &[],
        100,
        500,
    );
}

#[test]
fn adam_classifier_trains_exactly_as_keras() {
    let f = fixture();
    let mut model = Sequential::default();
    model.add(Dense::new(8).input_dim(4).activation("relu"));
    model.add(Dense::new(3).activation("softmax"));
    check(
        &f["adam_categorical"],
        model,
        Adam::new(0.01).into(),
        "categorical_crossentropy",
        &["accuracy"],
        20,
        32,
    );
}
