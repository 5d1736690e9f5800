//! Chapter 10, a real classifier: an MLP on scikit-learn's handwritten digits (1797 images of
//! 8x8 pixels, 10 classes). Train/test split, standardisation fitted on the training set,
//! Dense(64, relu) -> Dropout(0.2) -> Dense(10, softmax), Adam, sparse categorical
//! cross-entropy with accuracy, a validation split and early stopping; then the test accuracy
//! (the example fails below 95%), a confusion matrix and a few misclassified digits drawn in
//! text.
//!
//! Run with `cargo run --release --example 10_classifier`. `RILL_SMALL=1` trains for fewer
//! epochs for CI. Pictures are written only on request: `-- --write-docs` writes them to
//! docs/img/, `-- --out DIR` to DIR.

#[path = "common/args.rs"]
mod args;

use ndarray::{Array1, Array2, Axis};
use rill::datasets::{load_digits, train_test_split, Standardizer};
use rill::nn::{Adam, Dense, Dropout, EarlyStopping, FitArgs, Sequential};
use std::error::Error;

type Res<T = ()> = Result<T, Box<dyn Error>>;

fn main() -> Res {
    let out_dir = args::picture_dir()?;
    let small = std::env::var("RILL_SMALL").is_ok_and(|v| v == "1");
    let epochs = if small { 15 } else { 60 };

    // -- the data: 64 pixel intensities (0..=16) per image, labels 0..=9
    let digits = load_digits()?;
    println!(
        "== {}: {} samples, {} features, {} classes; per class: {:?}",
        digits.name,
        digits.n_samples(),
        digits.n_features(),
        digits.num_classes(),
        digits.class_counts()
    );
    let split = train_test_split(&digits.features, &digits.targets, 0.2, 42)?;
    // Standardise with the training set's statistics only: the test set stays unseen.
    let (scaler, x_train) = Standardizer::fit_transform(&split.x_train)?;
    let x_test = scaler.transform(&split.x_test)?;
    let (x_train, x_test) = (x_train.mapv(|v| v as f32), x_test.mapv(|v| v as f32));
    let (y_train, y_test) = (split.y_train.clone(), split.y_test.clone());
    println!(
        "train/test split 80/20 (seed 42): {} training, {} test samples",
        x_train.nrows(),
        x_test.nrows()
    );

    // -- the model
    let mut model = Sequential::new(vec![
        Box::new(Dense::new(64).input_dim(64).activation("relu")),
        Box::new(Dropout::new(0.2)),
        Box::new(Dense::new(10).activation("softmax")),
    ])
    .with_seed(1);
    model.compile(
        Adam::new(0.001),
        "sparse_categorical_crossentropy",
        &["accuracy"],
    )?;
    println!("\n{}", model.summary()?);

    // -- train: the last 15% of the training set validates; stop when val_loss stalls
    let mut stop = EarlyStopping::new("val_loss")
        .patience(8)
        .restore_best_weights(true);
    let history = model.fit(
        &x_train,
        &y_train,
        FitArgs::default()
            .epochs(epochs)
            .batch_size(32)
            .validation_split(0.15)
            .verbose(0)
            .callback(&mut stop),
    )?;
    println!("== training (Adam lr 0.001, batch 32, validation_split 0.15)");
    println!("  epoch     loss accuracy val_loss val_accuracy");
    let get = |k: &str, i: usize| history.get(k).map_or(f64::NAN, |v| v[i]);
    let n = history.epoch.len();
    for (i, e) in history.epoch.iter().enumerate() {
        if i < 3 || (e + 1) % 5 == 0 || i + 1 == n {
            println!(
                "  {:>5} {:>8.4} {:>8.4} {:>8.4} {:>12.4}",
                e + 1,
                get("loss", i),
                get("accuracy", i),
                get("val_loss", i),
                get("val_accuracy", i)
            );
        }
    }
    match (stop.stopped_epoch, stop.best_epoch) {
        (Some(s), Some(b)) => println!(
            "early stopping: stopped after epoch {}, restored the weights of epoch {} (best val_loss)",
            s + 1,
            b + 1
        ),
        (None, Some(b)) => println!(
            "ran all {n} epochs; restored the weights of epoch {} (best val_loss)",
            b + 1
        ),
        _ => {}
    }

    // -- test
    let eval = model.evaluate(&x_test, &y_test, 32)?;
    let (test_loss, test_acc) = (eval[0], eval[1]);
    println!("\n== model.evaluate(test): loss {test_loss:.4}, accuracy {test_acc:.4}");
    let probs: Array2<f32> = model.predict(&x_test, 32)?.into_dimensionality()?;
    let predicted: Array1<usize> = probs.map_axis(Axis(1), |row| argmax(row.iter().copied()));
    let confusion = confusion_matrix(&y_test, &predicted, 10);
    print_confusion(&confusion);

    // A few digits the model got wrong, drawn from the raw pixels.
    let wrong: Vec<usize> = (0..y_test.len())
        .filter(|&i| predicted[i] as i64 != y_test[i])
        .collect();
    println!(
        "\n== {} of {} test digits misclassified; the first few:",
        wrong.len(),
        y_test.len()
    );
    for &i in wrong.iter().take(3) {
        let p = probs.row(i);
        println!(
            "true {}, predicted {} (p = {:.2}; p(true) = {:.2})",
            y_test[i], predicted[i], p[predicted[i]], p[y_test[i] as usize]
        );
        draw_digit(split.x_test.row(i));
    }

    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("10-learning-curves.svg");
        history.to_svg(&path)?;
        println!("\nwrote {}", path.display());
    }

    let want = if small { 0.90 } else { 0.95 };
    if test_acc < want {
        return Err(format!(
            "test accuracy {:.2}% is below the chapter's claim of {:.0}%",
            100.0 * test_acc,
            100.0 * want
        )
        .into());
    }
    println!(
        "\ntest accuracy {:.1}% >= {:.0}%: the claim holds",
        100.0 * test_acc,
        100.0 * want
    );
    Ok(())
}

