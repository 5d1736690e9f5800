//! Sigmoid, tanh, exp, log, log1p, softplus, elu, sin and cos give TensorFlow's bits: every array in
//! `tests/fixtures/tf_math_bits.txt` (made by `tools/reference/tf_math_bits.py` with TF 2.21)
//! through the plain kernel, the same step written over its buffer (a second run), and the
//! fused kernel, f32 and f64, with lengths whose last `len % lanes` elements take TF's scalar
//! form.

use rill::compiler::CompileOptions;
use rill::prelude::*;

struct Case {
    op: String,
    dtype: DType,
    inputs: Vec<u64>,
    outputs: Vec<u64>,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tf_math_bits.txt"
    );
    let text = std::fs::read_to_string(path).expect("the fixture is in the repository");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut cases = Vec::new();
    while let Some(head) = lines.next() {
        let mut words = head.split(' ');
        let (Some(op), Some(kind), Some(len)) = (words.next(), words.next(), words.next()) else {
            panic!("an 'op dtype len' line, got {head:?}")
        };
        let dtype = match kind {
            "f32" => DType::F32,
            "f64" => DType::F64,
            other => panic!("unknown dtype {other}"),
        };
        let len: usize = len.parse().expect("a length");
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        for line in lines.by_ref().take(len) {
            let (x, y) = line.split_once(' ').expect("'input output'");
            inputs.push(u64::from_str_radix(x, 16).expect("hex"));
            outputs.push(u64::from_str_radix(y, 16).expect("hex"));
        }
        assert_eq!(inputs.len(), len, "a whole array");
        cases.push(Case {
            op: op.to_string(),
            dtype,
            inputs,
            outputs,
        });
    }
    cases
}

fn value(dtype: DType, bits: &[u64]) -> Value {
    match dtype {
        DType::F32 => Value::from(ndarray::Array1::from_iter(
            bits.iter().map(|&b| f32::from_bits(b as u32)),
        )),
        _ => Value::from(ndarray::Array1::from_iter(
            bits.iter().map(|&b| f64::from_bits(b)),
        )),
    }
}

fn zero_of(dtype: DType) -> Value {
    match dtype {
        DType::F32 => Value::scalar(0.0f32),
        _ => Value::scalar(0.0f64),
    }
}

fn bits(v: &Value) -> Vec<u64> {
    match v {
        Value::F32(a) => a.iter().map(|x| x.to_bits() as u64).collect(),
        Value::F64(a) => a.iter().map(|x| x.to_bits()).collect(),
        other => panic!("a float result, got {}", other.dtype()),
    }
}

/// The first element whose bits differ (all NaNs count as one), if any.
fn first_difference(case: &Case, got: &[u64]) -> Option<String> {
    let is_nan = |b: u64| match case.dtype {
        DType::F32 => f32::from_bits(b as u32).is_nan(),
        _ => f64::from_bits(b).is_nan(),
    };
    got.iter()
        .zip(&case.outputs)
        .enumerate()
        .find(|(_, (&g, &w))| g != w && !(is_nan(g) && is_nan(w)))
        .map(|(i, (g, w))| {
            format!(
                "{} {:?}[{i}] of {} (input {:x}): rill {g:x}, TF {w:x}",
                case.op,
                case.dtype,
                got.len(),
                case.inputs[i]
            )
        })
}

/// `op(x) - zero` and its two placeholders, in a session with `fusion` on `threads`. The
/// `- zero` (fed 0) keeps the op in a fused kernel when fusion is on, and changes no bit:
/// y - 0 = y for every y (-0 included) and NaN.
fn session(op: &str, dtype: DType, fusion: bool, threads: usize) -> impl Fn(&[u64]) -> Vec<u64> {
    let g = Graph::new();
    let x = g.placeholder(dtype, [None::<usize>], "x");
    let zero = g.placeholder(dtype, [0usize; 0], "zero");
    let y = apply(op, x) - zero;
    let sess = Session::with_options(
        &g,
        CompileOptions {
            fusion,
            ..Default::default()
        },
    )
    .with_threads(threads)
    .unwrap();
    let (x, y, zero) = (x.id(), y.id(), zero.id());
    move |inputs: &[u64]| {
        let (xv, zv) = (value(dtype, inputs), zero_of(dtype));
        bits(&sess.eval(y, &[feed(x, &xv), feed(zero, &zv)]).unwrap())
    }
}

/// The fixture's op by name.
fn apply<'g>(op: &str, x: Tensor<'g>) -> Tensor<'g> {
    match op {
        "sigmoid" => x.sigmoid(),
        "tanh" => x.tanh(),
        "exp" => x.exp(),
        "log" => x.log(),
        "softplus" => x.softplus(),
        "elu" => x.elu(1.0),
        "log1p" => x.log1p(),
        "sin" => x.sin(),
        "cos" => x.cos(),
        other => panic!("unknown op {other}"),
    }
}

