//! Finite-difference gradient checking in f64, as TF's `compute_gradient`: the symbolic Jacobian
//! (one run of the gradient graph per output element) against central differences.

use ndarray::{ArrayD, IxDyn};
use rill::compiler::gradients;
use rill::prelude::*;
use std::collections::BTreeSet;

/// Step and tolerance TF uses for f64.
pub const DELTA: f64 = 1e-5;
pub const TOLERANCE: f64 = 1e-5;

/// Builds the graph `f(inputs)` on placeholders of the given shapes, checks the symbolic
/// Jacobian against central differences, and returns the op types of the forward graph.
pub fn check<F>(name: &str, inputs: &[ArrayD<f64>], f: F) -> BTreeSet<&'static str>
where
    F: for<'g> Fn(&'g Graph, &[Tensor<'g>]) -> Tensor<'g>,
{
    let g = Graph::new();
    let xs: Vec<Tensor<'_>> = inputs
        .iter()
        .enumerate()
        .map(|(i, a)| g.placeholder(DType::F64, a.shape(), &format!("x{i}")))
        .collect();
    let y = f(&g, &xs);
    let ops: BTreeSet<&'static str> =
        g.with_nodes(|nodes| nodes.iter().map(|n| n.op.type_name()).collect());
    let y_shape = y
        .shape()
        .to_known()
        .expect("checked functions have static output shapes");
    let gy = g.placeholder(DType::F64, y.shape(), "grad_y");
    let grads = gradients(&[y], &xs, Some(&[gy])).unwrap_or_else(|e| panic!("{name}: {e}"));
    let sess = Session::new(&g);
    let values: Vec<Value> = inputs.iter().map(|a| Value::from(a.clone())).collect();
    let run_y = |vals: &[Value]| -> Vec<f64> {
        let feeds: Vec<Feed<'_>> = xs.iter().zip(vals).map(|(x, v)| feed(*x, v)).collect();
        sess.eval(y, &feeds)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .to_f64_vec()
    };
    let n_out: usize = y_shape.iter().product();
    for (k, x) in xs.iter().enumerate() {
        let n_in = inputs[k].len();
        // Symbolic Jacobian, one row per output element.
        let mut symbolic = vec![vec![0.0; n_in]; n_out];
        if let Some(dx) = grads[k] {
            for (j, row) in symbolic.iter_mut().enumerate() {
                let mut e = vec![0.0; n_out];
                e[j] = 1.0;
                let ev = Value::from(ArrayD::from_shape_vec(IxDyn(&y_shape), e).unwrap());
                let mut feeds: Vec<Feed<'_>> =
                    xs.iter().zip(&values).map(|(x, v)| feed(*x, v)).collect();
                feeds.push(feed(gy, &ev));
                let d = sess
                    .eval(dx, &feeds)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(
                    d.shape(),
                    inputs[k].shape(),
                    "{name}: gradient of x{k} has the wrong shape"
                );
                *row = d.to_f64_vec();
            }
        }
        // Numeric Jacobian, one column per input element (`i` picks both the perturbed element
        // and the Jacobian column, so a range loop is the clear form).
        #[allow(clippy::needless_range_loop)]
        for i in 0..n_in {
            let mut plus = values.clone();
            let mut minus = values.clone();
            bump(&mut plus[k], i, DELTA);
            bump(&mut minus[k], i, -DELTA);
            let (yp, ym) = (run_y(&plus), run_y(&minus));
            for j in 0..n_out {
                let numeric = (yp[j] - ym[j]) / (2.0 * DELTA);
                let s = symbolic[j][i];
                assert!(
                    (s - numeric).abs() <= TOLERANCE * numeric.abs().max(1.0),
                    "{name}: d y[{j}] / d x{k}[{i}]: symbolic {s} vs numeric {numeric} (x{k} = {:?})",
                    inputs[k]
                );
            }
        }
        let _ = x;
    }
    ops
}

fn bump(v: &mut Value, i: usize, d: f64) {
    if let Value::F64(a) = v {
        let slice = a.as_slice_mut().expect("standard layout");
        slice[i] += d;
    }
}

/// A deterministic f64 array with values in [lo, hi), for inputs away from kinks.
pub fn array(shape: &[usize], seed: u64, lo: f64, hi: f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let data = (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            lo + (hi - lo) * u
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).unwrap()
}
