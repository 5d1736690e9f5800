//! `fit`, `evaluate` and `predict`: the mini-batch loops, with Keras's defaults and semantics.

use super::data::{gather_into, Inputs, Targets};
use super::progress::Progress;
use super::{Compiled, Head, Sequential};
use crate::callbacks::{Callback, CallbackContext};
use crate::error::{NnError, Result};
use crate::history::History;
use crate::losses::Loss;
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rill_graph::{TensorId, Value};
use rill_runtime::feed;

/// Validation data for `fit`.
pub enum Validation<'a> {
    None,
    /// Take this fraction of the samples, from the end, before shuffling (Keras).
    Split(f64),
    /// Explicit `(x, y)`; overrides a split.
    Data(&'a dyn Inputs, &'a dyn Targets),
}

/// `fit`'s arguments, with Keras's defaults: batch size 32, 1 epoch, verbose 1, shuffle on.
pub struct FitArgs<'a> {
    pub epochs: usize,
    pub batch_size: usize,
    pub verbose: u8,
    pub validation: Validation<'a>,
    pub shuffle: bool,
    /// Seed of the per-epoch shuffle.
    pub seed: u64,
    pub callbacks: Vec<&'a mut dyn Callback>,
    /// Refuse inputs with NaN or infinities (off by default, as the check costs a pass).
    pub check_finite: bool,
}

impl Default for FitArgs<'_> {
    fn default() -> Self {
        FitArgs {
            epochs: 1,
            batch_size: 32,
            verbose: 1,
            validation: Validation::None,
            shuffle: true,
            seed: 0,
            callbacks: Vec::new(),
            check_finite: false,
        }
    }
}

impl<'a> FitArgs<'a> {
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }
    pub fn verbose(mut self, v: u8) -> Self {
        self.verbose = v;
        self
    }
    pub fn validation_split(mut self, fraction: f64) -> Self {
        self.validation = Validation::Split(fraction);
        self
    }
    pub fn validation_data(mut self, x: &'a dyn Inputs, y: &'a dyn Targets) -> Self {
        self.validation = Validation::Data(x, y);
        self
    }
    pub fn shuffle(mut self, on: bool) -> Self {
        self.shuffle = on;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn callback(mut self, c: &'a mut dyn Callback) -> Self {
        self.callbacks.push(c);
        self
    }
    pub fn check_finite(mut self, on: bool) -> Self {
        self.check_finite = on;
        self
    }
}

/// Features and targets held by the model during `fit` (the validation set).
type Dataset = (ArrayD<f32>, ArrayD<f32>);

/// Running, sample-weighted means of the loss and metrics over an epoch.
struct Totals {
    sums: Vec<f64>,
    count: usize,
}

impl Totals {
    fn new(n: usize) -> Totals {
        Totals {
            sums: vec![0.0; n],
            count: 0,
        }
    }

    fn add(&mut self, values: &[Value], batch: usize) {
        for (s, v) in self.sums.iter_mut().zip(values) {
            *s += v.to_scalar_f64().unwrap_or(f64::NAN) * batch as f64;
        }
        self.count += batch;
    }

    fn means(&self) -> Vec<f64> {
        self.sums
            .iter()
            .map(|s| s / self.count.max(1) as f64)
            .collect()
    }
}

