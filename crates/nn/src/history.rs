//! `History`: what `fit` returns: per-epoch loss, metrics and their `val_` forms.

use crate::error::{NnError, Result};
use crate::plot::{Chart, Figure, Legend, Series, PALETTE};
use std::collections::BTreeMap;
use std::path::Path;

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

impl History {
    /// The training curves as an SVG figure: one panel per quantity (`loss` first, then each
    /// metric in logged order), each with its training curve and, when logged, its validation
    /// curve (`val_...`, dashed), against the epoch (1-based, as Keras prints it). A loss
    /// spanning more than a factor of 20 gets a log axis.
    pub fn to_figure(&self) -> Figure {
        let mut bases: Vec<&str> = Vec::new();
        for k in &self.keys {
            let base = k.strip_prefix("val_").unwrap_or(k);
            if !bases.contains(&base) {
                bases.push(base);
            }
        }
        let epochs: Vec<f64> = self.epoch.iter().map(|&e| e as f64 + 1.0).collect();
        let curve = |name: &str, ys: &[f64]| {
            let pts: Vec<(f64, f64)> = epochs.iter().copied().zip(ys.iter().copied()).collect();
            if pts.len() <= 20 {
                Series::line_and_dots(name, pts)
            } else {
                Series::line(name, pts)
            }
        };
        let mut fig = Figure::new("training history").columns(bases.len().clamp(1, 2));
        for base in bases {
            let train = self.get(base);
            let val = self.get(&format!("val_{base}"));
            let mut chart = Chart::new(base).x_label("epoch").y_label(base);
            let all = train.into_iter().chain(val).flatten().copied();
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            if base == "loss" && lo > 0.0 && hi / lo > 20.0 {
                chart = chart.log_y();
            }
            let rising = train
                .or(val)
                .and_then(|ys| Some(ys.last()? > ys.first()?))
                .unwrap_or(false);
            chart = chart.legend(if rising {
                Legend::BottomRight
            } else {
                Legend::TopRight
            });
            if let Some(ys) = train {
                chart.push(curve("training", ys).color(PALETTE[0]));
            }
            if let Some(ys) = val {
                chart.push(curve("validation", ys).color(PALETTE[1]).dashed());
            }
            fig.push(chart);
        }
        fig
    }

    /// Writes [`History::to_figure`] to `path` as SVG, atomically.
    pub fn to_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.to_figure()
            .write(path)
            .map_err(|e| NnError::Io(format!("cannot write {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        let mut h = History::new(3, 10, 0);
        for (e, (l, a)) in [(1.0, 0.5), (0.5, 0.7), (0.25, 0.9)]
            .into_iter()
            .enumerate()
        {
            let logs = [
                ("loss".to_string(), l),
                ("accuracy".to_string(), a),
                ("val_loss".to_string(), l * 1.2),
                ("val_accuracy".to_string(), a - 0.1),
            ];
            h.push(e, &logs);
        }
        h
    }

    #[test]
    fn figure_has_a_panel_per_metric_with_both_curves() {
        let svg = history().to_figure().to_svg();
        assert_eq!(svg.matches("class=\"panel\"").count(), 2);
        assert!(svg.contains(">loss</text>"));
        assert!(svg.contains(">accuracy</text>"));
        assert_eq!(svg.matches("data-name=\"training\"").count(), 2);
        assert_eq!(svg.matches("data-name=\"validation\"").count(), 2);
        assert_eq!(svg, history().to_figure().to_svg());
    }

    #[test]
    fn to_svg_writes_a_file() {
        let path = std::env::temp_dir().join(format!("rill-history-{}.svg", std::process::id()));
        history().to_svg(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(text.starts_with("<svg"));
        assert!(text.contains("training history"));
        let err = history().to_svg("/nonexistent-dir/h.svg").unwrap_err();
        assert!(err
            .to_string()
            .contains("cannot write /nonexistent-dir/h.svg"));
    }
}
