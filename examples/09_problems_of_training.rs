//! Chapter 09, the problems of training deep networks, each shown by an experiment:
//! (a) vanishing gradients: the per-layer gradient norms of a 10-layer sigmoid network, taken
//! with `rill::compiler::gradients` on a hand-built graph, against a ReLU network (Glorot and
//! He initialisation); (b) overfitting: a small subset of the digits trained without
//! regularisation, with Dropout, with an L2 penalty and with EarlyStopping; (c) slow optimisers:
//! SGD, Momentum, RMSprop, Adagrad and Adam on one task.
//!
//! Run with `cargo run --release --example 09_problems_of_training`. `RILL_SMALL=1` shrinks
//! the epochs for CI. Pictures are written only on request: `-- --write-docs` writes them to
//! docs/img/, `-- --out DIR` to DIR.

#[path = "common/args.rs"]
mod args;

use ndarray::{Array1, Array2, Axis};
use rill::compiler::gradients;
use rill::datasets::{load_digits, train_test_split, Standardizer};
use rill::nn::model::OptimizerSpec;
use rill::nn::plot::{Chart, Figure, Legend, Series, PALETTE};
use rill::nn::{
    Adagrad, Adam, Dense, Dropout, EarlyStopping, FitArgs, GradientDescent, History, Momentum,
    Regularizer, RmsProp, Sequential,
};
use rill::prelude::*;
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn main() -> Res {
    let out_dir = args::picture_dir()?;
    let small = std::env::var("RILL_SMALL").is_ok_and(|v| v == "1");
    if let Some(dir) = &out_dir {
        std::fs::create_dir_all(dir)?;
    }

    let norms = vanishing_gradients()?;
    if let Some(dir) = &out_dir {
        let path = dir.join("09-gradient-norms.svg");
        norms.write(&path)?;
        println!("wrote {}", path.display());
    }

    let overfit = overfitting(small)?;
    if let Some(dir) = &out_dir {
        let path = dir.join("09-overfitting.svg");
        overfit.write(&path)?;
        println!("wrote {}", path.display());
    }

    let optimizers = optimizers_compared(small)?;
    if let Some(dir) = &out_dir {
        let path = dir.join("09-optimizers.svg");
        optimizers.write(&path)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (a) vanishing gradients

const DEPTH: usize = 10;
const WIDTH: usize = 32;

/// Chapter 08's data: points in [-1.5, 1.5]^2, y = 1 inside the unit circle.
fn circle_data(n: usize, seed: u64) -> Res<(Array2<f32>, Array2<f32>)> {
    let g = Graph::new();
    let x = g.random_uniform(&[n, 2], -1.5, 1.5, DType::F32, Some(seed));
    let x: Array2<f32> = Session::new(&g)
        .eval(x, &[])?
        .into_array::<f32>()
        .map_err(|v| format!("random_uniform gave {}", v.dtype()))?
        .into_dimensionality()?;
    let y = x
        .map_axis(Axis(1), |p| f32::from(p[0] * p[0] + p[1] * p[1] < 1.0))
        .insert_axis(Axis(1));
    Ok((x, y))
}

/// One deep network, built by hand: `DEPTH` dense layers (`DEPTH - 1` hidden of `WIDTH` units
/// with `activation`, a sigmoid output), MSE on a batch. Returns the L2 norm of the loss's
/// gradient with respect to each layer's kernel, first layer first.
fn layer_gradient_norms(
    activation: &str,
    init: Initializer,
    x: &Array2<f32>,
    y: &Array2<f32>,
) -> Res<Vec<f64>> {
    let g = Graph::new();
    g.set_random_seed(11);
    let xp = g.placeholder(DType::F32, [None, Some(2)], "x");
    let yp = g.placeholder(DType::F32, [None, Some(1)], "y");
    let mut h = xp;
    let mut kernels = Vec::new();
    for layer in 0..DEPTH {
        let _scope = g.name_scope(&format!("dense_{layer}"));
        let (fan_in, units) = match layer {
            0 => (2, WIDTH),
            l if l == DEPTH - 1 => (WIDTH, 1),
            _ => (WIDTH, WIDTH),
        };
        let w = g.variable_init(&[fan_in, units], DType::F32, init, "kernel");
        let b = g.variable_init(&[units], DType::F32, Initializer::Zeros, "bias");
        let z = h.matmul(w) + b;
        h = if layer == DEPTH - 1 || activation == "sigmoid" {
            z.sigmoid()
        } else {
            z.relu()
        };
        kernels.push(w);
    }
    let loss = (h - yp).square().mean(ALL, false);
    // d loss / d kernel for every layer at once: more nodes in the same graph.
    let grads = gradients(&[loss], &kernels, None)?;
    let norms: Vec<Tensor<'_>> = grads
        .into_iter()
        .map(|d| d.map(|d| d.square().sum(ALL, false).sqrt()))
        .collect::<Option<_>>()
        .ok_or("a kernel has no gradient")?;
    let sess = Session::new(&g);
    sess.run_target(g.global_variables_initializer())?;
    let (xv, yv) = (Value::from(x.clone()), Value::from(y.clone()));
    let out = sess.run(&norms, &[feed(xp, &xv), feed(yp, &yv)])?;
    out.iter()
        .map(|v| {
            v.to_scalar_f64()
                .ok_or_else(|| "a norm is not a scalar".into())
        })
        .collect()
}

fn vanishing_gradients() -> Res<Figure> {
    println!("== (a) vanishing gradients");
    println!(
        "A {DEPTH}-layer network ({} hidden layers of {WIDTH} units, sigmoid output, MSE) on a \
         batch of 500 circle points; the L2 norm of d(loss)/d(kernel) per layer, at initialisation:",
        DEPTH - 1
    );
    let (x, y) = circle_data(500, 1)?;
    let runs: [(&str, &str, Initializer); 3] = [
        (
            "sigmoid, glorot_uniform",
            "sigmoid",
            Initializer::GlorotUniform { seed: None },
        ),
        (
            "relu, glorot_uniform",
            "relu",
            Initializer::GlorotUniform { seed: None },
        ),
        (
            "relu, he_normal",
            "relu",
            Initializer::HeNormal { seed: None },
        ),
    ];
    let mut table = Vec::new();
    for (name, act, init) in runs {
        table.push((name, layer_gradient_norms(act, init, &x, &y)?));
    }
    print!("  layer");
    for (name, _) in &table {
        print!(" {name:>24}");
    }
    println!();
    for layer in 0..DEPTH {
        print!("  {:>5}", layer + 1);
        for (_, norms) in &table {
            print!(" {:>24.3e}", norms[layer]);
        }
        println!();
    }
    // Layers 2 to DEPTH - 1 all have WIDTH x WIDTH kernels, so their norms compare directly.
    let last_hidden = DEPTH - 1;
    print!("  2 / {last_hidden}");
    for (_, norms) in &table {
        print!(" {:>24.3e}", norms[1] / norms[last_hidden - 1]);
    }
    println!("\n");

    let ratio = |norms: &[f64]| norms[1] / norms[last_hidden - 1];
    let (sigmoid_ratio, he_ratio) = (ratio(&table[0].1), ratio(&table[2].1));
    println!(
        "Between hidden layers {last_hidden} and 2 (both {WIDTH}x{WIDTH} kernels) the sigmoid \
         network's gradient shrinks by a factor {:.1e}; the ReLU network with He \
         initialisation keeps {:.2} of it.",
        1.0 / sigmoid_ratio,
        he_ratio
    );
    // The chapter's claim: sigmoid gradients shrink by orders of magnitude towards the input,
    // ReLU with He initialisation keeps them within one order of magnitude.
    if sigmoid_ratio > 1e-3 || !(0.1..=10.0).contains(&he_ratio) {
        return Err(format!(
            "expected vanishing sigmoid gradients (ratio {sigmoid_ratio:.2e}) and stable ReLU+He \
             gradients (ratio {he_ratio:.2})"
        )
        .into());
    }

    let mut chart = Chart::new(&format!(
        "gradient norm per layer of a {DEPTH}-layer network, at initialisation"
    ))
    .x_label("layer (1 = next to the input)")
    .y_label("|d loss / d kernel|")
    .log_y()
    .legend(Legend::BottomRight)
    .size(640.0, 360.0);
    for (i, (name, norms)) in table.iter().enumerate() {
        let pts = norms.iter().enumerate().map(|(l, &n)| (l as f64 + 1.0, n));
        chart.push(Series::line_and_dots(name, pts).color(PALETTE[i]));
    }
    Ok(Figure::new("").panel(chart))
}

// ---------------------------------------------------------------------------------------------
// (b) overfitting

/// One overfitting experiment: a name, its model, and whether early stopping watches it.
struct Run {
    name: &'static str,
    model: Sequential,
    early_stopping: bool,
}

/// What an overfitting run measured on the validation set.
struct Outcome {
    epochs: usize,
    best: f64,
    best_epoch: usize,
    final_loss: f64,
    /// Cross-entropy alone (without a weight penalty) at the end.
    xent: f64,
}

fn digits_model(dropout: bool, l2: Option<f64>) -> Sequential {
    let dense = |units: usize| {
        let d = Dense::new(units).activation("relu");
        match l2 {
            Some(l) => d.kernel_regularizer(Regularizer::L2(l)),
            None => d,
        }
    };
    let mut m = Sequential::default().with_seed(5);
    m.add(dense(256).input_dim(64));
    if dropout {
        m.add(Dropout::new(0.3));
    }
    m.add(dense(256));
    if dropout {
        m.add(Dropout::new(0.3));
    }
    m.add(Dense::new(10).activation("softmax"));
    m
}

fn overfitting(small: bool) -> Res<Figure> {
    println!("\n== (b) overfitting");
    let epochs = if small { 40 } else { 150 };
    let digits = load_digits()?;
    // A small training set (100 digits) and a large held-out set make overfitting easy to see.
    let split = train_test_split(&digits.features, &digits.targets, 0.9, 3)?;
    let (scaler, x_train) = Standardizer::fit_transform(&split.x_train)?;
    let x_val = scaler.transform(&split.x_test)?;
    let (x_train, x_val) = (x_train.mapv(|v| v as f32), x_val.mapv(|v| v as f32));
    let (y_train, y_val): (Array1<i64>, Array1<i64>) = (split.y_train, split.y_test);
    println!(
        "digits: {} training samples, {} validation samples; 64-256-256-10 ReLU network, \
         Adam(lr 0.001), batch 32, up to {epochs} epochs",
        x_train.nrows(),
        x_val.nrows()
    );

    let runs = vec![
        Run {
            name: "no regularisation",
            model: digits_model(false, None),
            early_stopping: false,
        },
        Run {
            name: "Dropout(0.3)",
            model: digits_model(true, None),
            early_stopping: false,
        },
        Run {
            name: "L2(0.001) on kernels",
            model: digits_model(false, Some(0.001)),
            early_stopping: false,
        },
        Run {
            name: "EarlyStopping(patience 10)",
            model: digits_model(false, None),
            early_stopping: true,
        },
    ];
    println!(
        "  {:<28} {:>6} {:>9} {:>7} {:>19} {:>9} {:>8}",
        "", "epochs", "train acc", "val acc", "best val_loss (ep)", "val_loss", "val xent"
    );
    let mut fig = Figure::new(&format!(
        "training (solid) and validation (dashed) loss, {} training digits",
        x_train.nrows()
    ))
    .columns(2);
    let mut results = Vec::new();
    for mut run in runs {
        run.model.compile(
            Adam::new(0.001),
            "sparse_categorical_crossentropy",
            &["accuracy"],
        )?;
        let mut stop = EarlyStopping::new("val_loss")
            .patience(10)
            .restore_best_weights(true);
        let mut args = FitArgs::default()
            .epochs(epochs)
            .batch_size(32)
            .verbose(0)
            .validation_data(&x_val, &y_val);
        if run.early_stopping {
            args = args.callback(&mut stop);
        }
        let h = run.model.fit(&x_train, &y_train, args)?;
        // Measured after training (and after early stopping restored its best weights).
        let train = run.model.evaluate(&x_train, &y_train, 256)?;
        let val = run.model.evaluate(&x_val, &y_val, 256)?;
        let val_losses = h.get("val_loss").unwrap_or(&[]);
        let best = val_losses.iter().copied().fold(f64::INFINITY, f64::min);
        let best_epoch = val_losses.iter().position(|&v| v == best).unwrap_or(0);
        // Keras's loss includes the L2 penalty; the cross-entropy alone compares all four.
        let xent = cross_entropy(&run.model.predict(&x_val, 256)?, &y_val)?;
        println!(
            "  {:<28} {:>6} {:>9.4} {:>7.4} {:>12.4} ({:>3}) {:>9.4} {:>8.4}",
            run.name,
            h.epoch.len(),
            train[1],
            val[1],
            best,
            best_epoch + 1,
            val[0],
            xent
        );
        fig.push(loss_chart(run.name, &h, epochs));
        results.push(Outcome {
            epochs: h.epoch.len(),
            best,
            best_epoch,
            final_loss: val[0],
            xent,
        });
    }
    let [plain, dropout, l2, early] = &results[..] else {
        return Err("expected four runs".into());
    };
    println!(
        "Without regularisation the validation loss bottoms out at {:.4} (epoch {}) and ends at \
         {:.4}: the network keeps fitting its {} training digits while getting worse on new ones.",
        plain.best,
        plain.best_epoch + 1,
        plain.final_loss,
        x_train.nrows()
    );
    // The chapter's claims, checked.
    let rise = |r: &Outcome| r.final_loss / r.best;
    let checks = [
        (
            plain.best_epoch + 1 < epochs / 2 && rise(plain) > 1.03,
            "without regularisation the validation loss rises again after an early minimum",
        ),
        (
            dropout.best < plain.best,
            "dropout reaches a lower validation loss than no regularisation",
        ),
        (
            rise(l2) < 1.03 && l2.xent < plain.xent,
            "with L2 the validation loss does not rise, and its cross-entropy ends lower",
        ),
        (
            early.epochs < epochs && (early.final_loss - early.best).abs() < 1e-4,
            "early stopping stops and restores the weights of the best epoch",
        ),
    ];
    if small {
        println!("  (RILL_SMALL: {epochs} epochs are too few to check the claims)");
        return Ok(fig);
    }
    for (ok, claim) in checks {
        println!("  [{}] {claim}", if ok { "ok" } else { "FAILED" });
        if !ok {
            return Err(format!("claim failed: {claim}").into());
        }
    }
    Ok(fig)
}

/// Mean `-log p(true class)` of predicted class probabilities.
fn cross_entropy(probs: &ndarray::ArrayD<f32>, labels: &Array1<i64>) -> Res<f64> {
    let probs: Array2<f32> = probs.clone().into_dimensionality()?;
    let total: f64 = probs
        .outer_iter()
        .zip(labels)
        .map(|(p, &l)| -f64::from(p[l as usize].max(1e-7)).ln())
        .sum();
    Ok(total / labels.len() as f64)
}

fn loss_chart(title: &str, h: &History, epochs: usize) -> Chart {
    let curve = |key: &str| -> Vec<(f64, f64)> {
        h.get(key)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as f64 + 1.0, v))
            .collect()
    };
    let mut chart = Chart::new(title)
        .x_label("epoch")
        .y_label("loss")
        .x_range(0.0, epochs as f64)
        .y_range(0.0, 1.0)
        .legend(Legend::TopRight);
    chart.push(Series::line("training", curve("loss")).color(PALETTE[0]));
    chart.push(
        Series::line("validation", curve("val_loss"))
            .color(PALETTE[1])
            .dashed(),
    );
    chart
}

