//! `Session`: runs a graph with TF1 semantics: feeds in, fetches out, variables kept across runs.

use crate::error::{python_shape, Result, RunError};
use crate::executor::{Executor, RunContext, SequentialExecutor, Workspace};
use crate::parallel::Parallel;
use crate::trace::{RunMetadata, RunOptions, Tracer};
use crate::variables::VariableStore;
use rill_compiler::{optimize, CompileOptions, Plan, Request};
use rill_graph::{AsTensorId, Graph, Tensor, TensorId, Value};
use smallvec::SmallVec;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Constant folding's evaluator: the runtime's own kernels, on the calling thread.
fn fold_with_kernels(
    op: &rill_graph::Op,
    inputs: &[&Value],
    shape: &rill_graph::Shape,
    dtype: rill_graph::DType,
) -> Option<Value> {
    let mut out = crate::kernels::OutBuf::default();
    crate::kernels::compute(op, inputs, shape, dtype, &Parallel::sequential(), &mut out).ok()
}

/// Feed shapes a request gets plans specialised to before it shares one plan for all shapes.
const MAX_SPECIALISATIONS: usize = 8;

/// Further feed shapes remembered (pointing at the shared plan) for fast lookup.
const MAX_SHARED_SHAPES: usize = 56;

/// A compiled plan and the workspaces its runs reuse (one per run in flight).
struct CachedPlan {
    plan: Arc<Plan>,
    workspaces: Mutex<Vec<Workspace>>,
    /// Not specialised to feed shapes (a request past `MAX_SPECIALISATIONS`).
    shared_by_all_shapes: bool,
    /// Runs inside the session's pool (it has kernels big enough to split).
    in_pool: bool,
}

impl CachedPlan {
    fn new(plan: Arc<Plan>, shared_by_all_shapes: bool) -> CachedPlan {
        CachedPlan {
            in_pool: crate::kernels::uses_pool(&plan),
            plan,
            workspaces: Mutex::new(Vec::new()),
            shared_by_all_shapes,
        }
    }

    /// A workspace for a run: one a finished run left, or a new one.
    fn take_workspace(&self) -> Workspace {
        self.workspaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| Workspace::for_plan(&self.plan))
    }

    fn put_workspace(&self, ws: Workspace) {
        self.workspaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ws);
    }
}

/// The plans whose requests share one hash.
type PlanBucket = Vec<(Request, Arc<CachedPlan>)>;

/// One fed tensor: `feed(x, &value)`.
#[derive(Clone, Copy)]
pub struct Feed<'v> {
    pub tensor: TensorId,
    pub value: &'v Value,
}

/// Feeds `value` to `tensor` (any tensor can be fed, not only placeholders).
pub fn feed<'v>(tensor: impl AsTensorId, value: &'v Value) -> Feed<'v> {
    Feed {
        tensor: tensor.tensor_id(),
        value,
    }
}

/// Runs a graph. `Send + Sync`: several threads may call `run` at once; each run sees the
/// variables as the runs before it left them, and assign ops update them under a lock.
pub struct Session {
    graph: Graph,
    options: CompileOptions,
    parallel: Parallel,
    variables: VariableStore,
    plans: RwLock<HashMap<Request, Arc<Plan>>>,
    /// The per-step lookup: plans by a hash of their request's ids (see `cached_plan`).
    by_hash: RwLock<HashMap<u64, PlanBucket>>,
    runs: AtomicU64,
    executor: Box<dyn Executor>,
}

impl Session {
    /// A session over `graph`, with the sequential executor.
    pub fn new(graph: &Graph) -> Session {
        Session::with_executor(graph, Box::new(SequentialExecutor))
    }

    pub fn with_executor(graph: &Graph, executor: Box<dyn Executor>) -> Session {
        Session {
            graph: graph.clone(),
            options: CompileOptions::default(),
            parallel: Parallel::default(),
            variables: VariableStore::default(),
            plans: RwLock::new(HashMap::new()),
            by_hash: RwLock::new(HashMap::new()),
            runs: AtomicU64::new(0),
            executor,
        }
    }

    /// A session with explicit compiler options (e.g. fusion off, to measure dispatch cost).
    pub fn with_options(graph: &Graph, options: CompileOptions) -> Session {
        Session {
            options,
            ..Session::new(graph)
        }
    }

