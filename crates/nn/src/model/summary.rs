//! `summary()`: Keras's table of layers, output shapes and parameter counts.

use super::Sequential;
use crate::error::Result;
use std::fmt::Write;

const RULE: usize = 65;

fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = std::iter::once("None".to_string())
        .chain(shape.iter().map(|d| d.to_string()))
        .collect();
    format!("({})", dims.join(", "))
}

impl Sequential {
    /// The Keras-style summary table, as text.
    pub fn summary(&self) -> Result<String> {
        let mut out = String::new();
        let _ = writeln!(out, "Model: \"{}\"", self.name);
        let _ = writeln!(out, "{}", "_".repeat(RULE));
        let _ = writeln!(
            out,
            " {:<28}{:<26}{:<10}",
            "Layer (type)", "Output Shape", "Param #"
        );
        let _ = writeln!(out, "{}", "=".repeat(RULE));
        let mut shape = self.input_shape().unwrap_or_default();
        let (mut total, mut trainable) = (0usize, 0usize);
        let compiled = self.compiled.as_ref();
        for (i, (layer, name)) in self.layers.iter().zip(&self.layer_names).enumerate() {
            shape = layer.output_shape(&shape)?;
            let weights = match compiled {
                Some(_) => layer.weights(),
                None => Vec::new(),
            };
            let count: usize = weights
                .iter()
                .map(|w| w.shape.iter().product::<usize>())
                .sum();
            total += count;
            trainable += weights
                .iter()
                .filter(|w| w.trainable)
                .map(|w| w.shape.iter().product::<usize>())
                .sum::<usize>();
            let _ = writeln!(
                out,
                " {:<28}{:<26}{:<10}",
                format!("{name} ({})", layer.class_name()),
                shape_text(&shape),
                count
            );
            if i + 1 < self.layers.len() {
                let _ = writeln!(out);
            }
        }
        let _ = writeln!(out, "{}", "=".repeat(RULE));
        let _ = writeln!(out, "Total params: {total}");
        let _ = writeln!(out, "Trainable params: {trainable}");
        let _ = writeln!(out, "Non-trainable params: {}", total - trainable);
        let _ = writeln!(out, "{}", "_".repeat(RULE));
        Ok(out)
    }
}
