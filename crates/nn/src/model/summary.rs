//! `summary()`: Keras's table of layers, output shapes and parameter counts, laid out as
//! tf.keras's `print_summary` lays out a `Sequential` model.

use super::Sequential;
use crate::error::Result;
use std::fmt::Write;

const LINE: usize = 65;
/// Where each column ends: tf.keras's positions [0.45, 0.85, 1.0] of a 65-character line.
const POSITIONS: [usize; 3] = [29, 55, 65];

fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = std::iter::once("None".to_string())
        .chain(shape.iter().map(|d| d.to_string()))
        .collect();
    format!("({})", dims.join(", "))
}

/// One table row; a field too long for its column continues on the next line, as in Keras.
fn row(out: &mut String, fields: [&str; 3]) {
    let mut left: Vec<Vec<char>> = fields.iter().map(|f| f.chars().collect()).collect();
    while left.iter().any(|f| !f.is_empty()) {
        let mut line = String::new();
        for (col, field) in left.iter_mut().enumerate() {
            let start = if col > 0 { POSITIONS[col - 1] } else { 0 };
            let last = col == POSITIONS.len() - 1;
            // Two spaces between columns, one at the start of the line.
            let space = if last { 0 } else { 2 };
            let cutoff = (POSITIONS[col] - start - space - usize::from(!last)).min(field.len());
            if col == 0 {
                line.push(' ');
            }
            line.extend(field.drain(..cutoff));
            line.push_str(&" ".repeat(space));
            let width = line.chars().count();
            line.push_str(&" ".repeat(POSITIONS[col].saturating_sub(width)));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// Keras's `readable_memory_size`: `604.00 Byte`, `1.50 KB`.
fn memory_size(bytes: usize) -> String {
    let mut size = bytes as f64;
    for unit in ["Byte", "KB", "MB", "GB", "TB"] {
        if size / 1024.0 < 1.0 {
            return format!("{size:.2} {unit}");
        }
        size /= 1024.0;
    }
    format!("{size:.2} PB")
}

impl Sequential {
    /// Prints the summary table to standard output, as Keras's `model.summary()` does.
    pub fn print_summary(&self) -> Result<()> {
        print!("{}", self.summary()?);
        Ok(())
    }

    /// The Keras-style summary table, as text. Needs the input shape (from the first layer),
    /// not a compiled model.
    pub fn summary(&self) -> Result<String> {
        let mut out = String::new();
        let _ = writeln!(out, "Model: \"{}\"", self.name);
        let _ = writeln!(out, "{}", "_".repeat(LINE));
        row(&mut out, ["Layer (type)", "Output Shape", "Param #"]);
        let _ = writeln!(out, "{}", "=".repeat(LINE));
        let mut shape = self.input_shape().unwrap_or_default();
        let (mut trainable, mut frozen) = (0usize, 0usize);
        for (layer, name) in self.layers.iter().zip(&self.layer_names) {
            let (t, f) = layer.count_params(&shape);
            shape = layer.output_shape(&shape)?;
            trainable += t;
            frozen += f;
            row(
                &mut out,
                [
                    &format!("{name} ({})", layer.class_name()),
                    &shape_text(&shape),
                    &(t + f).to_string(),
                ],
            );
            let _ = writeln!(out, "{}", " ".repeat(LINE));
        }
        let _ = writeln!(out, "{}", "=".repeat(LINE));
        // f32 parameters: 4 bytes each.
        let total = trainable + frozen;
        let _ = writeln!(out, "Total params: {total} ({})", memory_size(4 * total));
        let _ = writeln!(
            out,
            "Trainable params: {trainable} ({})",
            memory_size(4 * trainable)
        );
        let _ = writeln!(
            out,
            "Non-trainable params: {frozen} ({})",
            memory_size(4 * frozen)
        );
        let _ = writeln!(out, "{}", "_".repeat(LINE));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_wrap_long_fields_and_sizes_read_like_keras() {
        let mut out = String::new();
        row(
            &mut out,
            [
                "batch_normalization (BatchNormalization)",
                "(None, 3)",
                "12",
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.chars().count() == LINE));
        assert_eq!(
            lines[0].trim_end(),
            " batch_normalization (Batch  (None, 3)                 12"
        );
        assert_eq!(lines[1].trim_end(), " Normalization)");
        assert_eq!(memory_size(604), "604.00 Byte");
        assert_eq!(memory_size(1536), "1.50 KB");
        assert_eq!(memory_size(0), "0.00 Byte");
    }
}
