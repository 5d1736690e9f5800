//! Small, dependency-free SVG plots: line charts and scatter plots with axes, ticks, labels,
//! title and legend, alone or as panels of a figure. Output is byte-for-byte deterministic.
//!
//! ```
//! use rill_nn::plot::{Chart, Series};
//! let chart = Chart::new("loss")
//!     .x_label("step")
//!     .y_label("loss")
//!     .log_y()
//!     .series(Series::line("train", [(0.0, 1.0), (1.0, 0.5), (2.0, 0.1)]));
//! let svg = chart.to_svg();
//! assert!(svg.starts_with("<svg"));
//! assert!(svg.contains(">train</text>"));
//! ```

use std::fmt::Write;
use std::io;
use std::path::Path;

/// The colours given to series without one, in order (matplotlib's `tab10`).
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

const FONT: &str = "Helvetica, Arial, sans-serif";

/// How a series' points are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Joined by straight lines; a non-finite point breaks the line.
    Line,
    /// One dot per point.
    Dots,
    /// Both.
    LineAndDots,
}

/// One named set of `(x, y)` points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub mark: Mark,
    /// `None`: the next colour of [`PALETTE`].
    pub color: Option<String>,
    pub dashed: bool,
    /// Line width, or dot radius for dots.
    pub width: f64,
}

impl Series {
    fn with(name: &str, points: impl IntoIterator<Item = (f64, f64)>, mark: Mark) -> Series {
        Series {
            name: name.to_string(),
            points: points.into_iter().collect(),
            mark,
            color: None,
            dashed: false,
            width: if mark == Mark::Dots { 2.5 } else { 1.75 },
        }
    }

    /// A line through `points`, in the given order.
    pub fn line(name: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Series {
        Series::with(name, points, Mark::Line)
    }

    /// A scatter plot of `points`.
    pub fn dots(name: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Series {
        Series::with(name, points, Mark::Dots)
    }

    /// A line with a dot at each point.
    pub fn line_and_dots(name: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Series {
        Series::with(name, points, Mark::LineAndDots)
    }

    /// A line through `ys` at x = 0, 1, 2, ...
    pub fn from_ys(name: &str, ys: &[f64]) -> Series {
        Series::line(name, ys.iter().enumerate().map(|(i, &y)| (i as f64, y)))
    }

    /// A CSS colour (`"#d62728"`, `"black"`).
    pub fn color(mut self, color: &str) -> Series {
        self.color = Some(color.to_string());
        self
    }

    pub fn dashed(mut self) -> Series {
        self.dashed = true;
        self
    }

    /// Line width or dot radius, in pixels.
    pub fn width(mut self, width: f64) -> Series {
        self.width = width;
        self
    }
}

/// Where the legend sits inside the plot area (or nowhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legend {
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
    None,
}

/// One chart: a plot area with axes, ticks, axis labels, title, legend and its series.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub log_y: bool,
    /// Fixed axis ranges; `None`: fitted to the data.
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub legend: Legend,
    pub width: f64,
    pub height: f64,
}

impl Chart {
    /// An empty 480 × 320 chart.
    pub fn new(title: &str) -> Chart {
        Chart {
            title: title.to_string(),
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            log_y: false,
            x_range: None,
            y_range: None,
            legend: Legend::TopRight,
            width: 480.0,
            height: 320.0,
        }
    }

    pub fn x_label(mut self, label: &str) -> Chart {
        self.x_label = label.to_string();
        self
    }

    pub fn y_label(mut self, label: &str) -> Chart {
        self.y_label = label.to_string();
        self
    }

    /// A logarithmic y axis; points with y <= 0 are left out.
    pub fn log_y(mut self) -> Chart {
        self.log_y = true;
        self
    }

    pub fn x_range(mut self, lo: f64, hi: f64) -> Chart {
        self.x_range = Some((lo, hi));
        self
    }

    pub fn y_range(mut self, lo: f64, hi: f64) -> Chart {
        self.y_range = Some((lo, hi));
        self
    }

