//! Keras's per-epoch output: a live progress bar on a terminal (verbose 1), plain lines
//! otherwise, or one line per epoch (verbose 2).

use std::io::{IsTerminal, Write};
use std::time::Instant;

const WIDTH: usize = 30;

pub(crate) struct Progress {
    verbose: u8,
    live: bool,
    total: usize,
    start: Instant,
}

/// `loss: 0.6937 - acc: 0.5500`.
pub(crate) fn format_logs(logs: &[(String, f64)]) -> String {
    logs.iter()
        .map(|(k, v)| format!("{k}: {}", format_value(*v)))
        .collect::<Vec<_>>()
        .join(" - ")
}

/// As Keras's progress bar: `%.4f` above 1e-3, else `%.4e` (`5.0000e-04`, `0.0000e+00`).
fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v > 1e-3 {
        return format!("{v:.4}");
    }
    let s = format!("{v:.4e}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let e: i32 = exp.parse().unwrap_or(0);
            let sign = if e < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", e.abs())
        }
        None => s, // -inf
    }
}

/// Keras's bar: `width * done / total` cells, the last one `>` until the end, dots after.
fn bar(done: usize, total: usize) -> String {
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let head = if done < total { ">" } else { "=" };
    if filled == 0 {
        return ".".repeat(WIDTH);
    }
    format!(
        "{}{head}{}",
        "=".repeat(filled - 1),
        ".".repeat(WIDTH - filled)
    )
}

fn per_step(seconds: f64, steps: usize) -> String {
    let s = seconds / steps.max(1) as f64;
    if s >= 1.0 {
        format!("{s:.0}s/step")
    } else if s >= 1e-3 {
        format!("{:.0}ms/step", s * 1e3)
    } else {
        format!("{:.0}us/step", s * 1e6)
    }
}

impl Progress {
    pub(crate) fn new(verbose: u8, epoch: usize, epochs: usize, total: usize) -> Progress {
        let live = verbose == 1 && std::io::stdout().is_terminal();
        // Keras prints the epoch line only when there is more than one epoch.
        if verbose > 0 && epochs > 1 {
            println!("Epoch {}/{}", epoch + 1, epochs);
        }
        Progress {
            verbose,
            live,
            total,
            start: Instant::now(),
        }
    }

    /// After each batch: redraws the bar on a terminal.
    pub(crate) fn update(&self, done: usize, logs: &[(String, f64)]) {
        if !self.live {
            return;
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        let eta = elapsed / done.max(1) as f64 * (self.total - done) as f64;
        let width = self.total.to_string().len();
        print!(
            "\r{done:>width$}/{} [{}] - ETA: {eta:.0}s - {}",
            self.total,
            bar(done, self.total),
            format_logs(logs)
        );
        let _ = std::io::stdout().flush();
    }

    /// At the end of the epoch, with validation logs included.
    pub(crate) fn finish(&self, logs: &[(String, f64)]) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let timing = per_step(elapsed, self.total);
        match self.verbose {
            0 => {}
            1 => {
                let prefix = if self.live { "\r" } else { "" };
                println!(
                    "{prefix}{}/{} [{}] - {:.0}s {timing} - {}",
                    self.total,
                    self.total,
                    bar(self.total, self.total),
                    elapsed,
                    format_logs(logs)
                );
            }
            _ => println!(
                "{}/{} - {:.0}s - {timing} - {}",
                self.total,
                self.total,
                elapsed,
                format_logs(logs)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_keras() {
        assert_eq!(bar(0, 10), ".".repeat(30));
        // REFERENCE.md's 32/80: 12 cells, eleven '=' and the '>'.
        assert_eq!(
            bar(32, 80),
            format!("{}>{}", "=".repeat(11), ".".repeat(18))
        );
        assert_eq!(bar(10, 10), "=".repeat(30));
        let logs = vec![("loss".to_string(), 0.69374), ("acc".to_string(), 0.55)];
        assert_eq!(format_logs(&logs), "loss: 0.6937 - acc: 0.5500");
        assert_eq!(per_step(0.5, 1000), "500us/step");
        assert_eq!(per_step(0.03, 10), "3ms/step");
    }

    #[test]
    fn small_values_print_in_scientific_notation_as_keras() {
        assert_eq!(format_value(0.0005), "5.0000e-04");
        assert_eq!(format_value(0.001), "1.0000e-03");
        assert_eq!(format_value(0.0), "0.0000e+00");
        assert_eq!(format_value(-0.25), "-2.5000e-01");
        assert_eq!(format_value(1234.5), "1234.5000");
        assert_eq!(format_value(f64::NAN), "nan");
        assert_eq!(format_value(f64::INFINITY), "inf");
        let logs = vec![("loss".to_string(), 2e-5), ("acc".to_string(), 1.0)];
        assert_eq!(format_logs(&logs), "loss: 2.0000e-05 - acc: 1.0000");
    }
}
