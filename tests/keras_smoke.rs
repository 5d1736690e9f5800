//! Smoke test of the Keras-style model: the tutorial's model trains and predicts.

use ndarray::{Array2, Axis};
use rill::nn::{Dense, FitArgs, Sequential};

#[test]
fn tutorial_model_learns_the_circle() {
    let n = 1000;
    let mut x = Array2::<f32>::zeros((n, 2));
    let mut y = Array2::<f32>::zeros((n, 1));
    let mut s = 1u64;
    for i in 0..n {
        for j in 0..2 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x[[i, j]] = ((s >> 40) as f32 / (1u64 << 24) as f32) * 3.0 - 1.5;
        }
        y[[i, 0]] = if x[[i, 0]].powi(2) + x[[i, 1]].powi(2) < 1.0 {
            1.0
        } else {
            0.0
        };
    }
    let mut model = Sequential::default().with_seed(1);
    model.add(Dense::new(10).input_dim(2).activation("sigmoid"));
    model.add(Dense::new(10).activation("sigmoid"));
    model.add(Dense::new(1).activation("sigmoid"));
    model
        .compile("adam", "binary_crossentropy", &["accuracy"])
        .unwrap();
    println!("{}", model.summary().unwrap());
    let h = model
        .fit(
            &x,
            &y,
            FitArgs::default()
                .epochs(30)
                .batch_size(32)
                .verbose(2)
                .validation_split(0.2),
        )
        .unwrap();
    let loss = h.get("loss").unwrap();
    assert!(loss.last().unwrap() < &loss[0]);
    let p = model.predict(&x, 32).unwrap();
    assert_eq!(p.shape(), &[n, 1]);
    let ev = model.evaluate(&x, &y, 32).unwrap();
    assert_eq!(ev.len(), 2);
    let _ = x.len_of(Axis(0));
}
