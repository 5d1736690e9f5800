//! The Keras-style `Sequential` model against Keras's documented behaviour: construction and
//! layer names, every layer and activation, summary and DOT, compile by name or value, `fit`'s
//! defaults and semantics (batches, validation, shuffling, output, history), callbacks,
//! `evaluate` and `predict`. Values are checked against numbers computed by hand here.

use ndarray::{array, Array1, Array2, Array3, ArrayD, Axis};
use rill::nn::{
    Activation, ActivationLayer, Adam, BatchNormalization, Callback, CallbackContext, Dense,
    Dropout, EarlyStopping, FitArgs, Flatten, GradientDescent, Regularizer, Result, Sequential,
};
use rill::Initializer;

// ---------------------------------------------------------------------------------------------
// Data helpers

/// A small deterministic generator of uniforms in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `n` points in [-1, 1]^2.
fn points(n: usize, seed: u64) -> Array2<f32> {
    let mut r = Lcg(seed);
    Array2::from_shape_fn((n, 2), |_| r.next() * 2.0 - 1.0)
}

/// Linearly separable binary labels: 1 when x0 + x1 > 0.
fn binary_labels(x: &Array2<f32>) -> Array2<f32> {
    Array2::from_shape_fn((x.nrows(), 1), |(i, _)| {
        (x[[i, 0]] + x[[i, 1]] > 0.0) as u8 as f32
    })
}

/// Three classes cut by the signs of x0 and x1: 0 (x0 < 0), 1 (x0 >= 0, x1 < 0), 2 otherwise.
fn class_labels(x: &Array2<f32>) -> Array1<i64> {
    Array1::from_shape_fn(x.nrows(), |i| match (x[[i, 0]] < 0.0, x[[i, 1]] < 0.0) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    })
}

fn one_hot(labels: &Array1<i64>, classes: usize) -> Array2<f32> {
    Array2::from_shape_fn((labels.len(), classes), |(i, c)| {
        (labels[i] as usize == c) as u8 as f32
    })
}

fn quiet<'a>() -> FitArgs<'a> {
    FitArgs::default().verbose(0)
}

fn weight(model: &Sequential, name: &str) -> ArrayD<f32> {
    model
        .get_weights()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no weight {name}"))
        .1
}

fn set_weight(model: &Sequential, name: &str, value: ArrayD<f32>) {
    let mut w = model.get_weights().unwrap();
    w.iter_mut().find(|(n, _)| n == name).unwrap().1 = value;
    model.set_weights(&w).unwrap();
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1.0)
}

#[track_caller]
fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(close(got, want, tol), "{what}: got {got}, want {want}");
}

fn tutorial_model() -> Sequential {
    Sequential::new(vec![
        Box::new(Dense::new(10).input_dim(2).activation("sigmoid")),
        Box::new(Dense::new(10).activation("sigmoid")),
        Box::new(Dense::new(1).activation("sigmoid")),
    ])
}

// ---------------------------------------------------------------------------------------------
// Construction and names

#[test]
fn list_and_add_build_the_same_model_with_keras_names() {
    let mut from_list = tutorial_model().with_seed(3);
    let mut added = Sequential::default().with_seed(3);
    added.add(Dense::new(10).input_dim(2).activation("sigmoid"));
    added.add(Dense::new(10).activation("sigmoid"));
    added.add(Dense::new(1).activation("sigmoid"));
    for m in [&mut from_list, &mut added] {
        m.compile("sgd", "mse", &[]).unwrap();
    }
    let names: Vec<String> = added
        .get_weights()
        .unwrap()
        .into_iter()
        .map(|w| w.0)
        .collect();
    assert_eq!(
        names,
        [
            "dense/kernel",
            "dense/bias",
            "dense_1/kernel",
            "dense_1/bias",
            "dense_2/kernel",
            "dense_2/bias"
        ]
    );
    // Same seed, same layers: the same initial weights whichever way the model was built.
    assert_eq!(
        from_list.get_weights().unwrap(),
        added.get_weights().unwrap()
    );

    // Each layer type is numbered on its own: dense, activation, dense_1, activation_1, ...
    let mut mixed = Sequential::default();
    mixed.add(Dense::new(4).input_dim(3));
    mixed.add(ActivationLayer::new("relu"));
    mixed.add(Dropout::new(0.1));
    mixed.add(Dense::new(2));
    mixed.add(ActivationLayer::new("softmax"));
    mixed.add(BatchNormalization::new());
    let s = mixed.summary().unwrap();
    for name in [
        " dense (Dense) ",
        " activation (Activation) ",
        " dropout (Dropout) ",
        " dense_1 (Dense) ",
        " activation_1 (Activation) ",
        " batch_normalization (Batc",
    ] {
        assert!(s.contains(name), "summary lacks {name:?}:\n{s}");
    }
}

#[test]
fn layers_added_after_compile_take_effect_at_the_next_compile() {
    let mut m = Sequential::default();
    m.add(Dense::new(3).input_dim(2));
    m.compile("sgd", "mse", &[]).unwrap();
    m.add(Dense::new(1));
    assert!(m.predict(&points(4, 1), 32).is_err(), "needs a new compile");
    m.compile("sgd", "mse", &[]).unwrap();
    assert_eq!(m.predict(&points(4, 1), 32).unwrap().shape(), &[4, 1]);
}

// ---------------------------------------------------------------------------------------------
// Layers

#[test]
fn dense_has_keras_defaults() {
    let d = Dense::new(7);
    assert_eq!(d.units, 7);
    assert!(d.use_bias);
    assert_eq!(d.input_dim, None);
    assert_eq!(d.activation.resolve().unwrap(), Activation::Linear);
    assert_eq!(
        d.kernel_initializer,
        Initializer::GlorotUniform { seed: None }
    );
    assert_eq!(d.bias_initializer, Initializer::Zeros);
    assert_eq!(d.kernel_regularizer, None);

    let mut m = Sequential::default().with_seed(11);
    m.add(Dense::new(30).input_dim(20));
    m.compile("sgd", "mse", &[]).unwrap();
    let k = weight(&m, "dense/kernel");
    assert_eq!(k.shape(), &[20, 30]);
    // glorot_uniform: U[-l, l], l = sqrt(6 / (fan_in + fan_out)).
    let l = (6.0f32 / 50.0).sqrt();
    assert!(k.iter().all(|v| v.abs() <= l));
    assert!(k.iter().any(|v| v.abs() > 0.8 * l), "spread over the range");
    let mean = k.mean().unwrap();
    assert!(mean.abs() < 0.05, "centred: mean {mean}");
    assert!(weight(&m, "dense/bias").iter().all(|&b| b == 0.0));
}

