//! Callbacks: hooks into `fit` (Keras's `Callback`), and `EarlyStopping`.

use crate::error::{NnError, Result};
use crate::model::Sequential;
use ndarray::ArrayD;

/// What a callback may do to the model being trained.
pub struct CallbackContext<'m> {
    model: &'m Sequential,
    /// Set to stop training after this epoch.
    pub stop_training: bool,
}

impl<'m> CallbackContext<'m> {
    pub(crate) fn new(model: &'m Sequential) -> CallbackContext<'m> {
        CallbackContext {
            model,
            stop_training: false,
        }
    }

    pub fn get_weights(&self) -> Result<Vec<(String, ArrayD<f32>)>> {
        self.model.get_weights()
    }

    pub fn set_weights(&self, weights: &[(String, ArrayD<f32>)]) -> Result<()> {
        self.model.set_weights(weights)
    }
}

/// A hook into training. Implement the methods you need.
pub trait Callback {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with its logs (`loss`, metrics, `val_...`).
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &[(String, f64)],
        _ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        Ok(())
    }
    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        Ok(())
    }
}

/// Stops training when `monitor` has not improved by `min_delta` for `patience` epochs;
/// optionally restores the weights of the best epoch (Keras's `EarlyStopping`).
pub struct EarlyStopping {
    pub monitor: String,
    pub patience: usize,
    pub min_delta: f64,
    pub restore_best_weights: bool,
    best: Option<f64>,
    wait: usize,
    best_weights: Option<Vec<(String, ArrayD<f32>)>>,
    /// The epoch training stopped at, if it stopped early.
    pub stopped_epoch: Option<usize>,
    /// The epoch with the best value.
    pub best_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Keras's defaults: monitor `val_loss`, patience 0, min_delta 0, no restore.
    pub fn new(monitor: &str) -> EarlyStopping {
        EarlyStopping {
            monitor: monitor.to_string(),
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
            best: None,
            wait: 0,
            best_weights: None,
            stopped_epoch: None,
            best_epoch: None,
        }
    }

    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }

    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d.abs();
        self
    }

    pub fn restore_best_weights(mut self, on: bool) -> Self {
        self.restore_best_weights = on;
        self
    }

    /// Keras's `mode='auto'`: maximise accuracies, minimise everything else.
    fn maximize(&self) -> bool {
        self.monitor.contains("acc")
    }

    fn improved(&self, current: f64) -> bool {
        match self.best {
            None => true,
            Some(best) if self.maximize() => current - self.min_delta > best,
            Some(best) => current + self.min_delta < best,
        }
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.best = None;
        self.wait = 0;
        self.best_weights = None;
        self.stopped_epoch = None;
        self.best_epoch = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &[(String, f64)],
        ctx: &mut CallbackContext<'_>,
    ) -> Result<()> {
        let current = logs.iter().find(|(k, _)| *k == self.monitor).map(|(_, v)| *v).ok_or_else(|| {
            let known: Vec<&str> = logs.iter().map(|(k, _)| k.as_str()).collect();
            NnError::InvalidArgument(format!(
                "Early stopping conditioned on metric `{}` which is not available. Available metrics are: {}",
                self.monitor,
                known.join(",")
            ))
        })?;
        self.wait += 1;
        if self.improved(current) {
            self.best = Some(current);
            self.best_epoch = Some(epoch);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(ctx.get_weights()?);
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            ctx.stop_training = true;
        }
        Ok(())
    }

    /// As Keras 3: with `restore_best_weights`, the best epoch's weights are restored when
    /// training ends, whether or not it stopped early.
    fn on_train_end(&mut self, ctx: &mut CallbackContext<'_>) -> Result<()> {
        if let Some(w) = &self.best_weights {
            ctx.set_weights(w)?;
        }
        Ok(())
    }
}