    pub fn legend(mut self, legend: Legend) -> Chart {
        self.legend = legend;
        self
    }

    /// Size in pixels.
    pub fn size(mut self, width: f64, height: f64) -> Chart {
        self.width = width;
        self.height = height;
        self
    }

    /// Adds a series (builder form of [`Chart::push`]).
    pub fn series(mut self, series: Series) -> Chart {
        self.series.push(series);
        self
    }

    pub fn push(&mut self, series: Series) {
        self.series.push(series);
    }

    /// The chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        Figure::new("").columns(1).panel(self.clone()).to_svg()
    }

    /// Writes [`Chart::to_svg`] to `path` atomically.
    pub fn write(&self, path: impl AsRef<Path>) -> io::Result<()> {
        rill_graph::dot::write_atomically(path.as_ref(), self.to_svg().as_bytes())
    }

    /// Whether a point is drawn at all (finite, and positive on a log axis).
    fn shows(&self, (x, y): (f64, f64)) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0)
    }

    fn render(&self, out: &mut String, ox: f64, oy: f64, clip_id: &str) {
        let (left, right, top, bottom) = (64.0, 16.0, 32.0, 44.0);
        let (pw, ph) = (
            (self.width - left - right).max(10.0),
            (self.height - top - bottom).max(10.0),
        );
        let (x0, y0) = (ox + left, oy + top);

        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter().copied())
                .filter(|&p| self.shows(p))
        };
        let (xlo, xhi) = self
            .x_range
            .unwrap_or_else(|| padded(extent(pts().map(|p| p.0)), false));
        let (ylo, yhi) = match self.y_range {
            Some(r) => r,
            None if self.log_y => {
                let (lo, hi) = extent(pts().map(|p| p.1.log10()));
                let (lo, hi) = if lo == hi {
                    (lo - 0.5, hi + 0.5)
                } else {
                    (lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03)
                };
                (10f64.powf(lo), 10f64.powf(hi))
            }
            None => padded(extent(pts().map(|p| p.1)), true),
        };
        let ty = |v: f64| if self.log_y { v.log10() } else { v };
        let (tlo, thi) = (ty(ylo), ty(yhi));
        let sx = |x: f64| x0 + (x - xlo) / (xhi - xlo) * pw;
        let sy = |y: f64| y0 + ph - (ty(y) - tlo) / (thi - tlo) * ph;

        // Frame, grid and ticks.
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"none\"/>",
            px(x0),
            px(y0),
            px(pw),
            px(ph)
        );
        for (v, label) in linear_ticks(xlo, xhi) {
            let x = sx(v);
            let _ = writeln!(
                out,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e6e6e6\"/>",
                px(x),
                px(y0),
                px(y0 + ph)
            );
            let _ = writeln!(
                out,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>",
                px(x),
                px(y0 + ph),
                px(y0 + ph + 4.0)
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
                px(x),
                px(y0 + ph + 16.0),
                escape(&label)
            );
        }
        let yticks = if self.log_y {
            log_ticks(ylo, yhi)
        } else {
            linear_ticks(ylo, yhi)
        };
        for (v, label) in yticks {
            let y = sy(v);
            let _ = writeln!(
                out,
                "<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#e6e6e6\"/>",
                px(y),
                px(x0),
                px(x0 + pw)
            );
            let _ = writeln!(
                out,
                "<line x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" stroke=\"#333333\"/>",
                px(y),
                px(x0 - 4.0),
                px(x0)
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
                px(x0 - 6.0),
                px(y + 4.0),
                escape(&label)
            );
        }

        // Series, clipped to the plot area.
        let _ = writeln!(
            out,
            "<clipPath id=\"{clip_id}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath>",
            px(x0),
            px(y0),
            px(pw),
            px(ph)
        );
        let _ = writeln!(out, "<g clip-path=\"url(#{clip_id})\">");
        for (i, s) in self.series.iter().enumerate() {
            let color = escape(s.color.as_deref().unwrap_or(PALETTE[i % PALETTE.len()]));
            let _ = writeln!(
                out,
                "<g class=\"series\" data-name=\"{}\">",
                escape(&s.name)
            );
            if s.mark != Mark::Dots {
                let mut d = String::new();
                let mut pen_down = false;
                for &p in &s.points {
                    if !self.shows(p) {
                        pen_down = false;
                        continue;
                    }
                    let cmd = if pen_down { 'L' } else { 'M' };
                    let _ = write!(d, "{cmd}{},{} ", px(sx(p.0)), px(sy(p.1)));
                    pen_down = true;
                }
                if !d.is_empty() {
                    let dash = if s.dashed {
                        " stroke-dasharray=\"6,4\""
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "<path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{}\" stroke-linejoin=\"round\"{dash}/>",
                        d.trim_end(),
                        px(s.width)
                    );
                }
            }
            if s.mark != Mark::Line {
                let r = if s.mark == Mark::Dots { s.width } else { 2.5 };
                for &p in s.points.iter().filter(|&&p| self.shows(p)) {
                    let _ = writeln!(
                        out,
                        "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{color}\" fill-opacity=\"0.75\"/>",
                        px(sx(p.0)),
                        px(sy(p.1)),
                        px(r)
                    );
                }
            }
            out.push_str("</g>\n");
        }
        out.push_str("</g>\n");
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333333\"/>",
            px(x0),
            px(y0),
            px(pw),
            px(ph)
        );

        // Title and axis labels.
        if !self.title.is_empty() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>",
                px(x0 + pw / 2.0),
                px(oy + 20.0),
                escape(&self.title)
            );
        }
        if !self.x_label.is_empty() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
                px(x0 + pw / 2.0),
                px(y0 + ph + 34.0),
                escape(&self.x_label)
            );
        }
        if !self.y_label.is_empty() {
            let (lx, ly) = (ox + 14.0, y0 + ph / 2.0);
            let _ = writeln!(
                out,
                "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 {0} {1})\">{2}</text>",
                px(lx),
                px(ly),
                escape(&self.y_label)
            );
        }

        // Legend: one row per named series.
        let named: Vec<(usize, &Series)> = self
            .series
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.name.is_empty())
            .collect();
        if self.legend == Legend::None || named.is_empty() {
            return;
        }
        let text_w = named
            .iter()
            .map(|(_, s)| s.name.chars().count())
            .max()
            .unwrap_or(0) as f64
            * 6.5;
        let (lw, lh) = (text_w + 40.0, named.len() as f64 * 16.0 + 8.0);
        let lx = match self.legend {
            Legend::TopLeft | Legend::BottomLeft => x0 + 8.0,
            _ => x0 + pw - lw - 8.0,
        };
        let ly = match self.legend {
            Legend::BottomLeft | Legend::BottomRight => y0 + ph - lh - 8.0,
            _ => y0 + 8.0,
        };
        let _ = writeln!(
            out,
            "<g class=\"legend\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#bbbbbb\"/>",
            px(lx),
            px(ly),
            px(lw),
            px(lh)
        );
        for (row, (i, s)) in named.iter().enumerate() {
            let color = escape(s.color.as_deref().unwrap_or(PALETTE[i % PALETTE.len()]));
            let cy = ly + 12.0 + row as f64 * 16.0;
            if s.mark == Mark::Dots {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{color}\"/>",
                    px(lx + 17.0),
                    px(cy)
                );
            } else {
                let dash = if s.dashed {
                    " stroke-dasharray=\"6,4\""
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "<line x1=\"{}\" y1=\"{2}\" x2=\"{}\" y2=\"{2}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
                    px(lx + 6.0),
                    px(lx + 28.0),
                    px(cy)
                );
            }
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
                px(lx + 34.0),
                px(cy + 4.0),
                escape(&s.name)
            );
        }
        out.push_str("</g>\n");
    }
}