impl Compiled {
    /// Checks x and y against the model and each other; returns the sample count.
    fn check_data(
        &self,
        x: &ArrayViewD<'_, f32>,
        y: Option<&ArrayD<f32>>,
        check_finite: bool,
    ) -> Result<usize> {
        let n = x.shape().first().copied().unwrap_or(0);
        if x.ndim() != self.input_shape.len() + 1 || x.shape()[1..] != self.input_shape[..] {
            return Err(NnError::InvalidArgument(format!(
                "Input 0 of the model is incompatible: expected shape (None, {}), found shape {:?}",
                self.input_shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                x.shape()
            )));
        }
        if n == 0 {
            return Err(NnError::InvalidArgument(
                "the data set is empty: x has 0 samples".into(),
            ));
        }
        if check_finite && x.iter().any(|v| !v.is_finite()) {
            return Err(NnError::InvalidArgument(
                "x holds NaN or infinite values".into(),
            ));
        }
        if let Some(y) = y {
            let m = y.shape().first().copied().unwrap_or(0);
            if m != n {
                return Err(NnError::InvalidArgument(format!(
                    "Data cardinality is ambiguous: x sizes: {n}, y sizes: {m}. Make sure all arrays contain the same number of samples."
                )));
            }
            self.check_targets(y)?;
            if check_finite && y.iter().any(|v| !v.is_finite()) {
                return Err(NnError::InvalidArgument(
                    "y holds NaN or infinite values".into(),
                ));
            }
        }
        Ok(n)
    }

    /// Keras matches a target of rank one less than the output by adding the missing unit
    /// axis: labels of shape (n,) train a model whose output has shape (None, 1).
    /// Integer labels for the sparse loss may come as a column (n, 1): they become (n,).
    fn align_targets(&self, y: ArrayD<f32>) -> ArrayD<f32> {
        if !self.loss.sparse_labels() && self.output_shape == [1] && y.ndim() == 1 {
            y.insert_axis(Axis(1))
        } else if self.loss.sparse_labels() && y.ndim() == 2 && y.shape()[1] == 1 {
            y.index_axis_move(Axis(1), 0)
        } else {
            y
        }
    }

