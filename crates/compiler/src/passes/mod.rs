//! Optimisation passes over a `Plan`, one file each, run in a fixed order (Grappler's: shapes,
//! constants, arithmetic, common subexpressions, fusion, pruning; then scheduling and memory). `pipeline` is that
//! order as a list; `plan::optimize` runs it and `plan::compile_stages` keeps the plan after
//! each pass, for inspection.

pub mod cse;
pub mod fold;
pub mod fusion;
pub mod memory;
pub mod prune;
pub mod schedule;
pub mod simplify;
pub mod specialize;

use crate::plan::{CompileOptions, Plan};
use fold::Evaluator;

/// One rewrite of a plan.
pub trait Pass {
    /// The name DOT dumps and summaries use.
    fn name(&self) -> &'static str;
    fn run(&self, plan: &mut Plan);
}

/// The passes `options` asks for, in the order they run. Shape specialisation runs when the
/// request has feed shapes, constant folding when an evaluator is given; pruning of dead steps
/// and liveness always run.
pub fn pipeline<'a>(
    options: &CompileOptions,
    feed_shapes: &'a [Vec<usize>],
    evaluator: Option<Evaluator<'a>>,
) -> Vec<Box<dyn Pass + 'a>> {
    let mut passes: Vec<Box<dyn Pass + 'a>> = Vec::new();
    if !feed_shapes.is_empty() {
        passes.push(Box::new(Specialize(feed_shapes)));
    }
    if let (true, Some(eval)) = (options.constant_folding, evaluator) {
        passes.push(Box::new(ConstantFolding(eval)));
    }
    if options.simplify {
        passes.push(Box::new(Simplify));
    }
    if options.cse {
        passes.push(Box::new(Cse));
    }
    if options.fusion {
        passes.push(Box::new(Fusion));
    }
    passes.push(Box::new(Prune));
    if options.concurrency && options.memory_planning {
        passes.push(Box::new(Schedule));
    }
    passes.push(Box::new(MemoryPlanning {
        share_buffers: options.memory_planning,
        concurrency: options.concurrency && options.memory_planning,
    }));
    passes
}

struct Specialize<'a>(&'a [Vec<usize>]);
struct ConstantFolding<'a>(Evaluator<'a>);
struct Simplify;
struct Cse;
struct Fusion;
struct Prune;
struct Schedule;
struct MemoryPlanning {
    share_buffers: bool,
    concurrency: bool,
}

impl Pass for Specialize<'_> {
    fn name(&self) -> &'static str {
        "specialize"
    }
    fn run(&self, plan: &mut Plan) {
        specialize::specialize(plan, self.0);
    }
}

impl Pass for ConstantFolding<'_> {
    fn name(&self) -> &'static str {
        "constant_folding"
    }
    fn run(&self, plan: &mut Plan) {
        fold::fold(plan, self.0);
    }
}

impl Pass for Simplify {
    fn name(&self) -> &'static str {
        "simplify"
    }
    fn run(&self, plan: &mut Plan) {
        simplify::simplify(plan);
    }
}

impl Pass for Cse {
    fn name(&self) -> &'static str {
        "cse"
    }
    fn run(&self, plan: &mut Plan) {
        cse::eliminate(plan);
    }
}

impl Pass for Fusion {
    fn name(&self) -> &'static str {
        "fusion"
    }
    fn run(&self, plan: &mut Plan) {
        fusion::fuse(plan);
    }
}

impl Pass for Prune {
    fn name(&self) -> &'static str {
        "prune"
    }
    fn run(&self, plan: &mut Plan) {
        prune::remove_dead(plan);
    }
}

impl Pass for Schedule {
    fn name(&self) -> &'static str {
        "schedule"
    }
    fn run(&self, plan: &mut Plan) {
        schedule::schedule(plan);
    }
}

impl Pass for MemoryPlanning {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn run(&self, plan: &mut Plan) {
        if self.share_buffers {
            memory::plan_memory(plan);
        } else {
            memory::assign_frees(plan);
        }
        if self.concurrency {
            memory::mark_concurrent_groups(plan);
            memory::mark_pairs(plan);
        }
    }
}
