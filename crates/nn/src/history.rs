//! `History`: what `fit` returns: per-epoch loss, metrics and their `val_` forms.

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Epoch numbers (0-based), one per completed epoch.
    pub epoch: Vec<usize>,
    /// `loss`, metrics, `val_loss`, `val_<metric>`: one value per epoch.
    pub history: BTreeMap<String, Vec<f64>>,
    /// `epochs`, `steps` and `verbose`, as Keras's `params`.
    pub params: BTreeMap<String, usize>,
    /// The key order as logged (loss first, then metrics, then validation).
    pub keys: Vec<String>,
}

impl History {
    pub(crate) fn new(epochs: usize, steps: usize, verbose: u8) -> History {
        let params = [
            ("epochs", epochs),
            ("steps", steps),
            ("verbose", verbose as usize),
        ];
        History {
            params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..History::default()
        }
    }

    pub(crate) fn push(&mut self, epoch: usize, logs: &[(String, f64)]) {
        self.epoch.push(epoch);
        for (k, v) in logs {
            if !self.keys.contains(k) {
                self.keys.push(k.clone());
            }
            self.history.entry(k.clone()).or_default().push(*v);
        }
    }

    /// The values of one key (`"loss"`, `"val_accuracy"`).
    pub fn get(&self, key: &str) -> Option<&[f64]> {
        self.history.get(key).map(Vec::as_slice)
    }
}