/// Several charts side by side, in rows of `columns`, under an optional title.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub title: String,
    pub columns: usize,
    pub panels: Vec<Chart>,
}

impl Figure {
    /// An empty figure with two columns.
    pub fn new(title: &str) -> Figure {
        Figure {
            title: title.to_string(),
            columns: 2,
            panels: Vec::new(),
        }
    }

    pub fn columns(mut self, columns: usize) -> Figure {
        self.columns = columns.max(1);
        self
    }

    pub fn panel(mut self, chart: Chart) -> Figure {
        self.panels.push(chart);
        self
    }

    pub fn push(&mut self, chart: Chart) {
        self.panels.push(chart);
    }

    /// The figure as a standalone SVG document. Each grid cell is as large as the largest panel.
    pub fn to_svg(&self) -> String {
        let cols = self.columns.min(self.panels.len()).max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        let cw = self.panels.iter().map(|c| c.width).fold(0.0, f64::max);
        let ch = self.panels.iter().map(|c| c.height).fold(0.0, f64::max);
        let head = if self.title.is_empty() { 0.0 } else { 28.0 };
        let (w, h) = (cw * cols as f64, ch * rows as f64 + head);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"{FONT}\">",
            px(w),
            px(h)
        );
        let _ = writeln!(
            out,
            "<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>"
        );
        if !self.title.is_empty() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>",
                px(w / 2.0),
                escape(&self.title)
            );
        }
        for (i, chart) in self.panels.iter().enumerate() {
            let (r, c) = (i / cols, i % cols);
            let _ = writeln!(out, "<g class=\"panel\">");
            chart.render(
                &mut out,
                c as f64 * cw,
                head + r as f64 * ch,
                &format!("clip{i}"),
            );
            out.push_str("</g>\n");
        }
        out.push_str("</svg>\n");
        out
    }

    /// Writes [`Figure::to_svg`] to `path` atomically.
    pub fn write(&self, path: impl AsRef<Path>) -> io::Result<()> {
        rill_graph::dot::write_atomically(path.as_ref(), self.to_svg().as_bytes())
    }
}

