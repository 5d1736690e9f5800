"""Writes tests/fixtures/tf_sigmoid_bits.txt: tf.math.sigmoid's bits on f32 and f64 arrays, for
tests/tf_sigmoid_bits.rs.

Run with TensorFlow installed (the reference venv: benches/reference/run_references.sh makes
it): python3 tools/reference/tf_sigmoid_bits.py. The output is committed; tests never need Python.
Arrays come in two kinds: long ones (mostly the packet form of TF's Eigen kernel) and short
ones (length < packet lanes: the scalar tail form alone), plus lengths with both.
"""
import os
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(20261201)
out = []


def emit(xs):
    ys = tf.math.sigmoid(tf.constant(xs)).numpy()
    kind = "f32" if xs.dtype == np.float32 else "f64"
    bits = np.uint32 if kind == "f32" else np.uint64
    out.append(f"{kind} {len(xs)}")
    for x, y in zip(xs.view(bits), ys.view(bits)):
        out.append(f"{int(x):x} {int(y):x}")


def values(dtype, n):
    lo_cut = -110.0 if dtype == np.float32 else -760.0
    hi_cut = 20.0 if dtype == np.float32 else 720.0
    special = np.array([0.0, -0.0, 1.0, -1.0, 16.6355324, 15.7, -9.0, -87.33655, -103.97,
                        -104.0, -104.5, 88.7, np.inf, -np.inf, np.nan, 1e-30, -1e-30,
                        709.78, -745.5, 3.4e38, -3.4e38], dtype=dtype)
    dense = rng.uniform(-20, 20, n // 2).astype(dtype)
    wide = rng.uniform(lo_cut, hi_cut, n // 4).astype(dtype)
    nbits = 32 if dtype == np.float32 else 64
    ints = rng.integers(0, 2**nbits - 1, n // 4, dtype=np.uint64, endpoint=True)
    patterns = ints.astype(np.uint32 if nbits == 32 else np.uint64).view(dtype)
    return np.concatenate([special, dense, wide, patterns])[:n]


for dtype, lanes in [(np.float32, 8), (np.float64, 4)]:
    emit(values(dtype, 4096))
    for n in [1, lanes - 1, lanes + 1, 2 * lanes + 3, 1003]:
        emit(values(dtype, n) if n > 30 else rng.uniform(-20, 20, n).astype(dtype))
    for _ in range(300):
        emit(rng.uniform(-20, 20, lanes - 1).astype(dtype))
    for _ in range(40):
        emit(rng.uniform(-110 if lanes == 8 else -760, -60, lanes - 1).astype(dtype))

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "..", "tests", "fixtures", "tf_sigmoid_bits.txt")
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(f"# tf.math.sigmoid bits, TF {tf.__version__}, by tools/reference/tf_sigmoid_bits.py: "
            "a line 'dtype len', then len lines 'input output' (hex bits)\n")
    f.write("\n".join(out) + "\n")
os.replace(tmp, path)
print("wrote", path, len(out), "lines")