    fn check_targets(&self, y: &ArrayD<f32>) -> Result<()> {
        let units = self.output_shape.last().copied().unwrap_or(1);
        if self.loss.sparse_labels() {
            let flat_ok = y.ndim() == 1 || (y.ndim() == 2 && y.shape()[1] == 1);
            if !flat_ok {
                return Err(NnError::InvalidArgument(format!(
                    "sparse_categorical_crossentropy takes integer labels of shape (n,), got {:?}",
                    y.shape()
                )));
            }
            if let Some((i, v)) = y
                .iter()
                .enumerate()
                .find(|(_, &v)| v < 0.0 || v >= units as f32 || v.fract() != 0.0)
            {
                return Err(NnError::InvalidArgument(format!(
                    "Received a label value of {v} (sample {i}) which is outside the valid range of [0, {units})"
                )));
            }
            return Ok(());
        }
        if y.shape()[1..] != self.output_shape[..] {
            return Err(NnError::InvalidArgument(format!(
                "y has shape {:?} but the model's output has shape (None, {})",
                y.shape(),
                self.output_shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if matches!(
            self.loss,
            Loss::BinaryCrossentropy | Loss::CategoricalCrossentropy
        ) {
            if let Some((i, v)) = y
                .iter()
                .enumerate()
                .find(|(_, &v)| !(0.0..=1.0).contains(&v))
            {
                return Err(NnError::InvalidArgument(format!(
                    "{} needs targets in [0, 1]; element {i} is {v}",
                    self.loss.name()
                )));
            }
        }
        Ok(())
    }

    /// The fetch list of a head: loss then metrics.
    fn fetches(head: &Head) -> Vec<TensorId> {
        std::iter::once(head.loss)
            .chain(head.metrics.iter().copied())
            .collect()
    }

    /// Loss and metrics over a whole data set, batch by batch (inference mode).
    fn evaluate_batched(
        &self,
        x: &ArrayViewD<'_, f32>,
        y: &ArrayD<f32>,
        batch_size: usize,
    ) -> Result<Vec<f64>> {
        let n = x.shape()[0];
        let fetches = Compiled::fetches(&self.infer);
        let mut totals = Totals::new(fetches.len());
        let (mut xb, mut yb) = (
            Value::F32(ArrayD::zeros(IxDyn(&[0]))),
            Value::F32(ArrayD::zeros(IxDyn(&[0]))),
        );
        let yv = y.view();
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(batch_size) {
            gather_into(&mut xb, x, chunk);
            gather_into(&mut yb, &yv, chunk);
            let out = self
                .session
                .run(&fetches, &[feed(self.x, &xb), feed(self.y, &yb)])?;
            totals.add(&out, chunk.len());
        }
        Ok(totals.means())
    }
}

impl Sequential {
    /// Trains the model; returns the per-epoch history (Keras's `fit`).
    pub fn fit(
        &mut self,
        x: &dyn Inputs,
        y: &dyn Targets,
        mut args: FitArgs<'_>,
    ) -> Result<History> {
        if args.batch_size == 0 {
            return Err(NnError::InvalidArgument(
                "batch_size must be at least 1, got 0".into(),
            ));
        }
        let c = self.compiled()?;
        let x_all = x.view_dyn();
        let y_all = c.align_targets(y.to_f32());
        let n_all = c.check_data(&x_all, Some(&y_all), args.check_finite)?;
        // Validation: explicit data overrides a split; a split takes the last samples.
        let (n_train, val): (usize, Option<Dataset>) = match &args.validation {
            Validation::None => (n_all, None),
            Validation::Split(f) => {
                if !(0.0..1.0).contains(f) {
                    return Err(NnError::InvalidArgument(format!(
                        "validation_split must be in [0, 1), got {f}"
                    )));
                }
                // Keras: the first floor(n * (1 - split)) samples train, the rest validate.
                let split_at = ((n_all as f64) * (1.0 - f)).floor() as usize;
                if *f == 0.0 {
                    (n_all, None)
                } else if split_at == 0 || split_at >= n_all {
                    return Err(NnError::InvalidArgument(format!(
                        "Training data contains {n_all} samples, which is not sufficient to split it into a validation and training set as specified by `validation_split={f}`. Either provide more data, or a different value for the `validation_split` argument."
                    )));
                } else {
                    let vx = x_all.slice_axis(Axis(0), (split_at..).into()).to_owned();
                    let vy = y_all.slice_axis(Axis(0), (split_at..).into()).to_owned();
                    (split_at, Some((vx, vy)))
                }
            }
            Validation::Data(vx, vy) => {
                let (vx, vy) = (vx.view_dyn().to_owned(), c.align_targets(vy.to_f32()));
                c.check_data(&vx.view(), Some(&vy), args.check_finite)?;
                (n_all, Some((vx, vy)))
            }
        };
        let steps = n_train.div_ceil(args.batch_size);
        let names = self.metrics_names()?;
        let mut history = History::new(args.epochs, steps, args.verbose);
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        let mut order: Vec<usize> = (0..n_train).collect();
        let (mut xb, mut yb) = (
            Value::F32(ArrayD::zeros(IxDyn(&[0]))),
            Value::F32(ArrayD::zeros(IxDyn(&[0]))),
        );
        let yv = y_all.view();
        for cb in args.callbacks.iter_mut() {
            cb.on_train_begin(&mut CallbackContext::new(self))?;
        }
        for epoch in 0..args.epochs {
            let c = self.compiled()?;
            let fetches = Compiled::fetches(&c.train);
            if args.shuffle {
                order.shuffle(&mut rng);
            }
            let progress = Progress::new(args.verbose, epoch, args.epochs, steps);
            let mut totals = Totals::new(fetches.len());
            for (k, chunk) in order.chunks(args.batch_size).enumerate() {
                gather_into(&mut xb, &x_all, chunk);
                gather_into(&mut yb, &yv, chunk);
                let out = c.session.run_with_targets(
                    &fetches,
                    &[feed(c.x, &xb), feed(c.y, &yb)],
                    &[c.train_op],
                )?;
                totals.add(&out, chunk.len());
                if progress_wanted(args.verbose) {
                    progress.update(
                        k + 1,
                        &names
                            .iter()
                            .cloned()
                            .zip(totals.means())
                            .collect::<Vec<_>>(),
                    );
                }
            }
            let mut logs: Vec<(String, f64)> = names.iter().cloned().zip(totals.means()).collect();
            if let Some((vx, vy)) = &val {
                let v = c.evaluate_batched(&vx.view(), vy, args.batch_size)?;
                logs.extend(names.iter().map(|n| format!("val_{n}")).zip(v));
            }
            progress.finish(&logs);
            history.push(epoch, &logs);
            let mut ctx = CallbackContext::new(self);
            for cb in args.callbacks.iter_mut() {
                cb.on_epoch_end(epoch, &logs, &mut ctx)?;
            }
            if ctx.stop_training {
                break;
            }
        }
        for cb in args.callbacks.iter_mut() {
            cb.on_train_end(&mut CallbackContext::new(self))?;
        }
        Ok(history)
    }

    /// Loss and metrics on `(x, y)` in inference mode: `[loss, metric...]` (Keras returns the
    /// loss alone when there are no metrics: it is the first element here).
    pub fn evaluate(&self, x: &dyn Inputs, y: &dyn Targets, batch_size: usize) -> Result<Vec<f64>> {
        if batch_size == 0 {
            return Err(NnError::InvalidArgument(
                "batch_size must be at least 1, got 0".into(),
            ));
        }
        let c = self.compiled()?;
        let (xv, yv) = (x.view_dyn(), c.align_targets(y.to_f32()));
        c.check_data(&xv, Some(&yv), false)?;
        c.evaluate_batched(&xv, &yv, batch_size)
    }

    /// The model's outputs for `x`, computed in batches (Keras's default batch is 32).
    pub fn predict(&self, x: &dyn Inputs, batch_size: usize) -> Result<ArrayD<f32>> {
        if batch_size == 0 {
            return Err(NnError::InvalidArgument(
                "batch_size must be at least 1, got 0".into(),
            ));
        }
        let c = self.compiled()?;
        let xv = x.view_dyn();
        let n = c.check_data(&xv, None, false)?;
        let mut parts = Vec::with_capacity(n.div_ceil(batch_size));
        let mut xb = Value::F32(ArrayD::zeros(IxDyn(&[0])));
        let all: Vec<usize> = (0..n).collect();
        for chunk in all.chunks(batch_size) {
            gather_into(&mut xb, &xv, chunk);
            let out = c.session.eval(c.infer.output, &[feed(c.x, &xb)])?;
            parts.push(out.into_array::<f32>().map_err(|v| {
                NnError::InvalidArgument(format!("model output has dtype {}", v.dtype()))
            })?);
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views).map_err(|e| NnError::InvalidArgument(e.to_string()))
    }
}

fn progress_wanted(verbose: u8) -> bool {
    verbose == 1
}

#[cfg(test)]
mod tests {
    use crate::{Dense, FitArgs, Sequential};
    use ndarray::{array, Array1};

    /// As Keras: labels of shape (n,) fit, evaluate and validate a one-unit output.
    #[test]
    fn rank_one_targets_match_a_one_unit_output() {
        let mut m = Sequential::new(vec![Box::new(
            Dense::new(1).input_dim(2).activation("sigmoid"),
        )])
        .with_seed(3);
        m.compile("sgd", "mse", &["accuracy"]).unwrap();
        let x = array![[0.0f32, 1.0], [1.0, 0.0], [1.0, 1.0]];
        let y: Array1<f32> = array![0.0, 1.0, 1.0];
        let h = m
            .fit(
                &x,
                &y,
                FitArgs::default()
                    .epochs(2)
                    .verbose(0)
                    .validation_data(&x, &y),
            )
            .unwrap();
        assert_eq!(h.get("val_loss").unwrap().len(), 2);
        let flat = m.evaluate(&x, &y, 2).unwrap();
        let column = m
            .evaluate(&x, &y.clone().insert_axis(ndarray::Axis(1)), 2)
            .unwrap();
        assert_eq!(flat, column);
    }
}