/// Escapes text for SVG element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

/// A pixel coordinate with two decimals, without trailing zeros or a negative zero.
fn px(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let s = format!("{r:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// (min, max) of the values; (0, 1) if there are none.
fn extent(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// A data range widened so that it is never empty; y ranges get a 5% margin.
fn padded((lo, hi): (f64, f64), margin: bool) -> (f64, f64) {
    if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    if margin {
        let m = (hi - lo) * 0.05;
        (lo - m, hi + m)
    } else {
        (lo, hi)
    }
}

/// Four to nine ticks at 1, 2 or 5 times a power of ten inside [lo, hi], with their labels.
fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return Vec::new();
    }
    // The smallest round step that gives at most eight intervals.
    let raw = (hi - lo) / 8.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| (hi - lo) / s <= 8.0 + 1e-9)
        .unwrap_or(10.0 * mag);
    let decimals = (-(step.log10().floor())).max(0.0) as usize;
    // The slack keeps a tick that sits on an end despite rounding (1.0 / 0.2).
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            (v, number(v, decimals))
        })
        .collect()
}

/// Ticks at powers of ten inside [lo, hi]; at 1, 2 and 5 times them if that gives too few.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    if !hi.is_finite() || lo.is_nan() || lo <= 0.0 || hi <= lo {
        return Vec::new();
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let decades: Vec<i32> = (a..=b).filter(|&e| inside(10f64.powi(e))).collect();
    // Many decades: every k-th power only, at exponents divisible by k.
    let k = (decades.len() as i32 + 6) / 7;
    let mut vs: Vec<f64> = decades
        .iter()
        .filter(|&&e| e.rem_euclid(k.max(1)) == 0)
        .map(|&e| 10f64.powi(e))
        .collect();
    if decades.len() < 3 {
        vs = (a..=b)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
            .filter(|&v| inside(v))
            .collect();
    }
    if vs.len() < 2 {
        return linear_ticks(lo, hi);
    }
    vs.into_iter().map(|v| (v, log_label(v))).collect()
}

