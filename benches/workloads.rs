//! The reference workloads (`shared/reference-bench/`) on rill: W1 the tutorial's model (TF1
//! style and Keras style), W2 an MNIST-sized MLP (training, inference, memory), W3 GEMM in a
//! graph (with the `gemm` crate and ndarray as in-run ceilings), W4 dispatch cost.
//!
//! Run: `cargo bench --bench workloads [-- w1 w2 w3 w4]`. Prints one `name value unit` line per
//! figure, names as `workload.figure/implementation`. With `RILL_REFERENCE=path` (a file of
//! `name value unit` lines, as `benches/reference/run_references.sh` writes them from the
//! peers' scripts run in the same sitting) each rill figure is followed by indented lines with
//! its speed relative to every figure of the same name part before the `/` (reference or
//! in-run ceiling): `>1` means rill is faster (or smaller, for bytes). `RILL_BENCH_QUICK=1`
//! runs a short smoke version. Threads: 2 (as the references), or `RAYON_NUM_THREADS`.

#[path = "workloads/w1.rs"]
mod w1;
#[path = "workloads/w2.rs"]
mod w2;
#[path = "workloads/w3.rs"]
mod w3;
#[path = "workloads/w4.rs"]
mod w4;

use rill::prelude::Value;
use rill::runtime::{RunMetadata, RunOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes currently allocated and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grow(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap bytes allocated now.
pub fn heap_now() -> usize {
    CURRENT.load(Ordering::Relaxed)
}

/// The peak of heap bytes since the last `reset_heap_peak`.
pub fn heap_peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak at the current allocation.
pub fn reset_heap_peak() {
    PEAK.store(CURRENT.load(Ordering::Relaxed), Ordering::Relaxed);
}

pub fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "median of nothing");
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Prints a plan's summary and steps to stderr (`RILL_BENCH_VERBOSE=1`).
pub fn print_plan(what: &str, plan: &rill::compiler::Plan, batch: usize) {
    eprintln!("{what} plan:\n{}", plan.summary());
    eprintln!(
        "planned bytes at batch {batch}: {}",
        plan.planned_bytes(batch)
    );
    for st in &plan.steps {
        let op = st
            .fused
            .as_ref()
            .map_or(st.op.type_name().to_string(), |p| p.label());
        eprintln!(
            "  slot {:>3} <- {:?} {op} {} {} buffer {:?} frees {:?}",
            st.output, st.inputs, st.name, st.shape, st.buffer, st.frees
        );
    }
}

/// Whether `RILL_BENCH_TRACE=1` asks for traced steps (`trace_runs`).
pub fn tracing() -> bool {
    std::env::var("RILL_BENCH_TRACE").is_ok_and(|v| v == "1")
}

/// Runs `run(i, options, metadata)` traced `n` times (`i` in `0..n`) and prints the median
/// time of each step, costliest first, to stderr.
pub fn trace_runs(
    what: &str,
    n: usize,
    mut run: impl FnMut(usize, &RunOptions, &mut RunMetadata) -> rill::runtime::Result<Vec<Value>>,
) {
    let options = RunOptions::traced();
    let traced: Vec<RunMetadata> = (0..n)
        .map(|i| {
            let mut meta = RunMetadata::default();
            run(i, &options, &mut meta).expect("a traced run");
            meta
        })
        .collect();
    print_trace(what, &traced);
}

/// The median time of each step over traced runs of one plan, costliest first, to stderr.
fn print_trace(what: &str, runs: &[RunMetadata]) {
    let mut by_node: Vec<(String, String, String, Vec<f64>)> = Vec::new();
    for run in runs {
        for s in run.step_stats() {
            match by_node.iter_mut().find(|(n, ..)| *n == s.node) {
                Some((.., times)) => times.push(s.duration_micros),
                None => by_node.push((s.node, s.op, s.shape, vec![s.duration_micros])),
            }
        }
    }
    let mut rows: Vec<(f64, String)> = by_node
        .into_iter()
        .map(|(node, op, shape, times)| (median(times), format!("{node}  {op}  {shape}")))
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let in_steps: f64 = rows.iter().map(|r| r.0).sum();
    let run = median(runs.iter().map(|r| r.total_micros()).collect());
    eprintln!(
        "{what}: median of {} traced runs: {run:.1} us a run, {in_steps:.1} us in steps",
        runs.len()
    );
    for (us, row) in rows.iter().take(25) {
        eprintln!("  {us:>9.1} us {:>5.1}%  {row}", 100.0 * us / run);
    }
}

/// Whether `RILL_BENCH_QUICK=1` asks for a short smoke run.
pub fn quick() -> bool {
    std::env::var("RILL_BENCH_QUICK").is_ok_and(|v| v == "1")
}

/// A small deterministic generator (PCG-style LCG): uniform and normal f32 samples.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = (self.uniform() as f64).max(1e-12);
        let u2 = self.uniform() as f64;
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 33) % n as u64) as usize
    }
}