#[test]
fn dense_without_bias_with_initializers_and_regularizers() {
    let mut m = Sequential::default();
    m.add(
        Dense::new(2)
            .input_dim(3)
            .use_bias(false)
            .kernel_initializer(Initializer::Constant(0.5)),
    );
    m.compile("sgd", "mse", &[]).unwrap();
    let w = m.get_weights().unwrap();
    assert_eq!(w.len(), 1, "no bias");
    assert!(w[0].1.iter().all(|&v| v == 0.5));
    let p = m.predict(&array![[1.0f32, 2.0, 3.0]], 32).unwrap();
    assert_eq!(p, array![[3.0f32, 3.0]].into_dyn());

    // The penalties join the loss: l2 * sum(k^2) + l1 * sum|b|.
    let mut m = Sequential::default();
    m.add(
        Dense::new(1)
            .input_dim(2)
            .kernel_initializer(Initializer::Constant(0.5))
            .bias_initializer(Initializer::Constant(0.1))
            .kernel_regularizer(Regularizer::L2(0.01))
            .bias_regularizer(Regularizer::L1(0.1)),
    );
    m.compile("sgd", "mse", &["mse"]).unwrap();
    let (x, y) = (array![[1.0f32, 2.0]], array![[0.0f32]]);
    let ev = m.evaluate(&x, &y, 32).unwrap();
    let mse = 1.6f64 * 1.6;
    assert_close("loss", ev[0], mse + 0.01 * 0.5 + 0.1 * 0.1, 1e-6);
    assert_close("mse metric (no penalty)", ev[1], mse, 1e-6);
    // One SGD step (lr 0.01) on the bias: the data gradient 2 * (pred - y) plus the L1
    // penalty's l1 * sign(b).
    m.fit(&x, &y, quiet()).unwrap();
    let b = weight(&m, "dense/bias")[0] as f64;
    assert_close(
        "bias after one step",
        b,
        0.1 - 0.01 * (2.0 * 1.6 + 0.1),
        1e-5,
    );
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

#[test]
fn activations_by_name_and_by_value() {
    let x = array![[-2.0f32, -0.5, 0.0, 0.5, 3.0]];
    let xs: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let softmax = {
        let m = xs.iter().cloned().fold(f64::MIN, f64::max);
        let e: Vec<f64> = xs.iter().map(|v| (v - m).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|v| v / s).collect::<Vec<_>>()
    };
    let cases: Vec<(&str, Activation, Vec<f64>)> = vec![
        ("linear", Activation::Linear, xs.clone()),
        (
            "sigmoid",
            Activation::Sigmoid,
            xs.iter().map(|&v| sigmoid(v)).collect(),
        ),
        (
            "tanh",
            Activation::Tanh,
            xs.iter().map(|v| v.tanh()).collect(),
        ),
        (
            "relu",
            Activation::Relu,
            xs.iter().map(|v| v.max(0.0)).collect(),
        ),
        (
            "leaky_relu",
            Activation::LeakyRelu { alpha: 0.2 },
            xs.iter()
                .map(|&v| if v > 0.0 { v } else { 0.2 * v })
                .collect(),
        ),
        (
            "elu",
            Activation::Elu { alpha: 1.0 },
            xs.iter()
                .map(|&v| if v > 0.0 { v } else { v.exp_m1() })
                .collect(),
        ),
        ("softmax", Activation::Softmax, softmax),
        (
            "softplus",
            Activation::Softplus,
            xs.iter().map(|v| v.exp().ln_1p()).collect(),
        ),
    ];
    for (name, value, want) in cases {
        assert_eq!(Activation::from_name(name).unwrap(), value);
        assert_eq!(value.name(), name);
        let identity = Array2::<f32>::eye(5).into_dyn();
        let build = |dense: Dense, extra: Option<ActivationLayer>| {
            let mut m = Sequential::default();
            m.add(dense.input_dim(5).use_bias(false));
            if let Some(a) = extra {
                m.add(a);
            }
            m.compile("sgd", "mse", &[]).unwrap();
            set_weight(&m, "dense/kernel", identity.clone());
            m.predict(&x, 32).unwrap()
        };
        let outs = [
            build(Dense::new(5).activation(name), None),
            build(Dense::new(5).activation(value), None),
            build(Dense::new(5), Some(ActivationLayer::new(name))),
            build(Dense::new(5), Some(ActivationLayer::new(value))),
        ];
        for out in outs {
            for (g, w) in out.iter().zip(&want) {
                assert!(
                    (*g as f64 - w).abs() < 1e-6,
                    "{name}: got {out:?}, want {want:?}"
                );
            }
        }
    }
}

/// Flatten -> Dropout(rate) -> Dense(identity, no bias), trained with learning rate 0, so the
/// training-mode output is dropout(x) and the weights never change.
fn dropout_model(features: usize, rate: f64) -> Sequential {
    let mut m = Sequential::default().with_seed(5);
    m.add(Flatten::new().input_shape(&[features]));
    m.add(Dropout::new(rate));
    m.add(Dense::new(features).use_bias(false));
    m.compile(GradientDescent::new(0.0), "mse", &["mae"])
        .unwrap();
    set_weight(&m, "dense/kernel", Array2::<f32>::eye(features).into_dyn());
    m
}

#[test]
fn dropout_is_active_in_training_only() {
    let (n, f) = (8, 500);
    let x = Array2::<f32>::ones((n, f));
    let y = Array2::<f32>::zeros((n, f));
    let m = dropout_model(f, 0.5);
    // Inference: the identity, the same every time.
    assert_eq!(m.predict(&x, 32).unwrap(), x.clone().into_dyn());
    assert_eq!(m.predict(&x, 3).unwrap(), x.clone().into_dyn());
    let ev = m.evaluate(&x, &y, 32).unwrap();
    assert_eq!(ev, vec![1.0, 1.0]);
    assert_eq!(m.evaluate(&x, &y, 5).unwrap(), ev);

    // Training: each output is 0 (dropped) or 1 / (1 - rate) = 2 (kept, scaled). For values in
    // {0, 2}, v^2 = 2v, so mse = 2 * mae exactly; mae is the kept fraction times 2, about 1.
    let mut m = m;
    let h = m.fit(&x, &y, quiet().epochs(3).batch_size(n)).unwrap();
    for (mse, mae) in h.get("loss").unwrap().iter().zip(h.get("mae").unwrap()) {
        assert_close("mse = 2 mae", *mse, 2.0 * mae, 1e-6);
        assert!((0.85..1.15).contains(mae), "kept fraction {}", mae / 2.0);
    }
    // Different masks on different epochs.
    let maes = h.get("mae").unwrap();
    assert!(maes[0] != maes[1] || maes[1] != maes[2]);

    // Rate 0: the identity in training too.
    let mut m0 = dropout_model(f, 0.0);
    let h0 = m0.fit(&x, &y, quiet().batch_size(n)).unwrap();
    assert_eq!(h0.get("loss").unwrap(), &[1.0]);
}

/// Keras's moving-average update, per feature, for one batch.
fn bn_step(mm: &mut [f64], mv: &mut [f64], batch: &[[f64; 2]]) {
    for j in 0..2 {
        let n = batch.len() as f64;
        let mean = batch.iter().map(|r| r[j]).sum::<f64>() / n;
        let var = batch.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n;
        mm[j] = 0.99 * mm[j] + 0.01 * mean;
        mv[j] = 0.99 * mv[j] + 0.01 * var;
    }
}

#[test]
fn batch_normalization_uses_batch_statistics_in_training_and_moving_averages_after() {
    let rows = [[1.0, 0.0], [2.0, 0.0], [3.0, 10.0], [4.0, 10.0]];
    let x = Array2::from_shape_fn((4, 2), |(i, j)| rows[i][j] as f32);
    let y = Array2::<f32>::zeros((4, 2));
    let mut m = Sequential::default();
    m.add(Flatten::new().input_shape(&[2]));
    m.add(BatchNormalization::new());
    // Learning rate 0: gamma and beta stay 1 and 0, only the moving statistics move.
    m.compile(GradientDescent::new(0.0), "mse", &[]).unwrap();
    let eps: f64 = 1e-3;

    // Before training the moving statistics are 0 and 1: inference is x / sqrt(1 + eps).
    let p = m.predict(&x, 32).unwrap();
    for (g, w) in p.iter().zip(x.iter()) {
        assert_close(
            "initial inference",
            *g as f64,
            *w as f64 / (1.0 + eps).sqrt(),
            1e-6,
        );
    }

    // One step on the whole batch: the loss uses the batch statistics (mean 2.5 and 5, biased
    // variance 1.25 and 25), so against zeros it is the mean of var / (var + eps).
    let h = m.fit(&x, &y, quiet().batch_size(4).shuffle(false)).unwrap();
    let want_loss = (1.25 / (1.25 + eps) + 25.0 / (25.0 + eps)) / 2.0;
    assert_close("training loss", h.get("loss").unwrap()[0], want_loss, 1e-5);

    let (mut mm, mut mv) = (vec![0.0; 2], vec![1.0; 2]);
    bn_step(&mut mm, &mut mv, &rows);
    assert_close("moving mean", mm[0], 0.025, 1e-12);
    assert_close("moving variance", mv[1], 0.99 + 0.25, 1e-12);
    let check = |m: &Sequential, mm: &[f64], mv: &[f64]| {
        let got_mm = weight(m, "batch_normalization/moving_mean");
        let got_mv = weight(m, "batch_normalization/moving_variance");
        for j in 0..2 {
            assert_close("moving_mean", got_mm[j] as f64, mm[j], 1e-5);
            assert_close("moving_variance", got_mv[j] as f64, mv[j], 1e-5);
        }
        // Inference uses the moving statistics, whatever the batch.
        let p = m.predict(&x, 3).unwrap();
        for i in 0..4 {
            for j in 0..2 {
                let want = (rows[i][j] - mm[j]) / (mv[j] + eps).sqrt();
                assert_close("inference", p[[i, j]] as f64, want, 1e-5);
            }
        }
    };
    check(&m, &mm, &mv);
    assert_eq!(
        weight(&m, "batch_normalization/gamma"),
        Array1::<f32>::ones(2).into_dyn()
    );

    // Another epoch in batches of two: two updates, in order.
    m.fit(&x, &y, quiet().batch_size(2).shuffle(false)).unwrap();
    bn_step(&mut mm, &mut mv, &rows[..2]);
    bn_step(&mut mm, &mut mv, &rows[2..]);
    check(&m, &mm, &mv);

    // evaluate is inference too: it leaves the moving statistics alone.
    m.evaluate(&x, &y, 1).unwrap();
    check(&m, &mm, &mv);
}

#[test]
fn batch_normalization_survives_a_second_compile() {
    let mut m = Sequential::default();
    m.add(Flatten::new().input_shape(&[2]));
    m.add(BatchNormalization::new());
    m.compile(GradientDescent::new(0.0), "mse", &[]).unwrap();
    m.compile(GradientDescent::new(0.0), "mse", &[]).unwrap();
    let names: Vec<String> = m.get_weights().unwrap().into_iter().map(|w| w.0).collect();
    assert_eq!(
        names,
        [
            "batch_normalization/gamma",
            "batch_normalization/beta",
            "batch_normalization/moving_mean",
            "batch_normalization/moving_variance"
        ]
    );
    let x = array![[1.0f32, 0.0], [3.0, 10.0]];
    m.fit(&x, &Array2::<f32>::zeros((2, 2)), quiet()).unwrap();
    let mm = weight(&m, "batch_normalization/moving_mean");
    assert_close("moving mean", mm[0] as f64, 0.02, 1e-5);
    assert_close("moving mean", mm[1] as f64, 0.05, 1e-5);
}

#[test]
fn flatten_collapses_all_but_the_batch_axis() {
    let mut m = Sequential::default();
    m.add(Flatten::new().input_shape(&[2, 3]));
    m.add(Dense::new(1).use_bias(false));
    m.compile("sgd", "mse", &[]).unwrap();
    set_weight(
        &m,
        "dense/kernel",
        array![[1.0f32], [2.0], [3.0], [4.0], [5.0], [6.0]].into_dyn(),
    );
    let x = Array3::from_shape_fn((2, 2, 3), |(n, i, j)| (n * 6 + i * 3 + j) as f32);
    let p = m.predict(&x, 32).unwrap();
    // Row-major: sample 0 is 0..6, sample 1 is 6..12.
    let want0: f32 = (0..6).map(|k| k as f32 * (k + 1) as f32).sum();
    let want1: f32 = (0..6).map(|k| (k + 6) as f32 * (k + 1) as f32).sum();
    assert_eq!(p, array![[want0], [want1]].into_dyn());
    assert!(m.summary().unwrap().contains("(None, 6)"));
}

// ---------------------------------------------------------------------------------------------
// summary and DOT

#[test]
fn summary_prints_the_keras_table_for_the_tutorial_model() {
    let want = [
        "Model: \"sequential\"",
        "_________________________________________________________________",
        " Layer (type)                Output Shape              Param #   ",
        "=================================================================",
        " dense (Dense)               (None, 10)                30        ",
        "                                                                 ",
        " dense_1 (Dense)             (None, 10)                110       ",
        "                                                                 ",
        " dense_2 (Dense)             (None, 1)                 11        ",
        "                                                                 ",
        "=================================================================",
        "Total params: 151 (604.00 Byte)",
        "Trainable params: 151 (604.00 Byte)",
        "Non-trainable params: 0 (0.00 Byte)",
        "_________________________________________________________________",
    ]
    .join("\n")
        + "\n";
    let mut m = tutorial_model();
    // Keras can summarise a built model before compile: the input shape fixes every count.
    assert_eq!(m.summary().unwrap(), want);
    m.compile("sgd", "mse", &[]).unwrap();
    assert_eq!(m.summary().unwrap(), want);

    // Batch normalization: 4 params per feature, half of them not trainable.
    let mut bn = Sequential::default();
    bn.add(Dense::new(3).input_dim(2));
    bn.add(BatchNormalization::new());
    let s = bn.summary().unwrap();
    assert!(s.contains("Total params: 21 (84.00 Byte)"), "{s}");
    assert!(s.contains("Trainable params: 15 (60.00 Byte)"), "{s}");
    assert!(s.contains("Non-trainable params: 6 (24.00 Byte)"), "{s}");
}

#[test]
fn the_compiled_graph_dumps_as_dot() {
    let mut m = tutorial_model();
    assert!(m.graph().is_err(), "no graph before compile");
    m.compile("adam", "binary_crossentropy", &["accuracy"])
        .unwrap();
    let dot = m.graph().unwrap().to_dot();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    for part in [
        "dense",
        "dense_1",
        "dense_2",
        "kernel",
        "bias",
        "training",
        "inference",
    ] {
        assert!(dot.contains(part), "DOT lacks {part}");
    }
}

// ---------------------------------------------------------------------------------------------
// compile

#[test]
fn every_optimizer_name_trains() {
    let x = points(200, 7);
    let y = binary_labels(&x);
    for name in [
        "SGD", "sgd", "adam", "Adam", "rmsprop", "RMSprop", "adagrad", "Adagrad",
    ] {
        let mut m = Sequential::default().with_seed(1);
        m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
        m.compile(name, "binary_crossentropy", &[]).unwrap();
        let h = m.fit(&x, &y, quiet().epochs(5).batch_size(8)).unwrap();
        let loss = h.get("loss").unwrap();
        assert!(loss[4] < loss[0], "{name}: loss {loss:?}");
    }
    // By value, with hyper-parameters.
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
    m.compile(Adam::new(0.1), "binary_crossentropy", &["accuracy"])
        .unwrap();
    let h = m.fit(&x, &y, quiet().epochs(20)).unwrap();
    assert!(h.get("accuracy").unwrap()[19] > 0.95);
}

#[test]
fn every_loss_name_compiles_and_trains() {
    let x = points(120, 8);
    let labels = class_labels(&x);
    let y_bin = binary_labels(&x);
    let y_cat = one_hot(&labels, 3);
    let cases: [(&str, usize, &str); 8] = [
        ("mean_squared_error", 1, "linear"),
        ("mse", 1, "linear"),
        ("mean_absolute_error", 1, "linear"),
        ("mae", 1, "linear"),
        ("binary_crossentropy", 1, "sigmoid"),
        ("hinge", 1, "tanh"),
        ("categorical_crossentropy", 3, "softmax"),
        ("sparse_categorical_crossentropy", 3, "softmax"),
    ];
    for (loss, units, act) in cases {
        let mut m = Sequential::default().with_seed(2);
        m.add(Dense::new(units).input_dim(2).activation(act));
        m.compile(Adam::new(0.05), loss, &[]).unwrap();
        let h = match (loss, units) {
            ("sparse_categorical_crossentropy", _) => m.fit(&x, &labels, quiet().epochs(5)),
            (_, 3) => m.fit(&x, &y_cat, quiet().epochs(5)),
            _ => m.fit(&x, &y_bin, quiet().epochs(5)),
        }
        .unwrap();
        let l = h.get("loss").unwrap();
        assert!(l[4] < l[0], "{loss}: {l:?}");
    }
}

#[test]
fn accuracy_resolves_as_keras_does() {
    let x = points(300, 9);
    let labels = class_labels(&x);

    // One sigmoid unit: binary accuracy (threshold 0.5).
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
    m.compile(Adam::new(0.1), "binary_crossentropy", &["accuracy"])
        .unwrap();
    let yb = binary_labels(&x);
    let h = m.fit(&x, &yb, quiet().epochs(30)).unwrap();
    assert!(h.get("accuracy").unwrap()[29] > 0.95, "{h:?}");
    let p = m.predict(&x, 32).unwrap();
    let hand = p
        .iter()
        .zip(yb.iter())
        .filter(|(p, y)| ((**p > 0.5) as u8 as f32) == **y)
        .count() as f64
        / 300.0;
    assert_close(
        "binary accuracy",
        m.evaluate(&x, &yb, 32).unwrap()[1],
        hand,
        1e-6,
    );

    // Softmax and one-hot targets: categorical accuracy (argmax against argmax).
    let yc = one_hot(&labels, 3);
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(16).input_dim(2).activation("relu"));
    m.add(Dense::new(3).activation("softmax"));
    m.compile(Adam::new(0.05), "categorical_crossentropy", &["accuracy"])
        .unwrap();
    let h = m.fit(&x, &yc, quiet().epochs(40)).unwrap();
    assert!(h.get("accuracy").unwrap()[39] > 0.9, "{h:?}");
    let hand = argmax_accuracy(&m.predict(&x, 32).unwrap(), &labels);
    assert_close(
        "categorical accuracy",
        m.evaluate(&x, &yc, 32).unwrap()[1],
        hand,
        1e-6,
    );

    // Integer labels with the sparse loss: sparse categorical accuracy, i64 or f32 labels.
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(16).input_dim(2).activation("relu"));
    m.add(Dense::new(3).activation("softmax"));
    m.compile(Adam::new(0.05), "sparse_categorical_crossentropy", &["acc"])
        .unwrap();
    let h = m.fit(&x, &labels, quiet().epochs(40)).unwrap();
    assert!(h.get("acc").unwrap()[39] > 0.9, "logged as asked: {h:?}");
    let hand = argmax_accuracy(&m.predict(&x, 32).unwrap(), &labels);
    assert_close(
        "sparse accuracy",
        m.evaluate(&x, &labels, 32).unwrap()[1],
        hand,
        1e-6,
    );
    let as_f32 = labels.mapv(|v| v as f32);
    assert_eq!(m.evaluate(&x, &as_f32, 32).unwrap()[1], hand);
    // Labels as a column (n, 1) are accepted too, as Keras does.
    let column = labels.clone().insert_axis(Axis(1));
    assert_close(
        "column labels",
        m.evaluate(&x, &column, 32).unwrap()[1],
        hand,
        1e-6,
    );
}