fn log_label(v: f64) -> String {
    if (1e-3..1e5).contains(&v) {
        let decimals = (-(v.log10().floor())).max(0.0) as usize;
        number(v, decimals)
    } else {
        let e = v.log10().floor() as i32;
        let m = (v / 10f64.powi(e)).round() as i64;
        if m == 1 {
            format!("1e{e}")
        } else {
            format!("{m}e{e}")
        }
    }
}

/// A tick label: fixed decimals for ordinary magnitudes, `me±k` for very large or small ones.
fn number(v: f64, decimals: usize) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.abs() >= 1e6 || decimals > 5 {
        let s = format!("{v:e}");
        return s;
    }
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart::new("Loss & accuracy <test>")
            .x_label("epoch")
            .y_label("value")
            .series(Series::line("train", [(0.0, 1.0), (1.0, 0.5), (2.0, 0.25)]))
            .series(Series::dots("val \"data\"", [(0.0, 0.9), (2.0, 0.3)]).color("#000000"))
    }

    #[test]
    fn contains_every_series() {
        let svg = chart().to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("class=\"series\"").count(), 2);
        assert!(svg.contains("data-name=\"train\""));
        assert!(svg.contains(">train</text>"));
        // The line has three points, the dots two circles (plus one in the legend).
        let path = svg.lines().find(|l| l.starts_with("<path d=\"M")).unwrap();
        assert_eq!(path.matches('L').count(), 2);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("fill=\"#000000\""));
        assert!(svg.contains(&format!("stroke=\"{}\"", PALETTE[0])));
    }

    #[test]
    fn output_is_deterministic() {
        let a = chart().to_svg();
        let b = chart().to_svg();
        assert_eq!(a, b);
        let fig = || Figure::new("two").panel(chart()).panel(chart().log_y());
        assert_eq!(fig().to_svg(), fig().to_svg());
        assert!(fig().to_svg().contains("clip1"));
    }

    #[test]
    fn text_is_escaped() {
        let svg = chart().to_svg();
        assert!(svg.contains(">Loss &amp; accuracy &lt;test&gt;</text>"));
        assert!(svg.contains("data-name=\"val &quot;data&quot;\""));
        assert!(!svg.contains("<test>"));
        assert_eq!(escape("a'b\u{1}"), "a&#39;b");
    }

    #[test]
    fn ticks_are_round_numbers() {
        let t: Vec<String> = linear_ticks(0.0, 1.0).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let t: Vec<String> = linear_ticks(-3.0, 12.0).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["-2", "0", "2", "4", "6", "8", "10", "12"]);
        let t: Vec<String> = log_ticks(1e-4, 2.0).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["1e-4", "0.001", "0.01", "0.1", "1"]);
        let t: Vec<String> = log_ticks(0.15, 0.9).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["0.2", "0.5"]);
        let t: Vec<String> = log_ticks(1e-13, 500.0).into_iter().map(|t| t.1).collect();
        assert_eq!(t, ["1e-12", "1e-9", "1e-6", "0.001", "1"]);
    }

    #[test]
    fn log_axis_skips_non_positive_and_non_finite_points() {
        let svg = Chart::new("")
            .log_y()
            .series(Series::line(
                "s",
                [
                    (0.0, 1.0),
                    (1.0, 0.0),
                    (2.0, f64::NAN),
                    (3.0, 0.1),
                    (4.0, 0.01),
                ],
            ))
            .to_svg();
        let path = svg.lines().find(|l| l.starts_with("<path d=\"M")).unwrap();
        // The line breaks at the two bad points: two pieces.
        assert_eq!(path.matches('M').count(), 2);
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
    }

    #[test]
    fn empty_chart_still_renders() {
        let svg = Chart::new("empty").to_svg();
        assert!(svg.contains(">empty</text>"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn writes_a_file() {
        let path = std::env::temp_dir().join(format!("rill-plot-{}.svg", std::process::id()));
        chart().write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), chart().to_svg());
        std::fs::remove_file(&path).unwrap();
    }
}
