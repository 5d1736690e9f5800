#!/usr/bin/env bash
# Runs the peers' reference scripts (TensorFlow, PyTorch, JAX, numpy) and writes their medians
# as `name value unit` lines, the format `RILL_REFERENCE=path cargo bench --bench workloads`
# reads. Run it in the same sitting as the rill bench: the machine is shared and noisy.
#
#   benches/reference/run_references.sh [OUT]      (default: benches/reference/figures-DATE.txt)
#
# REFERENCE_BENCH  the scripts' folder (default: shared/reference-bench beside the repo)
# VENV             a Python venv with tensorflow-cpu, torch, jax, numpy, threadpoolctl; created
#                  and filled with pip if missing (default: /work/venv-bench)
# REPS             repeats per script (default 3); ANCHOR_THREADS threads (default 2)
# ONLY             space-separated subset of: w1 w2 w3 w4 jax (default: all)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
REFERENCE_BENCH="${REFERENCE_BENCH:-$(cd "$repo/.." && pwd)/shared/reference-bench}"
VENV="${VENV:-/work/venv-bench}"
REPS="${REPS:-3}"
ONLY="${ONLY:-w1 w2 w3 w4 jax}"
out="${1:-$here/figures-$(date +%Y-%m-%d).txt}"
export ANCHOR_THREADS="${ANCHOR_THREADS:-2}"