// ---------------------------------------------------------------------------------------------
// (c) optimizers compared

fn optimizers_compared(small: bool) -> Res<Figure> {
    println!("\n== (c) optimizers compared");
    let epochs = if small { 5 } else { 40 };
    let (x, y) = circle_data(4000, 1)?;
    println!(
        "Chapter 08's task and network (2-10-10-1, sigmoid, MSE) on 4000 points, batch 32, \
         {epochs} epochs, each optimizer at Keras's default learning rate:"
    );
    let optimizers: Vec<(&str, OptimizerSpec)> = vec![
        ("SGD(0.01)", GradientDescent::new(0.01).into()),
        (
            "Momentum(0.01, 0.9)",
            Momentum::new(0.01, 0.9, false).into(),
        ),
        ("RMSprop(0.001)", RmsProp::new(0.001).into()),
        ("Adagrad(0.001)", Adagrad::new(0.001).into()),
        ("Adam(0.001)", Adam::new(0.001).into()),
    ];
    let mut chart = Chart::new("training loss per epoch, one network, five optimizers")
        .x_label("epoch")
        .y_label("loss (mse)")
        .legend(Legend::BottomLeft)
        .size(640.0, 360.0);
    println!(
        "  {:<20} {:>10} {:>10} {:>10}",
        "optimizer", "epoch 1", "last", "accuracy"
    );
    let mut finals = Vec::new();
    for (i, (name, opt)) in optimizers.into_iter().enumerate() {
        let mut model = Sequential::new(vec![
            Box::new(Dense::new(10).input_dim(2).activation("sigmoid")),
            Box::new(Dense::new(10).activation("sigmoid")),
            Box::new(Dense::new(1).activation("sigmoid")),
        ])
        .with_seed(7);
        model.compile(opt, "mean_squared_error", &["accuracy"])?;
        let h = model.fit(
            &x,
            &y,
            FitArgs::default().epochs(epochs).batch_size(32).verbose(0),
        )?;
        let loss = h.get("loss").unwrap_or(&[]);
        let acc = h.get("accuracy").unwrap_or(&[]);
        println!(
            "  {:<20} {:>10.4} {:>10.4} {:>10.4}",
            name,
            loss.first().copied().unwrap_or(f64::NAN),
            loss.last().copied().unwrap_or(f64::NAN),
            acc.last().copied().unwrap_or(f64::NAN)
        );
        let pts = loss.iter().enumerate().map(|(e, &l)| (e as f64 + 1.0, l));
        chart.push(Series::line(name, pts).color(PALETTE[i]));
        finals.push((name, loss.last().copied().unwrap_or(f64::NAN)));
    }
    // The claim: the adaptive methods leave the plateau that plain SGD stays on.
    let (sgd, rmsprop, adam) = (finals[0].1, finals[2].1, finals[4].1);
    if small {
        println!("  (RILL_SMALL: {epochs} epochs are too few to check the claim)");
    } else if adam.is_nan() || rmsprop.is_nan() || adam >= 0.5 * sgd || rmsprop >= sgd {
        return Err(format!(
            "expected Adam ({adam:.4}) and RMSprop ({rmsprop:.4}) to end well below SGD ({sgd:.4})"
        )
        .into());
    }
    Ok(Figure::new("").panel(chart))
}
