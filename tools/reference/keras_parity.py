"""Keras reference runs for rill's Keras-parity tests (run by hand; CI only reads the output).

    /tmp/tfenv/bin/python tools/reference/keras_parity.py > tests/fixtures/keras_parity.json

1. The tutorial's model: Dense(10, sigmoid, input_dim 2) -> Dense(10, sigmoid) -> Dense(1, sigmoid),
   SGD (Keras default, lr 0.01), MSE, batch 500, 100 epochs, shuffle off, validation data.
2. An Adam model with categorical cross-entropy and accuracy: Dense(8, relu, input_dim 4) ->
   Dense(3, softmax), lr 0.01, batch 32 (a partial last batch), 20 epochs, shuffle off.
Both record the initial weights, the per-epoch logs and the final weights.
"""
import json
import sys

import numpy as np
import tensorflow as tf

keras = tf.keras
rng = np.random.default_rng(2024)


def enc(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": a.reshape(-1).tolist()}


def weights_of(model):
    return {v.path: enc(v.numpy()) for v in model.weights}


def run(model, x, y, vx, vy, epochs, batch_size):
    init = weights_of(model)
    h = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=(vx, vy), shuffle=False, verbose=0)
    return {"initial_weights": init, "history": {k: [float(v) for v in vals] for k, vals in h.history.items()},
            "final_weights": weights_of(model), "evaluate": [float(v) for v in np.atleast_1d(model.evaluate(vx, vy, verbose=0))],
            "predict_head": enc(model.predict(vx[:5], verbose=0))}


def tutorial():
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    x = rng.uniform(-1.5, 1.5, size=(2000, 2)).astype(np.float32)
    y = (np.sum(x * x, axis=1, keepdims=True) < 1.0).astype(np.float32)
    vx = rng.uniform(-1.5, 1.5, size=(500, 2)).astype(np.float32)
    vy = (np.sum(vx * vx, axis=1, keepdims=True) < 1.0).astype(np.float32)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(10, activation="sigmoid"),
                              keras.layers.Dense(10, activation="sigmoid"), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="SGD", loss="mean_squared_error")
    out = run(model, x, y, vx, vy, epochs=100, batch_size=500)
    out.update({"x": enc(x), "y": enc(y), "val_x": enc(vx), "val_y": enc(vy)})
    return out


def adam_classifier():
    keras.backend.clear_session()
    keras.utils.set_random_seed(2)
    centers = rng.normal(size=(3, 4)) * 2.0
    labels = rng.integers(0, 3, size=150)
    x = (centers[labels] + rng.normal(size=(150, 4))).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[labels]
    vl = rng.integers(0, 3, size=60)
    vx = (centers[vl] + rng.normal(size=(60, 4))).astype(np.float32)
    vy = np.eye(3, dtype=np.float32)[vl]
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    out = run(model, x, y, vx, vy, epochs=20, batch_size=32)
    out.update({"x": enc(x), "y": enc(y), "val_x": enc(vx), "val_y": enc(vy)})
    return out


json.dump({"tensorflow": tf.__version__, "keras": keras.__version__ if hasattr(keras, "__version__") else "",
           "tutorial_sgd_mse": tutorial(), "adam_categorical": adam_classifier()}, sys.stdout)