[[ -f "$REFERENCE_BENCH/common.py" ]] || {
    echo "no reference scripts in $REFERENCE_BENCH (set REFERENCE_BENCH)" >&2
    exit 1
}
py="$VENV/bin/python"
if ! [[ -x "$py" ]] || ! "$py" -c 'import tensorflow, torch, jax, numpy, threadpoolctl' 2>/dev/null; then
    echo "setting up $VENV (tensorflow-cpu torch jax numpy threadpoolctl)" >&2
    [[ -x "$py" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q tensorflow-cpu torch jax numpy threadpoolctl
fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
# run LOG SCRIPT ARGS...: one script, its output kept for the parser (and shown on stderr).
run() {
    local log="$1"
    shift
    echo "== $*" >&2
    (cd "$REFERENCE_BENCH" && "$py" "$@") 2>&1 | tee "$logs/$log" >&2
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
if wanted w1; then
    run w1_keras.log w1_keras.py "$REPS"
    run w1_tffunction.log w1_tffunction.py "$REPS"
    run w1_tf1.log w1_tf1.py "$REPS"
    run w1_torch.log w1_torch.py "$REPS"
fi
if wanted w2; then
    run w2_tf.log w2_tf.py 7
    run w2_tf1.log w2_tf1.py 7
    run w2_torch.log w2_torch.py 7
fi
if wanted w3; then
    # numpy's OpenBLAS picks a kernel half as fast with these set (the scripts' README).
    echo "== w3_gemm_py.py numpy (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset)" >&2
    (cd "$REFERENCE_BENCH" && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" w3_gemm_py.py numpy) \
        2>&1 | tee "$logs/w3_numpy.log" >&2
    run w3_torch.log w3_gemm_py.py torch
fi
if wanted w4; then
    for impl in numpy torch tf_function tf1_session; do
        for pairs in 1 50 125 250 500; do
            run "w4_${impl}_${pairs}.log" w4_overhead.py "$impl" "$pairs"
        done
    done
fi
if wanted jax; then
    run jax_all.log jax_all.py "$REPS"
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

{
    echo "# Reference figures: the peers' scripts ($REFERENCE_BENCH) run by run_references.sh"
    echo "# date $(date -u +%Y-%m-%dT%H:%MZ), threads $ANCHOR_THREADS, repeats $REPS"
    echo "# machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cpus"
    echo "# load average before $load_before, after $load_after"
    echo "# $("$py" -c 'import sys, numpy, tensorflow as tf, torch, jax; print("python", sys.version.split()[0], "numpy", numpy.__version__, "tf", tf.__version__, "torch", torch.__version__, "jax", jax.__version__)' 2>/dev/null)"
    echo "# name value unit (medians; names: workload.figure/implementation)"
    "$py" - "$logs" <<'PY'
import glob, os, re, sys

logs = sys.argv[1]
line_re = re.compile(r"^(.*?)\s+median=(\S+) min=\S+ max=\S+ (\S+) \(n=\d+\)")
# (log file, printed label) -> (name, unit the value is printed in)
LABELS = {
    ("w1_keras.log", "keras fit: s/epoch (epochs 2..100, all fits)"): "w1.epoch/keras_fit",
    ("w1_tffunction.log", "tf.function step: s/epoch (epochs 2..100)"): "w1.epoch/tffunction",
    ("w1_tf1.log", "tf1 Session.run: s/epoch (epochs 2..100)"): "w1.epoch/tf1_session",
    ("w1_torch.log", "torch eager: s/epoch (epochs 2..100)"): "w1.epoch/torch_eager",
    ("jax_all.log", "jax jit W1: s/epoch"): "w1.epoch/jax_jit",
    ("jax_all.log", "jax jit W1 (pre-sliced): s/epoch"): "w1.epoch/jax_jit_presliced",
    ("w2_tf.log", "keras fit: train steps/s (batch 128)"): "w2.train/keras_fit",
    ("w2_tf.log", "tf.function step: train steps/s"): "w2.train/tffunction",
    ("w2_tf.log", "keras predict: samples/s (batch 1024)"): "w2.infer/keras_predict",
    ("w2_tf.log", "tf.function forward: samples/s (batch 1024)"): "w2.infer/tffunction",
    ("w2_tf1.log", "tf1 Session.run: train steps/s (batch 128)"): "w2.train/tf1_session",
    ("w2_tf1.log", "tf1 Session.run forward: samples/s (b 1024)"): "w2.infer/tf1_session",
    ("w2_torch.log", "torch eager: train steps/s (batch 128)"): "w2.train/torch_eager",
    ("w2_torch.log", "torch inference_mode forward: samples/s (b 1024)"): "w2.infer/torch_eager",
    ("jax_all.log", "jax jit W2: train steps/s (batch 128)"): "w2.train/jax_jit",
    ("jax_all.log", "jax jit W2 forward: samples/s (b 1024)"): "w2.infer/jax_jit",
    ("jax_all.log", "jax jit W4: whole 1,000-op chain per call"): "w4.chain/jax_jit",
}
W3 = re.compile(r"^(numpy|torch) matmul (\d+x\d+x\d+) threads=(\d+)$")
W4_IMPL = {"numpy": "numpy", "torch": "torch_eager", "tf_function": "tffunction",
           "tf1_session": "tf1_session"}
W4_LOG = re.compile(r"^w4_(.+)_(\d+)\.log$")

def parsed(path):
    with open(path, errors="replace") as f:
        for line in f:
            m = line_re.match(line.rstrip("\n"))
            if m:
                yield m.group(1).strip(), float(m.group(2)), m.group(3)

rows, w4 = [], {}
for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
    log = os.path.basename(path)
    for label, value, unit in parsed(path):
        if (log, label) in LABELS:
            rows.append((LABELS[(log, label)], value, unit))
        elif (m := W3.match(label)):
            impl = "numpy_openblas" if m.group(1) == "numpy" else "torch_mkl"
            rows.append((f"w3.gemm_{m.group(2)}.t{m.group(3)}/{impl}", value, unit))
        elif (m := W4_LOG.match(log)) and ": per chain call (" in label:
            w4.setdefault(m.group(1), []).append((2 * int(m.group(2)), value))
for impl, points in sorted(w4.items()):
    name = W4_IMPL.get(impl, impl)
    n = len(points)
    if n >= 2:
        mx = sum(p[0] for p in points) / n
        my = sum(p[1] for p in points) / n
        b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
        rows.append((f"w4.per_op/{name}", b, "us"))
        rows.append((f"w4.call/{name}", my - b * mx, "us"))
    for ops, us in points:
        if ops == 1000:
            rows.append((f"w4.chain/{name}", us, "us"))
for name, value, unit in rows:
    print(f"{name} {value:.6g} {unit}")
PY
} >"$out"
echo "wrote $out" >&2
cat "$out"
