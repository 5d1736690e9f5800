//! Step tracing: what `RunOptions { trace: true }` records of a run (TF1's `FULL_TRACE` and
//! `RunMetadata.step_stats`) and the views of it: a table of the costliest steps and a Chrome
//! trace (`chrome://tracing`, Perfetto), as TF's `timeline.Timeline` writes.
//!
//! A traced run records one event per executed step into storage made before the run; an
//! untraced run's step loop is built without tracing in it.

use crate::parallel::Parallel;
use rill_compiler::Plan;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Options of one `Session::run_with_options` call: `RunOptions::traced()`, or the default
/// (nothing recorded). Non-exhaustive, so options can be added (TF1 also has timeouts).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Record when each step ran, on which thread, into the run's `RunMetadata`.
    pub trace: bool,
}

impl RunOptions {
    /// Options that trace the run (TF1's `trace_level=FULL_TRACE`).
    pub fn traced() -> RunOptions {
        RunOptions { trace: true }
    }
}

/// One executed step, as a traced run saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepStats {
    /// The node the step computes (for a fused step, the last fused node).
    pub node: String,
    /// The op's type name, `Fused[MatMul, Add, Relu]` for a fused step.
    pub op: String,
    /// The step's output shape as the plan knows it (`?` for dimensions known only at run).
    pub shape: String,
    /// When the step started, from the start of the run's execution.
    pub start_micros: f64,
    /// How long it took: its kernel, and for a step run on its own (not in a concurrent group
    /// or a companion pair) also taking and storing its output buffer.
    pub duration_micros: f64,
    /// 0 for a thread outside the session's pool (the one that called `run`, when the plan
    /// runs there); `i + 1` for the pool's thread `rill-{i}`; one past the pool's last for the
    /// session's companion thread (the second step of a companion pair).
    pub thread: usize,
}

/// What a traced run left: the steps it ran (the one that failed included), in the order they
/// finished. `Session::run_with_options` resets it first, so it never shows an earlier run.
#[derive(Default)]
pub struct RunMetadata {
    plan: Option<Arc<Plan>>,
    /// The `StepStats::thread` of the session's companion thread.
    companion_thread: usize,
    events: Vec<Event>,
    total_micros: f64,
}

impl std::fmt::Debug for RunMetadata {
    // The plan is large: name what the metadata holds, not all of it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunMetadata")
            .field("traced", &self.is_traced())
            .field("steps", &self.events.len())
            .field("total_micros", &self.total_micros)
            .finish()
    }
}

/// One step's timing, kept as numbers so recording never allocates.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    step: usize,
    start_nanos: u64,
    end_nanos: u64,
    thread: usize,
}

/// Where a traced run's executor records events. Steps of a concurrent group record from
/// several threads, hence the lock; it is taken only by traced runs.
pub struct Tracer {
    origin: Instant,
    events: Mutex<Vec<Event>>,
    /// The session's pool, whose threads the events name.
    parallel: Parallel,
}

impl Tracer {
    pub(crate) fn new(plan: &Plan, parallel: &Parallel) -> Tracer {
        Tracer {
            origin: Instant::now(),
            events: Mutex::new(Vec::with_capacity(plan.steps.len())),
            parallel: parallel.clone(),
        }
    }

    /// The time a step starts, to hand back to `record` when it ends.
    pub(crate) fn start(&self) -> Instant {
        Instant::now()
    }

    /// Records that plan step `step` ran from `started` until now.
    pub(crate) fn record(&self, step: usize, started: Instant) {
        let end = Instant::now();
        let nanos = |t: Instant| t.saturating_duration_since(self.origin).as_nanos() as u64;
        let thread = if crate::companion::on_companion() {
            self.companion_thread()
        } else {
            self.parallel.thread_index().map_or(0, |i| i + 1)
        };
        let event = Event {
            step,
            start_nanos: nanos(started),
            end_nanos: nanos(end),
            thread,
        };
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }

    /// The number the companion thread's events carry: one past the pool's threads.
    fn companion_thread(&self) -> usize {
        self.parallel.threads() + 1
    }