fn argmax_accuracy(p: &ArrayD<f32>, labels: &Array1<i64>) -> f64 {
    p.outer_iter()
        .zip(labels)
        .filter(|(row, &l)| {
            let best = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
            best.0 as i64 == l
        })
        .count() as f64
        / labels.len() as f64
}

#[test]
fn mae_and_mse_metrics_match_hand_values() {
    let mut m = Sequential::default();
    m.add(
        Dense::new(2)
            .input_dim(1)
            .kernel_initializer(Initializer::Constant(1.0)),
    );
    m.compile("sgd", "mae", &["mse", "mae", "mean_squared_error"])
        .unwrap();
    assert_eq!(
        m.metrics_names().unwrap(),
        ["loss", "mse", "mae", "mean_squared_error"]
    );
    // Predictions are x; errors 1, -2 (sample 0) and 0, 3 (sample 1).
    let x = array![[1.0f32], [2.0]];
    let y = array![[0.0f32, 3.0], [2.0, -1.0]];
    let ev = m.evaluate(&x, &y, 32).unwrap();
    let (mae, mse) = ((1.0 + 2.0 + 0.0 + 3.0) / 4.0, (1.0 + 4.0 + 0.0 + 9.0) / 4.0);
    assert_eq!(ev, vec![mae, mse, mae, mse]);
    let h = m.fit(&x, &y, quiet()).unwrap();
    assert_eq!(h.keys, ["loss", "mse", "mae", "mean_squared_error"]);
}