/// The figures printed so far and the peers' figures to compare with.
pub struct Report {
    references: Vec<(String, f64, String)>,
    rows: Vec<(String, f64, String)>,
}

/// The name part before the `/`: what is measured, without who measured it.
fn figure_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

/// Rates (`.../s`) are better higher; times and bytes lower.
fn higher_is_better(unit: &str) -> bool {
    unit.ends_with("/s")
}

impl Report {
    /// Reads `RILL_REFERENCE` if set: `name value unit` lines, `#` comments.
    pub fn from_env() -> Report {
        let mut references = Vec::new();
        if let Ok(path) = std::env::var("RILL_REFERENCE") {
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    for line in text.lines().map(str::trim) {
                        if line.is_empty() || line.starts_with('#') {
                            continue;
                        }
                        let f: Vec<&str> = line.split_whitespace().collect();
                        match (f.first(), f.get(1).and_then(|v| v.parse::<f64>().ok())) {
                            (Some(n), Some(v)) => references.push((
                                n.to_string(),
                                v,
                                f.get(2).unwrap_or(&"").to_string(),
                            )),
                            _ => eprintln!("{path}: skipped line {line:?}"),
                        }
                    }
                    println!("# {} reference figures from {path}", references.len());
                }
                Err(e) => eprintln!("RILL_REFERENCE={path}: {e}"),
            }
        }
        Report {
            references,
            rows: Vec::new(),
        }
    }

    /// Prints `name value unit`; for a rill figure, its ratio to each comparable figure.
    pub fn figure(&mut self, name: &str, value: f64, unit: &str) {
        println!("{name} {} {unit}", fmt_value(value));
        if name.contains("/rill") {
            let key = figure_of(name);
            let others = self
                .references
                .iter()
                .map(|r| (r, "ref"))
                .chain(self.rows.iter().map(|r| (r, "in-run")));
            for ((rn, rv, ru), origin) in others {
                if figure_of(rn) != key || rn.contains("/rill") || ru != unit || *rv <= 0.0 {
                    continue;
                }
                let speed = if higher_is_better(unit) {
                    value / rv
                } else {
                    rv / value
                };
                println!(
                    "  vs {rn} {} {ru} ({origin}): rill {speed:.2}x",
                    fmt_value(*rv)
                );
            }
        }
        self.rows.push((name.to_string(), value, unit.to_string()));
    }
}

/// Four significant digits, no exponent for the magnitudes printed here.
fn fmt_value(v: f64) -> String {
    let mag = if v == 0.0 {
        0
    } else {
        v.abs().log10().floor() as i32
    };
    let decimals = (3 - mag).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| a.to_lowercase())
        .collect();
    let want = |w: &str| args.is_empty() || args.iter().any(|a| a == w);
    if std::env::var("RAYON_NUM_THREADS").is_err() {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build_global()
            .expect("the global rayon pool is built once, first");
    }
    let mut report = Report::from_env();
    println!(
        "# rill workloads: threads {}, quick {}, load average {}",
        rayon::current_num_threads(),
        quick(),
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "?".into())
    );
    println!("# ratios: rill's speed relative to the figure named (>1: rill faster or smaller)");
    if want("w1") {
        w1::run(&mut report);
    }
    if want("w2") {
        w2::run(&mut report);
    }
    if want("w3") {
        w3::run(&mut report);
    }
    if want("w4") {
        w4::run(&mut report);
    }
}
