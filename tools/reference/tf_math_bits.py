"""Writes tests/fixtures/tf_math_bits.txt: the bits of tf.math.sigmoid, tanh, exp, log, log1p, sin
and cos and of tf.nn.softplus and elu on f32 and f64 arrays, for tests/tf_math_bits.rs.

Run with TensorFlow installed (the reference venv: benches/reference/run_references.sh makes
it): python3 tools/reference/tf_math_bits.py. The output is committed; tests never need Python.
TF's Eigen kernels compute arrays in packets (8 f32 or 4 f64 lanes) and the last len % lanes
elements in a scalar form, so the arrays come long (mostly packets), short (the scalar form
alone) and in between.
"""
import os
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(20261201)
out = []
# (New ops go last: the arrays of the ones before them keep their random draws.)
OPS = {"sigmoid": tf.math.sigmoid, "tanh": tf.math.tanh, "exp": tf.math.exp, "log": tf.math.log,
       "softplus": tf.nn.softplus, "elu": tf.nn.elu, "log1p": tf.math.log1p, "sin": tf.math.sin,
       "cos": tf.math.cos}
TRIG = ("sin", "cos")


def trig_special(dtype):
    """Sin and cos where their forms change: Eigen's f32 reduction switches to Payne-Hanek at
    25966 (sin) and 18838 (cos) without FMA (117435.992 and 71476.0625 with it), its f64 one
    at 15 and 1e14 (where TF's f64 kernel does not use it: the values show that); multiples of
    pi/2 and the midpoints between them, where the quadrant turns over, with their neighbours
    a few ulps away; tiny, subnormal (TF's threads treat them as 0), huge and non-finite."""
    f32 = dtype == np.float32
    info = np.finfo(dtype)
    base = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1e-45, 1e-310,
            -1e-310, 5e-324, float(info.tiny), -float(info.tiny), 1e-30, -1e-30, 1e-20, 1.1e-19,
            2e-19, 1e-12, 1e-4, 0.785398, 25966.0, 18838.0, 117435.992, 71476.0625, 15.0, 1e14,
            2.0**22, 2.0**23, 2.0**24, 2.0**30, 1e30, -1e30, 3.4e38, -3.4e38, float(info.max),
            1e300, -1e300, 1e200, 2.0**1000]
    steps = [float(k) for k in [1, 2, 3, 4, 5, 7, 9, 10, 100, 1001, 11992, 16530, 16531, 20000,
                                65536, 100001, 1e6 + 1, 1e9 + 3]]
    multiples = [k * np.pi / 2 for k in steps] + [(k + 0.5) * np.pi / 2 for k in steps[:12]]
    with np.errstate(over="ignore"):
        centre = np.array(base + multiples + [-m for m in multiples[::3]], dtype=dtype)
        near = [centre]
        for hops in [1, 2]:
            up, down = centre, centre
            for _ in range(hops):
                up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(-np.inf))
            # Neighbours of the thresholds and of the multiples (not of 0, inf, ...).
            near += [up[23:], down[23:]]
    return np.concatenate(near)


def trig_dense(dtype, n):
    """Sin and cos on [-10, 10], on both sides of the f32 thresholds, and over magnitudes
    from 1e-6 to 1e30 of either sign."""
    third = n // 3
    mags = np.exp(rng.uniform(np.log(1e-6), np.log(1e30), n - 2 * third))
    return np.concatenate([rng.uniform(-10, 10, third), rng.uniform(-40000, 40000, third),
                           mags * rng.choice([-1.0, 1.0], len(mags))]).astype(dtype)


def emit(op, xs):
    ys = OPS[op](tf.constant(xs)).numpy()
    kind = "f32" if xs.dtype == np.float32 else "f64"
    bits = np.uint32 if kind == "f32" else np.uint64
    out.append(f"{op} {kind} {len(xs)}")
    for x, y in zip(xs.view(bits), ys.view(bits)):
        out.append(f"{int(x):x} {int(y):x}")


def values(op, dtype, n):
    f32 = dtype == np.float32
    lo, hi = {"sigmoid": (-110, 20) if f32 else (-760, 720),
              "tanh": (-12, 12) if f32 else (-25, 25),
              "exp": (-110, 95) if f32 else (-760, 720),
              "log": (0, 4),
              # softplus switches form at +-13.94 (f32) and +-34.04 (f64)
              "softplus": (-40, 40) if f32 else (-80, 80),
              "elu": (-20, 5) if f32 else (-40, 5),
              "log1p": (-1, 4),
              "sin": (-40000, 40000),
              "cos": (-40000, 40000)}[op]
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 16.6355324, 7.9073896, -9.0, -87.33655,
                        -103.97, -104.0, -104.5, 88.7, 88.723, np.inf, -np.inf, np.nan, 1e-30,
                        -1e-30, 1e-40, -1e-40, 709.78, -745.5, 17.7, 3.4e38, -3.4e38, 13.942385,
                        -13.942385, 34.043653, -34.043653, 1e-8, -1e-8],
                       dtype=dtype)
    if op in TRIG:
        special = trig_special(dtype)
        dense = trig_dense(dtype, n // 2)
    else:
        dense = rng.uniform(lo, hi, n // 2).astype(dtype)
    if op == "log":
        # log over many binades: mantissas of every exponent.
        dense = np.exp(rng.uniform(-80, 80, n // 2)).astype(dtype)
    if op == "log1p":
        # log1p near 0 on both sides (where 1 + x rounds), and up to e^3.
        mags = np.exp(rng.uniform(-40, 3, n // 2))
        dense = np.where(rng.random(n // 2) < 0.3, -np.minimum(mags, 0.999), mags).astype(dtype)
    wide = rng.uniform(lo, hi, n // 4).astype(dtype)
    nbits = 32 if f32 else 64
    ints = rng.integers(0, 2**nbits - 1, n // 4, dtype=np.uint64, endpoint=True)
    patterns = ints.astype(np.uint32 if f32 else np.uint64).view(dtype)
    return np.concatenate([special, dense, wide, patterns])[:n]


def short(op, dtype, n):
    if op in TRIG:
        # The scalar (tail) form on the special values too, one array in three.
        if rng.random() < 1 / 3:
            return rng.choice(trig_special(dtype), n)
        return trig_dense(dtype, n)
    if op == "log":
        return np.exp(rng.uniform(-20, 20, n)).astype(dtype)
    if op == "log1p":
        return rng.uniform(-0.9, 5, n).astype(dtype)
    return rng.uniform(-20, 20, n).astype(dtype)


for op in OPS:
    for dtype, lanes in [(np.float32, 8), (np.float64, 4)]:
        emit(op, values(op, dtype, 4096))
        for n in [1, lanes - 1, lanes + 1, 2 * lanes + 3, 1003]:
            emit(op, values(op, dtype, n) if n > 30 else short(op, dtype, n))
        for _ in range(150):
            emit(op, short(op, dtype, lanes - 1))
        for _ in range(20):
            emit(op, values(op, dtype, lanes - 1))

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "..", "..", "tests", "fixtures", "tf_math_bits.txt")
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(f"# tf.math bits, TF {tf.__version__}, by tools/reference/tf_math_bits.py: "
            "a line 'op dtype len', then len lines 'input output' (hex bits)\n")
    f.write("\n".join(out) + "\n")
os.replace(tmp, path)
print("wrote", os.path.normpath(path), len(out), "lines")