#[test]
fn unknown_names_are_errors_listing_the_known_ones() {
    let cases: [(&str, &str, &str, &[&str]); 3] = [
        (
            "adamw2",
            "mse",
            "optimizer",
            &["sgd", "adam", "rmsprop", "adagrad"],
        ),
        (
            "sgd",
            "mean_squared_eror",
            "loss",
            &["mse", "hinge", "binary_crossentropy"],
        ),
        ("sgd", "mse", "metric", &["accuracy", "mae", "mse"]),
    ];
    for (opt, loss, kind, known) in cases {
        let mut m = tutorial_model();
        let metrics: &[&str] = if kind == "metric" {
            &["accuracyy"]
        } else {
            &[]
        };
        let e = m.compile(opt, loss, metrics).unwrap_err().to_string();
        assert!(e.contains(&format!("Unknown {kind}")), "{e}");
        for k in known {
            assert!(e.contains(k), "{e} lacks {k}");
        }
    }
    // An unknown activation, in a Dense layer or on its own.
    for mut m in [
        Sequential::new(vec![Box::new(
            Dense::new(1).input_dim(2).activation("relux"),
        )]),
        Sequential::new(vec![
            Box::new(Dense::new(1).input_dim(2)),
            Box::new(ActivationLayer::new("swishy")),
        ]),
    ] {
        let e = m.compile("sgd", "mse", &[]).unwrap_err().to_string();
        assert!(e.contains("Unknown activation"), "{e}");
        assert!(e.contains("leaky_relu") && e.contains("softplus"), "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// fit

/// A model whose prediction is always 0 and stays 0 (zero weights, learning rate 0): its mse
/// on a sample is y^2, which shows exactly which samples a loss was computed on.
fn frozen_zero_model() -> Sequential {
    let mut m = Sequential::default();
    m.add(
        Dense::new(1)
            .input_dim(1)
            .kernel_initializer(Initializer::Zeros),
    );
    m.compile(GradientDescent::new(0.0), "mse", &[]).unwrap();
    m
}

fn column(values: impl IntoIterator<Item = f32>) -> Array2<f32> {
    let v: Vec<f32> = values.into_iter().collect();
    Array2::from_shape_vec((v.len(), 1), v).unwrap()
}

fn mean_sq(values: impl IntoIterator<Item = f32>) -> f64 {
    let v: Vec<f64> = values.into_iter().map(|v| v as f64 * v as f64).collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn fit_defaults_are_keras() {
    let args = FitArgs::default();
    assert_eq!(args.batch_size, 32);
    assert_eq!(args.epochs, 1);
    assert_eq!(args.verbose, 1);
    assert!(args.shuffle);
    assert!(matches!(args.validation, rill::nn::Validation::None));
    assert!(!args.check_finite);

    // 100 samples in batches of 32: 4 steps, the last of 4 samples kept.
    let mut m = frozen_zero_model();
    let x = column((0..100).map(|i| i as f32));
    let h = m.fit(&x, &x, quiet().epochs(2)).unwrap();
    assert_eq!(h.params["steps"], 4);
    assert_eq!(h.params["epochs"], 2);
    assert_eq!(h.params["verbose"], 0);
    assert_eq!(h.epoch, [0, 1]);
    // The epoch loss is over all 100 samples, so the partial batch counted.
    assert_close(
        "loss",
        h.get("loss").unwrap()[0],
        mean_sq((0..100).map(|i| i as f32)),
        1e-6,
    );
    assert_eq!(
        m.fit(&x, &x, quiet().batch_size(30)).unwrap().params["steps"],
        4
    );
    assert_eq!(
        m.fit(&x, &x, quiet().batch_size(100)).unwrap().params["steps"],
        1
    );
    assert_eq!(
        m.fit(&x, &x, quiet().batch_size(1000)).unwrap().params["steps"],
        1
    );
}

#[test]
fn the_last_partial_batch_is_trained_on() {
    let x = column((0..33).map(|i| i as f32 / 33.0));
    let y = x.mapv(|v| 2.0 * v + 1.0);
    let train = |x: &Array2<f32>, y: &Array2<f32>| {
        let mut m = Sequential::default().with_seed(4);
        m.add(Dense::new(1).input_dim(1));
        m.compile("sgd", "mse", &[]).unwrap();
        m.fit(x, y, quiet().shuffle(false)).unwrap();
        m.get_weights().unwrap()
    };
    let all = train(&x, &y);
    let first_32 = train(
        &x.slice(ndarray::s![..32, ..]).to_owned(),
        &y.slice(ndarray::s![..32, ..]).to_owned(),
    );
    assert_ne!(all, first_32, "the 33rd sample made a second step");
}

#[test]
fn validation_split_takes_the_last_samples_before_shuffling() {
    // 80 ordinary samples (targets 0..1), then 20 distinctive ones (target 100).
    let x = column((0..100).map(|i| i as f32));
    let y = column((0..100).map(|i| if i < 80 { i as f32 / 80.0 } else { 100.0 }));
    let mut m = frozen_zero_model();
    let h = m
        .fit(&x, &y, quiet().epochs(3).validation_split(0.2).seed(9))
        .unwrap();
    // Shuffling only reorders the training part: the validation set is always the last 20.
    for &v in h.get("val_loss").unwrap() {
        assert_eq!(v, 10000.0);
    }
    let want = mean_sq((0..80).map(|i| i as f32 / 80.0));
    for &l in h.get("loss").unwrap() {
        assert_close("training loss", l, want, 1e-6);
    }
    assert_eq!(h.params["steps"], 3, "80 training samples in batches of 32");
    assert_eq!(h.keys, ["loss", "val_loss"]);

    // Keras splits at floor(n * (1 - split)): 10 samples, split 0.25 -> 7 train, 3 validation.
    let x = column((0..10).map(|i| i as f32));
    let h = m.fit(&x, &x, quiet().validation_split(0.25)).unwrap();
    assert_close(
        "val_loss",
        h.get("val_loss").unwrap()[0],
        mean_sq([7.0, 8.0, 9.0]),
        1e-6,
    );
    assert_close(
        "loss",
        h.get("loss").unwrap()[0],
        mean_sq((0..7).map(|i| i as f32)),
        1e-6,
    );

    // A split of 0 means no validation.
    let h = m.fit(&x, &x, quiet().validation_split(0.0)).unwrap();
    assert!(h.get("val_loss").is_none());
}

#[test]
fn validation_data_overrides_the_split() {
    let x = column((0..10).map(|i| i as f32));
    let vx = column([5.0, 6.0]);
    let mut m = frozen_zero_model();
    let h = m
        .fit(
            &x,
            &x,
            quiet().validation_split(0.5).validation_data(&vx, &vx),
        )
        .unwrap();
    assert_close(
        "val_loss",
        h.get("val_loss").unwrap()[0],
        mean_sq([5.0, 6.0]),
        1e-6,
    );
    assert_close(
        "loss on all 10",
        h.get("loss").unwrap()[0],
        mean_sq((0..10).map(|i| i as f32)),
        1e-6,
    );
}

#[test]
fn shuffling_follows_the_seed() {
    let x = points(64, 12);
    let y = binary_labels(&x);
    let run = |shuffle: bool, seed: u64| {
        let mut m = Sequential::default().with_seed(1);
        m.add(Dense::new(4).input_dim(2).activation("tanh"));
        m.add(Dense::new(1).activation("sigmoid"));
        m.compile("sgd", "binary_crossentropy", &["accuracy"])
            .unwrap();
        let h = m
            .fit(
                &x,
                &y,
                quiet().epochs(3).batch_size(4).shuffle(shuffle).seed(seed),
            )
            .unwrap();
        (h, m.get_weights().unwrap())
    };
    let (a, wa) = run(true, 1);
    let (b, wb) = run(true, 1);
    assert_eq!(a, b, "same seed, same history");
    assert_eq!(wa, wb, "same seed, same weights");
    let (c, wc) = run(true, 2);
    assert_ne!(
        a.get("loss"),
        c.get("loss"),
        "a different seed shuffles differently"
    );
    assert_ne!(wa, wc);
    // Shuffle off: the seed does not matter, and the order differs from a shuffled run.
    let (d, _) = run(false, 1);
    let (e, _) = run(false, 2);
    assert_eq!(d, e);
    assert_ne!(a.get("loss"), d.get("loss"));
}

#[test]
fn a_seeded_model_with_dropout_trains_reproducibly() {
    let x = points(64, 19);
    let y = binary_labels(&x);
    let run = |seed: u64| {
        let mut m = Sequential::default().with_seed(seed);
        m.add(Dense::new(16).input_dim(2).activation("relu"));
        m.add(Dropout::new(0.5));
        m.add(Dense::new(1).activation("sigmoid"));
        m.compile("adam", "binary_crossentropy", &["accuracy"])
            .unwrap();
        m.fit(&x, &y, quiet().epochs(3).batch_size(8)).unwrap()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).get("loss"), run(2).get("loss"));
}

#[test]
fn history_holds_loss_metrics_and_validation_per_epoch() {
    let x = points(50, 13);
    let y = binary_labels(&x);
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
    m.compile("adam", "binary_crossentropy", &["accuracy", "mse"])
        .unwrap();
    let h = m
        .fit(&x, &y, quiet().epochs(4).validation_split(0.2))
        .unwrap();
    assert_eq!(
        h.keys,
        [
            "loss",
            "accuracy",
            "mse",
            "val_loss",
            "val_accuracy",
            "val_mse"
        ]
    );
    for k in &h.keys {
        assert_eq!(h.get(k).unwrap().len(), 4, "{k}");
    }
    assert_eq!(h.epoch, [0, 1, 2, 3]);
    assert_eq!(h.params["steps"], 2, "40 training samples");
    // val_* is evaluate on the last 10 samples with the final weights.
    let ev = m
        .evaluate(
            &x.slice(ndarray::s![40.., ..]).to_owned(),
            &y.slice(ndarray::s![40.., ..]).to_owned(),
            32,
        )
        .unwrap();
    for (i, k) in ["val_loss", "val_accuracy", "val_mse"].iter().enumerate() {
        assert_close(k, h.get(k).unwrap()[3], ev[i], 1e-6);
    }
}

// ---------------------------------------------------------------------------------------------
// Output of fit, checked on a child process (stdout is not a terminal there).

const CHILD_ENV: &str = "RILL_KERAS_MODEL_VERBOSE_CHILD";
const BEGIN: &str = "<<<fit output>>>";
const END: &str = "<<<end of fit output>>>";

/// Runs only as the child of `fit_output_follows_verbose`: fits with the verbosity and epoch
/// count in the environment, between markers.
#[test]
fn verbose_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (verbose, epochs) = spec.split_once(',').unwrap();
    let x = points(100, 14);
    let y = binary_labels(&x);
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
    m.compile("adam", "binary_crossentropy", &["accuracy"])
        .unwrap();
    println!("{BEGIN}");
    m.fit(
        &x,
        &y,
        FitArgs::default()
            .verbose(verbose.parse().unwrap())
            .epochs(epochs.parse().unwrap())
            .validation_split(0.2),
    )
    .unwrap();
    println!("{END}");
}

fn fit_output(verbose: u8, epochs: usize) -> Vec<String> {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "verbose_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{verbose},{epochs}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let start = text.find(BEGIN).unwrap() + BEGIN.len();
    let end = text.find(END).unwrap();
    text[start..end]
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `<n>s` or `<n>ms/step`-style pieces.
fn is_seconds(s: &str) -> bool {
    s.strip_suffix('s')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn is_per_step(s: &str) -> bool {
    ["us/step", "ms/step", "s/step"].iter().any(|u| {
        s.strip_suffix(u)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// `loss: 0.6931 - accuracy: 0.5000 - val_loss: ... - val_accuracy: ...`.
fn check_logs(parts: &[&str]) {
    let keys: Vec<&str> = parts
        .iter()
        .map(|p| p.split(": ").next().unwrap())
        .collect();
    assert_eq!(keys, ["loss", "accuracy", "val_loss", "val_accuracy"]);
    // Keras prints `%.4f` above 1e-3 and `%.4e` (`0.0000e+00`) otherwise.
    for p in parts {
        let v = p.split(": ").nth(1).unwrap();
        let (int, frac) = v.split_once('.').unwrap();
        let fixed = frac.len() == 4 && frac.chars().all(|c| c.is_ascii_digit());
        let sci = frac.len() == 8 && matches!(frac.get(4..6), Some("e-" | "e+"));
        assert!(int.parse::<u32>().is_ok() && (fixed || sci), "{p}");
        if sci {
            assert!(v.parse::<f64>().unwrap() <= 1e-3, "{p}");
        }
    }
}

#[test]
fn fit_output_follows_verbose() {
    assert!(fit_output(0, 2).is_empty(), "verbose 0 prints nothing");

    // verbose 2: `Epoch i/n`, then `3/3 - 0s - 1ms/step - loss: ... - val_accuracy: ...`.
    let lines = fit_output(2, 2);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    for (e, pair) in lines.chunks(2).enumerate() {
        assert_eq!(pair[0], format!("Epoch {}/2", e + 1));
        let parts: Vec<&str> = pair[1].split(" - ").collect();
        assert_eq!(parts[0], "3/3", "{}", pair[1]);
        assert!(is_seconds(parts[1]), "{}", pair[1]);
        assert!(is_per_step(parts[2]), "{}", pair[1]);
        check_logs(&parts[3..]);
    }

    // verbose 1 on a pipe: no redraws, one finished bar per epoch.
    let lines = fit_output(1, 2);
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines.iter().all(|l| !l.contains('\r')));
    for (e, pair) in lines.chunks(2).enumerate() {
        assert_eq!(pair[0], format!("Epoch {}/2", e + 1));
        let want_start = format!("3/3 [{}] - ", "=".repeat(30));
        assert!(pair[1].starts_with(&want_start), "{}", pair[1]);
        let parts: Vec<&str> = pair[1][want_start.len()..].split(" - ").collect();
        let (secs, per_step) = parts[0].split_once(' ').unwrap();
        assert!(is_seconds(secs) && is_per_step(per_step), "{}", pair[1]);
        check_logs(&parts[1..]);
    }

    // One epoch: Keras prints no `Epoch 1/1` line.
    let lines = fit_output(2, 1);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("3/3 - "));
}

// ---------------------------------------------------------------------------------------------
// Callbacks

/// Records every epoch's logs and weights; stops training after `stop_after` epochs.
#[derive(Default)]
struct Recorder {
    began: usize,
    ended: usize,
    epochs: Vec<usize>,
    logs: Vec<Vec<(String, f64)>>,
    weights: Vec<Vec<(String, ArrayD<f32>)>>,
    stop_after: Option<usize>,
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.began += 1;
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &[(String, f64)],
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        self.epochs.push(epoch);
        self.logs.push(logs.to_vec());
        self.weights.push(ctx.get_weights()?);
        if self.stop_after == Some(self.epochs.len()) {
            ctx.stop_training = true;
        }
        Ok(())
    }
    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.ended += 1;
        Ok(())
    }
}

#[test]
fn a_user_callback_counts_epochs_and_can_stop_training() {
    let x = points(40, 15);
    let y = binary_labels(&x);
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
    m.compile("adam", "binary_crossentropy", &["accuracy"])
        .unwrap();
    let mut rec = Recorder::default();
    let h = m.fit(&x, &y, quiet().epochs(4).callback(&mut rec)).unwrap();
    assert_eq!((rec.began, rec.ended), (1, 1));
    assert_eq!(rec.epochs, [0, 1, 2, 3]);
    assert_eq!(rec.logs[2][0].0, "loss");
    assert_eq!(rec.logs[2][0].1, h.get("loss").unwrap()[2]);
    assert_eq!(rec.logs[2][1].0, "accuracy");
    assert_eq!(rec.weights[3], m.get_weights().unwrap());

    let mut stopper = Recorder {
        stop_after: Some(2),
        ..Recorder::default()
    };
    let h = m
        .fit(&x, &y, quiet().epochs(10).callback(&mut stopper))
        .unwrap();
    assert_eq!(stopper.epochs, [0, 1]);
    assert_eq!(h.epoch, [0, 1]);
    assert_eq!(h.get("loss").unwrap().len(), 2);
    assert_eq!(stopper.ended, 1, "on_train_end runs after a stop");
}

#[test]
fn early_stopping_has_keras_defaults_and_patience() {
    let es = EarlyStopping::new("val_loss");
    assert_eq!(
        (es.patience, es.min_delta, es.restore_best_weights),
        (0, 0.0, false)
    );

    // A frozen model: the loss never improves after the first epoch, so training stops at
    // epoch `patience`.
    let x = column((0..10).map(|i| i as f32));
    for patience in [0, 1, 3] {
        let mut m = frozen_zero_model();
        let mut es = EarlyStopping::new("loss").patience(patience);
        let h = m.fit(&x, &x, quiet().epochs(20).callback(&mut es)).unwrap();
        let ran = patience.max(1) + 1;
        assert_eq!(h.epoch.len(), ran, "patience {patience}");
        assert_eq!(es.stopped_epoch, Some(ran - 1));
        assert_eq!(es.best_epoch, Some(0));
    }
}

#[test]
fn early_stopping_min_delta_counts_small_gains_as_none() {
    let x = points(64, 16);
    let y = binary_labels(&x);
    let make = || {
        let mut m = Sequential::default().with_seed(1);
        m.add(Dense::new(1).input_dim(2).activation("sigmoid"));
        m.compile(GradientDescent::new(0.01), "binary_crossentropy", &[])
            .unwrap();
        m
    };
    // Slow training improves the loss by less than 0.5 per epoch.
    let mut m = make();
    let mut es = EarlyStopping::new("loss").patience(2).min_delta(0.5);
    let h = m.fit(&x, &y, quiet().epochs(20).callback(&mut es)).unwrap();
    assert_eq!(h.epoch.len(), 3);
    let l = h.get("loss").unwrap();
    assert!(l[2] < l[0], "it did improve, by less than min_delta: {l:?}");
    // Without min_delta it keeps going.
    let mut m = make();
    let mut es = EarlyStopping::new("loss").patience(2);
    let h = m.fit(&x, &y, quiet().epochs(20).callback(&mut es)).unwrap();
    assert_eq!(h.epoch.len(), 20);
    assert_eq!(es.stopped_epoch, None);
}

/// Trains towards y = 1 while validating against y = -1: val_loss gets worse every epoch.
fn diverging_fit(es: &mut EarlyStopping, rec: &mut Recorder, epochs: usize) -> Sequential {
    let x = column((0..16).map(|i| i as f32 / 16.0));
    let (y, vy) = (x.mapv(|_| 1.0), x.mapv(|_| -1.0));
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(1).input_dim(1));
    m.compile("sgd", "mse", &[]).unwrap();
    let args = quiet()
        .epochs(epochs)
        .validation_data(&x, &vy)
        .callback(rec)
        .callback(es);
    let h = m.fit(&x, &y, args).unwrap();
    let v = h.get("val_loss").unwrap();
    assert!(v.windows(2).all(|w| w[1] > w[0]), "val_loss rises: {v:?}");
    m
}

#[test]
fn early_stopping_restores_the_best_weights_at_train_end() {
    // Stopped early: the weights are those after epoch 0, the best.
    let mut es = EarlyStopping::new("val_loss")
        .patience(2)
        .restore_best_weights(true);
    let mut rec = Recorder::default();
    let m = diverging_fit(&mut es, &mut rec, 20);
    assert_eq!(rec.epochs, [0, 1, 2]);
    assert_eq!(es.best_epoch, Some(0));
    assert_eq!(es.stopped_epoch, Some(2));
    assert_eq!(m.get_weights().unwrap(), rec.weights[0]);
    assert_ne!(rec.weights[2], rec.weights[0]);

    // Keras 3 restores at train end even when training ran all its epochs.
    let mut es = EarlyStopping::new("val_loss")
        .patience(10)
        .restore_best_weights(true);
    let mut rec = Recorder::default();
    let m = diverging_fit(&mut es, &mut rec, 4);
    assert_eq!(es.stopped_epoch, None);
    assert_eq!(m.get_weights().unwrap(), rec.weights[0]);

    // Without restore_best_weights the last weights stay.
    let mut es = EarlyStopping::new("val_loss").patience(2);
    let mut rec = Recorder::default();
    let m = diverging_fit(&mut es, &mut rec, 20);
    assert_eq!(m.get_weights().unwrap(), rec.weights[2]);
}

#[test]
fn early_stopping_on_a_missing_metric_says_which_exist() {
    let mut m = frozen_zero_model();
    let x = column([1.0, 2.0]);
    let mut es = EarlyStopping::new("val_accuracy");
    let e = m
        .fit(&x, &x, quiet().callback(&mut es))
        .unwrap_err()
        .to_string();
    assert!(e.contains("val_accuracy") && e.contains("loss"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// evaluate and predict

#[test]
fn evaluate_returns_loss_then_metrics_in_inference_mode() {
    let x = points(70, 17);
    let y = binary_labels(&x);
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(8).input_dim(2).activation("relu"));
    m.add(Dropout::new(0.5));
    m.add(Dense::new(1).activation("sigmoid"));
    m.compile("adam", "binary_crossentropy", &["accuracy", "mae"])
        .unwrap();
    m.fit(&x, &y, quiet().epochs(3)).unwrap();
    let p = m.predict(&x, 32).unwrap();
    let (mut bce, mut mae, mut acc) = (0.0, 0.0, 0.0);
    for (p, t) in p.iter().zip(y.iter()) {
        let (p, t) = (*p as f64, *t as f64);
        bce -= t * p.ln() + (1.0 - t) * (1.0 - p).ln();
        mae += (p - t).abs();
        acc += ((p > 0.5) as u8 as f64 == t) as u8 as f64;
    }
    let n = 70.0;
    let ev = m.evaluate(&x, &y, 32).unwrap();
    assert_eq!(ev.len(), 3);
    assert_close("loss", ev[0], bce / n, 1e-4);
    assert_close("accuracy", ev[1], acc / n, 1e-6);
    assert_close("mae", ev[2], mae / n, 1e-5);
    // Deterministic, and the same for any batch size.
    for b in [1, 7, 32, 70, 1000] {
        let e = m.evaluate(&x, &y, b).unwrap();
        for (g, w) in e.iter().zip(&ev) {
            assert_close("evaluate by batch", *g, *w, 1e-5);
        }
    }
    // No metrics: the loss alone.
    let mut m = frozen_zero_model();
    m.fit(&column([1.0]), &column([1.0]), quiet()).unwrap();
    assert_eq!(
        m.evaluate(&column([1.0, 3.0]), &column([1.0, 3.0]), 32)
            .unwrap(),
        [5.0]
    );
}

#[test]
fn predict_is_independent_of_the_batch_size() {
    let x = points(101, 18);
    let mut m = Sequential::default().with_seed(1);
    m.add(Dense::new(5).input_dim(2).activation("tanh"));
    m.add(Dense::new(3).activation("softmax"));
    m.compile("adam", "categorical_crossentropy", &[]).unwrap();
    let p = m.predict(&x, 32).unwrap();
    assert_eq!(p.shape(), &[101, 3]);
    for b in [1, 2, 10, 100, 101, 500] {
        let q = m.predict(&x, b).unwrap();
        assert_eq!(q.shape(), p.shape());
        for (a, b) in q.iter().zip(p.iter()) {
            assert!((a - b).abs() < 1e-6);
        }
    }
    // Row i depends on sample i only.
    let one = m
        .predict(&x.slice(ndarray::s![50..51, ..]).to_owned(), 32)
        .unwrap();
    for (a, b) in one.iter().zip(p.index_axis(Axis(0), 50).iter()) {
        assert!((a - b).abs() < 1e-6);
    }
}