    /// Sets the number of threads big kernels (matmul, large fused elementwise) split over;
    /// 1 runs everything on the calling thread. Results do not depend on it.
    pub fn with_threads(mut self, threads: usize) -> Result<Session> {
        self.parallel = Parallel::with_threads(threads)
            .map_err(|m| RunError::Config(format!("cannot start {threads} threads: {m}")))?;
        Ok(self)
    }

    /// The plan of a request for fed values of any shape the placeholders admit, as the
    /// compiler made it (for inspection and tests). `run` specialises plans to the fed shapes:
    /// `plan_for_feeds` shows that plan.
    pub fn plan_for<F: AsTensorId, T: AsTensorId>(
        &self,
        fetches: &[F],
        feeds: &[TensorId],
        targets: &[T],
    ) -> Result<Arc<Plan>> {
        self.plan(Request {
            fetches: fetches.iter().map(AsTensorId::tensor_id).collect(),
            feeds: feeds.to_vec(),
            targets: targets.iter().map(AsTensorId::tensor_id).collect(),
            feed_shapes: Vec::new(),
        })
    }

    /// The plan `run` executes for these fetches, feeds (their values' shapes included) and
    /// targets.
    pub fn plan_for_feeds<F: AsTensorId, T: AsTensorId>(
        &self,
        fetches: &[F],
        feeds: &[Feed<'_>],
        targets: &[T],
    ) -> Result<Arc<Plan>> {
        Ok(self.cached_plan(fetches, feeds, targets)?.plan.clone())
    }

    /// The plan of a run with these feeds as lowering made it and after each compiler pass,
    /// by pass name (`"lowered"`, `"specialize"`, ..., `"memory"`): `plan.to_dot()` of each
    /// shows what the pass changed.
    pub fn plan_stages_for_feeds<F: AsTensorId, T: AsTensorId>(
        &self,
        fetches: &[F],
        feeds: &[Feed<'_>],
        targets: &[T],
    ) -> Result<Vec<(&'static str, Plan)>> {
        let request = Request {
            fetches: fetches.iter().map(AsTensorId::tensor_id).collect(),
            feeds: feeds.iter().map(|f| f.tensor).collect(),
            targets: targets.iter().map(AsTensorId::tensor_id).collect(),
            feed_shapes: feeds.iter().map(|f| f.value.shape().to_vec()).collect(),
        };
        Ok(rill_compiler::compile_stages(
            &self.graph,
            &request,
            &self.options,
            Some(&fold_with_kernels),
        )?)
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Computes `fetches` given `feeds`, running only the part of the graph they need.
    pub fn run<F: AsTensorId>(&self, fetches: &[F], feeds: &[Feed<'_>]) -> Result<Vec<Value>> {
        self.run_with_targets(fetches, feeds, &[] as &[TensorId])
    }

    /// Computes one tensor.
    pub fn eval(&self, fetch: impl AsTensorId, feeds: &[Feed<'_>]) -> Result<Value> {
        let mut out = self.run(&[fetch.tensor_id()], feeds)?;
        Ok(out.pop().expect("one fetch, one value"))
    }

    /// Runs `targets` (ops such as a training step or `init`) for their effects.
    pub fn run_targets<T: AsTensorId>(&self, targets: &[T], feeds: &[Feed<'_>]) -> Result<()> {
        self.run_with_targets(&[] as &[TensorId], feeds, targets)
            .map(|_| ())
    }

    /// Runs `init`-style target ops with no feeds: `sess.run_target(init)`.
    pub fn run_target(&self, target: Tensor<'_>) -> Result<()> {
        self.run_targets(&[target], &[])
    }

    /// The general form: fetch values, and also run `targets`.
    pub fn run_with_targets<F: AsTensorId, T: AsTensorId>(
        &self,
        fetches: &[F],
        feeds: &[Feed<'_>],
        targets: &[T],
    ) -> Result<Vec<Value>> {
        let cached = self.cached_plan(fetches, feeds, targets)?;
        self.execute(&cached, feeds, None)
    }

    /// `run_with_targets` with options (TF1's `sess.run(..., options=, run_metadata=)`): with
    /// `options.trace`, `metadata` gets what each step of the run cost, on which thread
    /// (`RunMetadata::summary`, `RunMetadata::chrome_trace`), the failing step included when
    /// the run fails. Tracing times each step, so a traced run is a little slower.
    pub fn run_with_options<F: AsTensorId, T: AsTensorId>(
        &self,
        fetches: &[F],
        feeds: &[Feed<'_>],
        targets: &[T],
        options: &RunOptions,
        metadata: &mut RunMetadata,
    ) -> Result<Vec<Value>> {
        *metadata = RunMetadata::default();
        let cached = self.cached_plan(fetches, feeds, targets)?;
        if !options.trace {
            return self.execute(&cached, feeds, None);
        }
        let tracer = Tracer::new(&cached.plan, &self.parallel);
        let result = self.execute(&cached, feeds, Some(&tracer));
        *metadata = tracer.finish(cached.plan.clone());
        result
    }

    /// Runs a cached plan with `feeds`, checked against the plan's feed types and shapes.
    fn execute(
        &self,
        cached: &CachedPlan,
        feeds: &[Feed<'_>],
        trace: Option<&Tracer>,
    ) -> Result<Vec<Value>> {
        let plan = &cached.plan;
        let mut values: SmallVec<[&Value; 8]> = SmallVec::with_capacity(feeds.len());
        for (slot, f) in plan.feeds.iter().zip(feeds) {
            if f.value.dtype() != slot.dtype {
                return Err(RunError::FeedDType {
                    tensor: slot.name.clone(),
                    got: f.value.dtype().tf_name().to_string(),
                    expected: slot.dtype.tf_name().to_string(),
                });
            }
            if !slot.shape.admits(f.value.shape()) {
                return Err(RunError::FeedShape {
                    tensor: slot.name.clone(),
                    value_shape: python_shape(f.value.shape()),
                    expected: slot.shape.python_repr(),
                });
            }
            values.push(f.value);
        }
        let ctx = RunContext {
            variables: &self.variables,
            run: self.runs.fetch_add(1, Ordering::Relaxed),
            parallel: &self.parallel,
            trace,
        };
        let mut ws = cached.take_workspace();
        // A plan with big kernels runs on a pool thread: the pool's other threads join its
        // kernels, kept awake between them for the step (`run_awake`); none of them spins for
        // work beside a thread running small steps.
        let mut execute = || self.executor.execute(plan, &values, &ctx, &mut ws);
        let result = if cached.in_pool {
            self.parallel.run_awake(execute)
        } else {
            execute()
        };
        cached.put_workspace(ws);
        result
    }

    /// Heap bytes the session keeps between runs in the buffers of its plans' workspaces.
    pub fn buffered_bytes(&self) -> usize {
        let by_hash = self.by_hash.read().unwrap_or_else(|e| e.into_inner());
        // Requests past the specialisation limit share one plan: count each plan once.
        let mut seen: Vec<*const CachedPlan> = Vec::new();
        by_hash
            .values()
            .flatten()
            .filter(|(_, c)| {
                let p = Arc::as_ptr(c);
                let new = !seen.contains(&p);
                seen.push(p);
                new
            })
            .map(|(_, c)| {
                c.workspaces
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(Workspace::buffered_bytes)
                    .sum::<usize>()
            })
            .sum()
    }

    /// The cached plan for a request, compiled on first use. The graph only grows and its nodes
    /// never change, so a cached plan stays valid when nodes are added later.
    /// The plan for a request, found without allocating: requests are keyed by a hash of their
    /// ids and compared slice by slice; only a miss builds a `Request` and compiles.
    fn cached_plan<F: AsTensorId, T: AsTensorId>(
        &self,
        fetches: &[F],
        feeds: &[Feed<'_>],
        targets: &[T],
    ) -> Result<Arc<CachedPlan>> {
        let mut h = DefaultHasher::new();
        for t in fetches {
            t.tensor_id().hash(&mut h);
        }
        0xfeedu32.hash(&mut h);
        for f in feeds {
            f.tensor.hash(&mut h);
        }
        0x7a59u32.hash(&mut h);
        for t in targets {
            t.tensor_id().hash(&mut h);
        }
        for f in feeds {
            f.value.shape().hash(&mut h);
        }
        let key = h.finish();
        let same = |r: &Request| {
            r.fetches.len() == fetches.len()
                && r.feeds.len() == feeds.len()
                && r.targets.len() == targets.len()
                && r.fetches
                    .iter()
                    .zip(fetches)
                    .all(|(a, b)| *a == b.tensor_id())
                && r.feeds.iter().zip(feeds).all(|(a, b)| *a == b.tensor)
                && r.targets
                    .iter()
                    .zip(targets)
                    .all(|(a, b)| *a == b.tensor_id())
                && r.feed_shapes.len() == feeds.len()
                && r.feed_shapes
                    .iter()
                    .zip(feeds)
                    .all(|(a, b)| a.as_slice() == b.value.shape())
        };
        if let Some(bucket) = self
            .by_hash
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            if let Some((_, p)) = bucket.iter().find(|(r, _)| same(r)) {
                return Ok(p.clone());
            }
        }
        let request = Request {
            fetches: fetches.iter().map(AsTensorId::tensor_id).collect(),
            feeds: feeds.iter().map(|f| f.tensor).collect(),
            targets: targets.iter().map(AsTensorId::tensor_id).collect(),
            feed_shapes: feeds.iter().map(|f| f.value.shape().to_vec()).collect(),
        };
        let mut by_hash = self.by_hash.write().unwrap_or_else(|e| e.into_inner());
        // Another thread may have compiled it meanwhile.
        if let Some((_, c)) = by_hash
            .get(&key)
            .and_then(|b| b.iter().find(|(r, _)| same(r)))
        {
            return Ok(c.clone());
        }
        // One plan per feed shapes, up to a limit; past it (feeds of ever new shapes) the
        // request shares one plan for all shapes.
        let unshaped = Request {
            feed_shapes: Vec::new(),
            ..request.clone()
        };
        let same_but_shapes = |r: &Request| {
            r.fetches == unshaped.fetches
                && r.feeds == unshaped.feeds
                && r.targets == unshaped.targets
        };
        let mut others = by_hash
            .values()
            .flatten()
            .filter(|(r, _)| same_but_shapes(r));
        let seen = others.clone().count();
        // Feeds the run will reject (wrong dtype or shape) get a plan that is not kept: they
        // must not use up the specialisations.
        if !self.feeds_fit(feeds) {
            return Ok(Arc::new(CachedPlan::new(self.plan(unshaped)?, true)));
        }
        let cached = if seen >= MAX_SPECIALISATIONS {
            let shared = others
                .find(|(_, c)| c.shared_by_all_shapes)
                .map(|(_, c)| c.clone());
            let shared = match shared {
                Some(c) => c,
                None => Arc::new(CachedPlan::new(self.plan(unshaped)?, true)),
            };
            // Past the limit, new shapes are remembered only up to a bound, so feeds of ever
            // new shapes do not grow the cache without end (later ones find the plan here).
            if seen >= MAX_SPECIALISATIONS + MAX_SHARED_SHAPES {
                return Ok(shared);
            }
            shared
        } else {
            Arc::new(CachedPlan::new(self.plan(request.clone())?, false))
        };
        by_hash
            .entry(key)
            .or_default()
            .push((request, cached.clone()));
        Ok(cached)
    }

    fn plan(&self, request: Request) -> Result<Arc<Plan>> {
        if let Some(p) = self
            .plans
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&request)
        {
            return Ok(p.clone());
        }
        let plan = Arc::new(optimize(
            &self.graph,
            &request,
            &self.options,
            Some(&fold_with_kernels),
        )?);
        self.plans
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request, plan.clone());
        Ok(plan)
    }

    /// Whether every fed value has the dtype of its tensor and a shape its static shape admits
    /// (the checks `run` makes, here against the graph, before a plan exists).
    fn feeds_fit(&self, feeds: &[Feed<'_>]) -> bool {
        self.graph.with_nodes(|nodes| {
            feeds.iter().all(|f| {
                nodes
                    .get(f.tensor.node.index())
                    .is_some_and(|n| n.dtype == f.value.dtype() && n.shape.admits(f.value.shape()))
            })
        })
    }

    /// Whether a variable holds a value in this session.
    pub fn is_initialized(&self, variable: Tensor<'_>) -> bool {
        match variable.op() {
            rill_graph::Op::Variable { slot } => self.variables.is_initialized(slot),
            _ => false,
        }
    }
}
