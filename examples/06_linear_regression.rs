//! Chapter 06, linear regression on real data: the diabetes data set (442 patients, disease
//! progression after one year), fitted `y = x W + b` by gradient descent in a graph, first on
//! one feature (body mass index) and then on all ten, and checked against the closed-form
//! least-squares solution; test MSE and R² reported.
//!
//! Run with `cargo run --release --example 06_linear_regression`. With `--write-docs` the
//! plots go to docs/img/06-linear-regression.svg, with `--svg PATH` to `PATH`.

#[path = "common/args.rs"]
mod args;

use ndarray::{s, Array1, Array2, Axis};
use rill::datasets::{load_diabetes_raw, train_test_split, Standardizer};
use rill::nn::plot::{Chart, Figure, Legend, Series};
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn main() -> Res {
    let svg_path = args::svg_output("06-linear-regression.svg")?;
    let steps = if std::env::var_os("RILL_SMALL").is_some() {
        300
    } else {
        2000
    };

    // -- the data: raw units (BMI in kg/m², target 25..346), 20% held out for testing
    let data = load_diabetes_raw()?;
    println!(
        "== diabetes: {} patients x {} features ({}), target: progression after one year",
        data.n_samples(),
        data.n_features(),
        data.feature_names.join(", ")
    );
    let split = train_test_split(&data.features, &data.targets, 0.2, 42)?;
    println!(
        "train {} rows, test {} rows",
        split.x_train.nrows(),
        split.x_test.nrows()
    );
    let (y_train, y_test) = (&split.y_train, &split.y_test);
    let baseline = Array1::from_elem(y_test.len(), y_train.mean().unwrap_or(0.0));
    println!(
        "predicting the training mean for everyone: test MSE {:.1}, R² {:.3}",
        mse(&baseline, y_test),
        r2(&baseline, y_test)
    );

    // -- 1. one feature, body mass index
    let bmi = data
        .feature_names
        .iter()
        .position(|n| n == "bmi")
        .ok_or("no bmi column")?;
    let cols = [bmi];
    let one = fit_and_report(
        "bmi only",
        &split.x_train,
        &split.x_test,
        &cols,
        y_train,
        y_test,
        steps,
    )?;

    // -- 2. all ten features
    let all: Vec<usize> = (0..data.n_features()).collect();
    let ten = fit_and_report(
        "all 10 features",
        &split.x_train,
        &split.x_test,
        &all,
        y_train,
        y_test,
        steps,
    )?;

    if let Some(path) = svg_path {
        let x_of = |x: &Array2<f64>| x.column(bmi).to_vec();
        let pts = |xs: Vec<f64>, ys: &Array1<f64>| -> Vec<(f64, f64)> {
            xs.into_iter().zip(ys.iter().copied()).collect()
        };
        let (lo, hi) = x_of(&data.features)
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let line = |(w, b): (f64, f64)| vec![(lo, w * lo + b), (hi, w * hi + b)];
        let scatter = Chart::new("bmi only: data and fitted line")
            .x_label("body mass index (kg/m²)")
            .y_label("disease progression")
            .legend(Legend::TopLeft)
            .series(Series::dots("train", pts(x_of(&split.x_train), y_train)).width(2.0))
            .series(Series::dots("test", pts(x_of(&split.x_test), y_test)).width(2.0))
            .series(
                Series::line("gradient descent", line(one.line))
                    .color("#d62728")
                    .width(3.0),
            )
            .series(
                Series::line("least squares", line(one.exact_line))
                    .color("#000000")
                    .dashed(),
            );
        let (lo, hi) = (0.0, 360.0);
        let parity = Chart::new("all 10 features: test set")
            .x_label("actual")
            .y_label("predicted")
            .x_range(lo, hi)
            .y_range(lo, hi)
            .legend(Legend::TopLeft)
            .series(
                Series::line("predicted = actual", [(lo, lo), (hi, hi)])
                    .color("#7f7f7f")
                    .dashed(),
            )
            .series(
                Series::dots("bmi only", pts(y_test.to_vec(), &one.test_pred))
                    .width(2.0)
                    .color(BMI_ONLY),
            )
            .series(
                Series::dots("all 10 features", pts(y_test.to_vec(), &ten.test_pred))
                    .width(2.0)
                    .color(ALL_TEN),
            );
        let curves = Chart::new("gradient descent approaching least squares")
            .x_label("step")
            .y_label("training MSE - least-squares MSE")
            .log_y()
            .series(Series::from_ys("bmi only", &one.excess).color(BMI_ONLY))
            .series(Series::from_ys("all 10 features", &ten.excess).color(ALL_TEN));
        Figure::new("linear regression on the diabetes data")
            .columns(3)
            .panel(scatter.size(420.0, 340.0))
            .panel(parity.size(420.0, 340.0))
            .panel(curves.size(420.0, 340.0))
            .write(&path)?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

/// A fitted model: test predictions, how far above the least-squares minimum the training
/// MSE was at each step, and for one feature the line (slope, intercept) in the feature's own
/// units, by gradient descent and in closed form.
struct Fitted {
    test_pred: Array1<f64>,
    excess: Vec<f64>,
    line: (f64, f64),
    exact_line: (f64, f64),
}

/// Fits `y = x W + b` on the columns `cols`, standardised, by gradient descent and by least
/// squares, and prints both.
fn fit_and_report(
    what: &str,
    x_train: &Array2<f64>,
    x_test: &Array2<f64>,
    cols: &[usize],
    y_train: &Array1<f64>,
    y_test: &Array1<f64>,
    steps: usize,
) -> Res<Fitted> {
    // Standardising (with the training set's mean and deviation) puts every feature on the
    // same scale, so one learning rate suits all weights.
    let (scaler, xs_train) = Standardizer::fit_transform(&x_train.select(Axis(1), cols))?;
    let xs_test = scaler.transform(&x_test.select(Axis(1), cols))?;
    let d = cols.len();

    // -- the graph: a placeholder for the features, W and b, the MSE, one optimizer op
    let g = Graph::new();
    let x = g.placeholder(DType::F64, [None, Some(d)], "x");
    let y = g.placeholder(DType::F64, [None, Some(1)], "y");
    let w = g.variable(g.zeros(&[d, 1], DType::F64), "W");
    let b = g.variable(g.zeros(&[1], DType::F64), "b");
    let pred = (x.matmul(w) + b).named("prediction");
    let loss = (pred - y).square().mean(ALL, false).named("mse");
    let train = GradientDescent::new(0.1).minimize(loss, None)?;

    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let xv = Value::from(xs_train.clone());
    let yv = Value::from(y_train.clone().insert_axis(Axis(1)));
    let feeds = [feed(x, &xv), feed(y, &yv)];
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        let l = sess.run_with_targets(&[loss], &feeds, &[train])?;
        losses.push(l[0].to_scalar_f64().unwrap_or(f64::NAN));
    }
    let test_pred = Array1::from(
        sess.eval(pred, &[feed(x, &Value::from(xs_test.clone()))])?
            .to_f64_vec(),
    );
    let wv = sess.eval(w, &[])?.to_f64_vec();
    let bv = sess.eval(b, &[])?.to_f64_vec()[0];

    // -- closed form: solve the normal equations [X 1]ᵀ[X 1] beta = [X 1]ᵀ y
    let beta = least_squares(&xs_train, y_train)?;
    let exact_pred = xs_test.dot(&beta.slice(s![..d])) + beta[d];
    let least = mse(&(xs_train.dot(&beta.slice(s![..d])) + beta[d]), y_train);

    println!("\n== {what}: {steps} steps of GradientDescent(0.1) on the training MSE");
    println!(
        "training MSE: first step {:.1}, last step {:.1}, least squares {least:.1}",
        losses[0],
        losses[steps - 1]
    );
    println!(
        "{:<20} {:>10} {:>10}",
        "weights (std. units)", "descent", "exact"
    );
    let names = cols.iter().map(|c| FEATURES[*c]).chain(["(bias)"]);
    for (i, name) in names.enumerate() {
        let (gd, ex) = if i < d {
            (wv[i], beta[i])
        } else {
            (bv, beta[d])
        };
        println!("  {name:<18} {gd:>10.3} {ex:>10.3}");
    }
    println!(
        "test MSE {:.1} (least squares {:.1}), R² {:.3} (least squares {:.3})",
        mse(&test_pred, y_test),
        mse(&exact_pred, y_test),
        r2(&test_pred, y_test),
        r2(&exact_pred, y_test)
    );
    let gap = (mse(&test_pred, y_test) - mse(&exact_pred, y_test)).abs() / mse(&exact_pred, y_test);
    if gap > 0.01 {
        return Err(format!(
            "{what}: gradient descent is {:.1}% off the least-squares MSE",
            gap * 100.0
        )
        .into());
    }

    // For one feature, the line in the feature's own units: y = w (x - mean) / scale + b.
    let line = |w: f64, b: f64| {
        let (m, sc) = (scaler.mean()[0], scaler.scale()[0]);
        (w / sc, b - w * m / sc)
    };
    Ok(Fitted {
        test_pred,
        excess: losses.iter().map(|l| l - least).collect(),
        line: line(wv[0], bv),
        exact_line: line(beta[0], beta[d]),
    })
}

/// The two models' colours in the plots.
const BMI_ONLY: &str = "#9467bd";
const ALL_TEN: &str = "#2ca02c";

const FEATURES: [&str; 10] = [
    "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
];

/// Ordinary least squares with an intercept: the last entry of the result is the intercept.
fn least_squares(x: &Array2<f64>, y: &Array1<f64>) -> Res<Array1<f64>> {
    let ones = Array2::ones((x.nrows(), 1));
    let a = ndarray::concatenate![Axis(1), x.view(), ones.view()];
    solve(a.t().dot(&a), a.t().dot(y))
}

/// Solves `m z = v` by Gaussian elimination with partial pivoting.
fn solve(mut m: Array2<f64>, mut v: Array1<f64>) -> Res<Array1<f64>> {
    let n = v.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| m[[i, col]].abs().total_cmp(&m[[j, col]].abs()))
            .unwrap_or(col);
        if m[[pivot, col]].abs() < 1e-12 {
            return Err("singular normal equations".into());
        }
        for k in 0..n {
            m.swap([col, k], [pivot, k]);
        }
        v.swap(col, pivot);
        for row in col + 1..n {
            let f = m[[row, col]] / m[[col, col]];
            for k in col..n {
                m[[row, k]] -= f * m[[col, k]];
            }
            v[row] -= f * v[col];
        }
    }
    let mut z = Array1::zeros(n);
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| m[[row, k]] * z[k]).sum();
        z[row] = (v[row] - rest) / m[[row, row]];
    }
    Ok(z)
}

fn mse(pred: &Array1<f64>, y: &Array1<f64>) -> f64 {
    (pred - y).mapv(|e| e * e).mean().unwrap_or(f64::NAN)
}

/// The coefficient of determination: 1 - (residual sum of squares) / (total sum of squares).
fn r2(pred: &Array1<f64>, y: &Array1<f64>) -> f64 {
    let mean = y.mean().unwrap_or(0.0);
    let ss_res: f64 = (pred - y).mapv(|e| e * e).sum();
    let ss_tot: f64 = y.mapv(|v| (v - mean) * (v - mean)).sum();
    1.0 - ss_res / ss_tot
}