fn check(fusion: bool) {
    let cases = cases();
    assert!(cases.len() > 1000, "the fixture has its arrays");
    for op in [
        "sigmoid", "tanh", "exp", "log", "log1p", "softplus", "elu", "sin", "cos",
    ] {
        assert!(cases.iter().any(|c| c.op == op), "the fixture covers {op}");
    }
    let mut failures = Vec::new();
    for case in &cases {
        let op = session(&case.op, case.dtype, fusion, 1);
        // The second run writes over the buffer the first one left.
        for run in 0..2 {
            if let Some(d) = first_difference(case, &op(&case.inputs)) {
                failures.push(format!("run {run}: {d}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

#[test]
fn the_ops_give_tensorflows_bits_unfused() {
    check(false);
}

#[test]
fn the_ops_give_tensorflows_bits_fused() {
    check(true);
}

#[test]
fn fused_ops_over_many_blocks_give_the_plain_kernels_bits() {
    // Longer than the fused kernel's blocks and its parallel split, with a tail: every element
    // computed the way the plain kernel computes it, on one and two threads. Sin and cos get
    // arguments up to 30000, past both of Eigen's f32 thresholds for huge ones, so blocks mix
    // the two reductions.
    for (dtype, n) in [(DType::F32, 70_003), (DType::F64, 70_001)] {
        let inputs = |scale: f64| -> Vec<u64> {
            (0..n)
                .map(|i| {
                    let x = (i as f64 * 0.000_37).sin() * scale;
                    match dtype {
                        DType::F32 => (x as f32).to_bits() as u64,
                        _ => x.to_bits(),
                    }
                })
                .collect()
        };
        for (op, scale) in [
            ("sigmoid", 30.0),
            ("tanh", 30.0),
            ("exp", 30.0),
            ("sin", 30_000.0),
            ("cos", 30_000.0),
        ] {
            let inputs = inputs(scale);
            let run = |fusion, threads| session(op, dtype, fusion, threads)(&inputs);
            let plain = run(false, 1);
            assert_eq!(run(true, 1), plain, "{op} {dtype:?} fused, one thread");
            assert_eq!(run(true, 2), plain, "{op} {dtype:?} fused, two threads");
        }
    }
}

/// An f32 input (scanned from -10 up) where the op's packet form, on an element of an
/// 8-element tensor, and its scalar form, on a 1-element tensor, give different bits.
fn telling_input(op: &str) -> f32 {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None::<usize>], "x");
    let y = apply(op, x);
    let sess = Session::new(&g);
    let eval = |xs: Vec<f32>| {
        bits(
            &sess
                .eval(y, &[feed(x, &Value::from(ndarray::Array1::from(xs)))])
                .unwrap(),
        )[0]
    };
    (0..4000)
        .map(|i| -10.0 + i as f32 * 0.003_17)
        .map(|x| if op == "log" { x.abs() } else { x })
        .find(|&x| eval(vec![x; 8]) != eval(vec![x]))
        .unwrap_or_else(|| panic!("{op}'s packet and scalar forms differ somewhere"))
}

#[test]
fn an_op_with_a_tail_form_keeps_its_own_positions_when_its_consumer_broadcasts() {
    // x has 3 elements, all in TF's scalar (tail) form; `op(x) + y` broadcasts it to 12, whose
    // first 8 would take the packet form if the op ran at the consumer's shape. x[0] is a value
    // where the two forms differ. (Tanh's two forms are one function: it has no such value.)
    for op in [
        "sigmoid", "exp", "log", "log1p", "softplus", "elu", "sin", "cos",
    ] {
        let xs = ndarray::Array1::from(vec![telling_input(op), 0.7, 2.9]);
        let ys = ndarray::Array2::from_elem((4, 3), 0.0f32);
        let run = |fusion| {
            let g = Graph::new();
            let x = g.placeholder(DType::F32, [3usize], "x");
            let y = g.placeholder(DType::F32, [4usize, 3], "y");
            let z = apply(op, x) + y;
            let options = CompileOptions {
                fusion,
                ..Default::default()
            };
            let sess = Session::with_options(&g, options);
            let (xv, yv) = (Value::from(xs.clone()), Value::from(ys.clone()));
            bits(&sess.eval(z, &[feed(x, &xv), feed(y, &yv)]).unwrap())
        };
        let (plain, fused) = (run(false), run(true));
        assert_eq!(fused, plain, "{op}");
        // And the unfused result is the op's own on its 3 elements, repeated.
        assert_eq!(plain[..3], plain[9..], "{op}");
    }
}