    /// Records plan step `step`, which began at `started`, when the run is traced (both given).
    #[inline(always)]
    pub(crate) fn record_if(trace: Option<&Tracer>, step: usize, started: Option<Instant>) {
        if let (Some(trace), Some(started)) = (trace, started) {
            trace.record(step, started);
        }
    }

    pub(crate) fn finish(self, plan: Arc<Plan>) -> RunMetadata {
        let total_micros = self.origin.elapsed().as_secs_f64() * 1e6;
        RunMetadata {
            plan: Some(plan),
            companion_thread: self.companion_thread(),
            events: self.events.into_inner().unwrap_or_else(|e| e.into_inner()),
            total_micros,
        }
    }
}

impl RunMetadata {
    /// Whether the run this came from was traced.
    pub fn is_traced(&self) -> bool {
        self.plan.is_some()
    }

    /// Wall time of the traced run's execution, in microseconds.
    pub fn total_micros(&self) -> f64 {
        self.total_micros
    }

    /// The steps the run executed, in the order they finished.
    pub fn step_stats(&self) -> Vec<StepStats> {
        let Some(plan) = &self.plan else {
            return Vec::new();
        };
        self.events
            .iter()
            .filter_map(|e| {
                let step = plan.steps.get(e.step)?;
                Some(StepStats {
                    node: step.name.clone(),
                    op: match &step.fused {
                        Some(program) => program.label(),
                        None => step.op.type_name().to_string(),
                    },
                    shape: step.shape.to_string(),
                    start_micros: e.start_nanos as f64 / 1e3,
                    duration_micros: e.end_nanos.saturating_sub(e.start_nanos) as f64 / 1e3,
                    thread: e.thread,
                })
            })
            .collect()
    }

    /// The `top` costliest steps, one line each (node, op, shape, microseconds, share of the
    /// run), then the time in all steps and in the run.
    pub fn summary(&self, top: usize) -> String {
        let mut stats = self.step_stats();
        let in_steps: f64 = stats.iter().map(|s| s.duration_micros).sum();
        stats.sort_by(|a, b| b.duration_micros.total_cmp(&a.duration_micros));
        let mut out = String::new();
        for s in stats.iter().take(top) {
            let share = 100.0 * s.duration_micros / self.total_micros.max(f64::MIN_POSITIVE);
            out.push_str(&format!(
                "{:>10.1} us {:>5.1}%  {}  {}  {}  (thread {})\n",
                s.duration_micros, share, s.node, s.op, s.shape, s.thread
            ));
        }
        out.push_str(&format!(
            "{} steps: {:.1} us in steps, {:.1} us in the run\n",
            stats.len(),
            in_steps,
            self.total_micros
        ));
        out
    }

    /// The run as Chrome trace events (JSON): one complete event per step, one row per thread,
    /// each row named (`caller`, `rill-0`, ..., `rill-companion`) as TF's `Timeline` names its
    /// rows.
    pub fn chrome_trace(&self) -> String {
        let stats = self.step_stats();
        let mut threads: Vec<usize> = stats.iter().map(|s| s.thread).collect();
        threads.sort_unstable();
        threads.dedup();
        let names = threads.into_iter().map(|t| {
            let name = match t {
                0 => "caller".to_string(),
                i if i == self.companion_thread => "rill-companion".to_string(),
                i => format!("rill-{}", i - 1),
            };
            serde_json::json!({
                "name": "thread_name", "ph": "M", "pid": 0, "tid": t, "args": { "name": name },
            })
        });
        let events: Vec<serde_json::Value> = names
            .chain(stats.into_iter().map(|s| {
                serde_json::json!({
                    "name": s.node,
                    "cat": s.op,
                    "ph": "X",
                    "ts": s.start_micros,
                    "dur": s.duration_micros,
                    "pid": 0,
                    "tid": s.thread,
                    "args": { "op": s.op, "shape": s.shape },
                })
            }))
            .collect();
        serde_json::json!({ "traceEvents": events, "displayTimeUnit": "ns" }).to_string()
    }
}
