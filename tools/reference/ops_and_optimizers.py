"""Reference values from TensorFlow for rill's parity tests (run by hand; CI only reads the output).

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu numpy
    /tmp/tfenv/bin/python tools/reference/ops_and_optimizers.py > tests/fixtures/tf_ops_optimizers.json

Every op case: the inputs, the forward output, and the gradient of sum(output * weights) with
respect to each float input (weights fixed per case). Every optimizer case: the Keras optimizer
run for a few steps on a small least-squares problem in float64, the variables after each step.
"""
import json
import sys

import numpy as np
import tensorflow as tf

rng = np.random.default_rng(7)


def arr(shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float64)


def signed(shape, lo=0.2, hi=1.0):
    a = arr(shape, lo, hi)
    flat = a.reshape(-1)
    flat[1::2] *= -1
    return flat.reshape(shape)


def enc(a):
    a = np.asarray(a)
    kind = "f64" if a.dtype.kind == "f" else ("bool" if a.dtype.kind == "b" else "i64")
    return {"dtype": kind, "shape": list(a.shape), "data": a.reshape(-1).astype(np.float64).tolist()}


CASES = {
    "neg": ([arr([2, 3])], lambda x: -x),
    "abs": ([signed([2, 3])], tf.abs),
    "sign": ([signed([4])], tf.sign),
    "square": ([arr([3])], tf.square),
    "exp": ([arr([2, 2])], tf.exp),
    "log": ([arr([3], 0.5, 2.0)], tf.math.log),
    "sqrt": ([arr([3], 0.5, 2.0)], tf.sqrt),
    "rsqrt": ([arr([3], 0.5, 2.0)], tf.math.rsqrt),
    "sin": ([arr([3])], tf.sin),
    "cos": ([arr([3])], tf.cos),
    "tanh": ([arr([3], -3, 3)], tf.tanh),
    "sigmoid": ([arr([2, 3], -5, 5)], tf.sigmoid),
    "relu": ([signed([6])], tf.nn.relu),
    "leaky_relu": ([signed([6])], lambda x: tf.nn.leaky_relu(x, alpha=0.2)),
    "elu": ([signed([6])], tf.nn.elu),
    "softplus": ([arr([4], -3, 3)], tf.nn.softplus),
    "add": ([arr([2, 3]), arr([3])], tf.add),
    "sub": ([arr([2, 1]), arr([1, 3])], tf.subtract),
    "mul": ([arr([2, 3]), arr([2, 3])], tf.multiply),
    "div": ([arr([2, 3]), arr([2, 1], 0.5, 2.0)], tf.divide),
    "pow": ([arr([3], 0.5, 2.0), arr([3])], tf.pow),
    "maximum": ([arr([4]), arr([4])], tf.maximum),
    "minimum": ([arr([4]), arr([4])], tf.minimum),
    "clip_by_value": ([signed([6], 0.1, 2.0)], lambda x: tf.clip_by_value(x, -1.0, 1.0)),
    "matmul": ([arr([2, 3]), arr([3, 4])], tf.matmul),
    "matmul_ta": ([arr([3, 2]), arr([3, 4])], lambda a, b: tf.matmul(a, b, transpose_a=True)),
    "matmul_tb": ([arr([2, 3]), arr([4, 3])], lambda a, b: tf.matmul(a, b, transpose_b=True)),
    "matmul_batched": ([arr([2, 2, 3]), arr([2, 3, 2])], tf.matmul),
    "sum_axis1": ([arr([2, 3])], lambda x: tf.reduce_sum(x, axis=1)),
    "sum_keep": ([arr([2, 3, 2])], lambda x: tf.reduce_sum(x, axis=[0, 2], keepdims=True)),
    "mean_all": ([arr([2, 3])], tf.reduce_mean),
    "max_axis1": ([arr([3, 4])], lambda x: tf.reduce_max(x, axis=1)),
    "min_axis0_keep": ([arr([3, 4])], lambda x: tf.reduce_min(x, axis=0, keepdims=True)),
    "softmax": ([arr([2, 4], -3, 3)], tf.nn.softmax),
    "log_softmax": ([arr([2, 4], -3, 3)], tf.nn.log_softmax),
    "reshape": ([arr([2, 3])], lambda x: tf.reshape(x, [3, -1])),
    "transpose": ([arr([2, 3, 4])], lambda x: tf.transpose(x, [1, 2, 0])),
    "concat": ([arr([2, 2]), arr([2, 3])], lambda a, b: tf.concat([a, b], axis=1)),
    "stack": ([arr([2, 3]), arr([2, 3])], lambda a, b: tf.stack([a, b], axis=1)),
    "slice": ([arr([3, 4])], lambda x: tf.slice(x, [1, 1], [2, -1])),
    "gather": ([arr([4, 3])], lambda x: tf.gather(x, [2, 0, 2])),
    "where": ([arr([2, 3]), arr([2, 3]), arr([3])], lambda c, x, y: tf.where(c > 0, x, y)),
    "sigmoid_cross_entropy": ([arr([3, 1]), arr([3, 1], 0, 1)],
                              lambda z, t: tf.nn.sigmoid_cross_entropy_with_logits(labels=t, logits=z)),
    "softmax_cross_entropy": ([arr([2, 3]), np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]])],
                              lambda z, t: tf.nn.softmax_cross_entropy_with_logits(labels=t, logits=z)),
}