fn argmax(values: impl Iterator<Item = f32>) -> usize {
    values
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// `m[true][predicted]` counts.
fn confusion_matrix(
    truth: &Array1<i64>,
    predicted: &Array1<usize>,
    classes: usize,
) -> Array2<usize> {
    let mut m = Array2::zeros((classes, classes));
    for (&t, &p) in truth.iter().zip(predicted) {
        m[[t as usize, p]] += 1;
    }
    m
}

fn print_confusion(m: &Array2<usize>) {
    println!("confusion matrix (rows: true digit, columns: predicted digit; '.' is 0):");
    print!("      ");
    for c in 0..m.ncols() {
        print!("{c:>4}");
    }
    println!("   recall");
    for (t, row) in m.outer_iter().enumerate() {
        print!("  {t:>2} |");
        for &v in row {
            if v == 0 {
                print!("{:>4}", ".");
            } else {
                print!("{v:>4}");
            }
        }
        let total: usize = row.sum();
        println!("   {:.3}", row[t] as f64 / total.max(1) as f64);
    }
    print!("  prec ");
    for c in 0..m.ncols() {
        let col: usize = m.column(c).sum();
        print!(" {:.2}", m[[c, c]] as f64 / col.max(1) as f64);
    }
    println!();
}

/// An 8x8 digit in text: pixel intensity 0..=16 as one of ` .:-=+*#%@`.
fn draw_digit(pixels: ndarray::ArrayView1<'_, f64>) {
    const RAMP: &[u8] = b" .:-=+*#%@";
    for row in pixels.to_vec().chunks(8) {
        let line: String = row
            .iter()
            .map(|&v| {
                let k = ((v / 16.0) * (RAMP.len() - 1) as f64).round() as usize;
                let c = RAMP[k.min(RAMP.len() - 1)] as char;
                format!("{c}{c}")
            })
            .collect();
        println!("    |{line}|");
    }
}