# Inputs that are not differentiated (conditions, labels).
NO_GRAD = {"where": [0], "sigmoid_cross_entropy": [1], "softmax_cross_entropy": [1]}


def op_cases():
    out = []
    for name, (inputs, fn) in CASES.items():
        xs = [tf.constant(a) for a in inputs]
        with tf.GradientTape(persistent=True) as tape:
            for x in xs:
                tape.watch(x)
            y = fn(*xs)
            w = tf.constant(arr(y.shape.as_list()))
            loss = tf.reduce_sum(y * w)
        grads = []
        for i, x in enumerate(xs):
            if i in NO_GRAD.get(name, []):
                grads.append(None)
            else:
                g = tape.gradient(loss, x)
                grads.append(enc(tf.convert_to_tensor(g).numpy()) if g is not None else None)
        out.append({"name": name, "inputs": [enc(a) for a in inputs], "weights": enc(w.numpy()),
                    "output": enc(y.numpy()), "grads": grads})
    return out


def optimizer_cases():
    # Keras keeps the learning rate in a float32 variable: the rates below are exact in float32,
    # so the float64 trajectories do not depend on that rounding.
    x = arr([6, 3])
    y = arr([6, 1])
    w0 = arr([3, 1], -0.5, 0.5)
    b0 = np.array([0.1])
    keras = tf.keras
    specs = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=0.125),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=0.125, momentum=0.9),
        "nesterov": lambda: keras.optimizers.SGD(learning_rate=0.125, momentum=0.9, nesterov=True),
        "adam": lambda: keras.optimizers.Adam(learning_rate=0.0625),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.0625),
        "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.125),
        "sgd_exponential_decay": lambda: keras.optimizers.SGD(
            learning_rate=keras.optimizers.schedules.ExponentialDecay(0.25, decay_steps=2, decay_rate=0.5)),
        "sgd_staircase_decay": lambda: keras.optimizers.SGD(
            learning_rate=keras.optimizers.schedules.ExponentialDecay(0.25, decay_steps=2, decay_rate=0.5, staircase=True)),
    }
    out = []
    for name, make in specs.items():
        opt = make()
        w = keras.Variable(w0, dtype="float64")
        b = keras.Variable(b0, dtype="float64")
        traj = []
        for _ in range(8):
            with tf.GradientTape() as tape:
                pred = tf.matmul(x, w) + b
                loss = tf.reduce_mean(tf.square(pred - y))
            gw, gb = tape.gradient(loss, [w, b])
            opt.apply_gradients([(gw, w), (gb, b)])
            traj.append({"loss": float(loss.numpy()), "w": w.numpy().reshape(-1).tolist(), "b": b.numpy().tolist()})
        out.append({"name": name, "trajectory": traj})
    return {"x": enc(x), "y": enc(y), "w0": enc(w0), "b0": enc(b0), "cases": out}


json.dump({"tensorflow": tf.__version__, "ops": op_cases(), "optimizers": optimizer_cases()}, sys.stdout, indent=1)
