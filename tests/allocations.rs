//! The per-step path allocates nothing but what it hands back: once a plan has run, a run of
//! it allocates only the fetched values and the vector holding them (counted per thread by a
//! counting allocator, so tests running beside each other do not mix their counts).

#[path = "common/lcg.rs"]
#[allow(dead_code)] // its other draws are for the random-graph tests
mod lcg;

use lcg::Lcg;
use rill::compiler::CompileOptions;
use rill::nn::{GradientDescent, Optimizer};
use rill::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting each thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the count is gone while the thread's locals are torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded to `System` unchanged; the counter only observes calls (a
// const-initialised thread local with no destructor, which never allocates).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// What `f` returns, and the allocations it made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// An f32 value of `shape`, deterministic per seed.
fn data(shape: &[usize], seed: u64) -> Value {
    Lcg(seed).value(shape)
}

/// The results of `runs` runs after a warm-up, and the most allocations any of them made.
fn most_per_run<R>(runs: usize, mut run: impl FnMut() -> R) -> (Vec<R>, usize) {
    for _ in 0..3 {
        run();
    }
    let mut results = Vec::with_capacity(runs);
    let mut most = 0;
    for _ in 0..runs {
        let (r, n) = allocations(&mut run);
        results.push(r);
        most = most.max(n);
    }
    (results, most)
}

/// A float weight matrix with Glorot-uniform initial values (seeded by the graph).
fn glorot<'g>(g: &'g Graph, [rows, cols]: [usize; 2], name: &str) -> Tensor<'g> {
    let init = Initializer::GlorotUniform { seed: None };
    g.variable_init(&[rows, cols], DType::F32, init, name)
}

/// SGD on `loss` at `rate`, and a one-thread session (so every allocation is this thread's)
/// with the variables initialised.
fn trainer<'g>(g: &'g Graph, loss: Tensor<'g>, rate: f64) -> (Session, Tensor<'g>) {
    let train = GradientDescent::new(rate).minimize(loss, None).unwrap();
    let sess = Session::new(g).with_threads(1).unwrap();
    sess.run_target(g.global_variables_initializer()).unwrap();
    (sess, train)
}

/// A fetched value costs its storage; the run's result vector one more (none when empty).
const PER_FETCH: usize = 1;
const PER_RUN: usize = 1;

#[test]
fn a_training_step_allocates_only_its_fetched_loss() {
    let g = Graph::new();
    g.set_random_seed(3);
    let x = g.placeholder(DType::F32, [None, Some(2)], "x");
    let y = g.placeholder(DType::F32, [None, Some(1)], "y");
    let mut h = x;
    for (i, (a, b)) in [(2, 10), (10, 10), (10, 1)].into_iter().enumerate() {
        let w = glorot(&g, [a, b], &format!("W{i}"));
        let bias = g.variable_init(&[b], DType::F32, Initializer::Zeros, &format!("b{i}"));
        h = (h.matmul(w) + bias).sigmoid();
    }
    let loss = (h - y).square().mean(ALL, false);
    let (sess, train) = trainer(&g, loss, 0.1);
    let (xs, ys) = (data(&[64, 2], 1), data(&[64, 1], 2));
    let feeds = [feed(x, &xs), feed(y, &ys)];
    let (outs, most) = most_per_run(5, || {
        sess.run_with_targets(&[loss], &feeds, &[train]).unwrap()
    });
    assert_eq!(most, PER_FETCH + PER_RUN, "allocations in a run");
    // The steps did train (so the count is of real runs).
    let losses: Vec<f64> = outs.iter().map(|o| o[0].to_f64_vec()[0]).collect();
    assert!(losses[4] < losses[0], "{losses:?}");
}

#[test]
fn a_target_only_update_allocates_nothing() {
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(4)], "x");
    let w = g.variable_init(&[4, 4], DType::F32, Initializer::Ones, "w");
    let loss = x.matmul(w).tanh().sum(ALL, false);
    let (sess, train) = trainer(&g, loss, 0.01);
    let xs = data(&[8, 4], 5);
    let (_, most) = most_per_run(5, || sess.run_targets(&[train], &[feed(x, &xs)]).unwrap());
    assert_eq!(most, 0, "allocations in a run");
}

#[test]
fn fetched_gradients_cost_only_their_storage() {
    // The gradients' `SumTo`s and the `identity` go at compile time (the fed shapes are known
    // to the specialised plan); the two fetched gradients' storage and the result vector are
    // all a run allocates.
    let g = Graph::new();
    let x = g.placeholder(DType::F32, [None, Some(4)], "x");
    let y = g.placeholder(DType::F32, [None, Some(4)], "y");
    let loss = ((x * y).identity() * 3.0).sum(ALL, false);
    let grads = rill::compiler::gradients(&[loss], &[x, y], None).unwrap();
    let (dx, dy) = (grads[0].unwrap(), grads[1].unwrap());
    let sess = Session::new(&g).with_threads(1).unwrap();
    let (xs, ys) = (data(&[3, 4], 9), data(&[3, 4], 10));
    let (outs, most) = most_per_run(5, || {
        sess.run(&[dx, dy], &[feed(x, &xs), feed(y, &ys)]).unwrap()
    });
    assert_eq!(most, 2 * PER_FETCH + PER_RUN, "allocations in a run");
    let want = |v: &Value| {
        v.to_f64_vec()
            .iter()
            .map(|&e| (3.0f32 * e as f32) as f64)
            .collect::<Vec<_>>()
    };
    assert_eq!(outs[4][0].to_f64_vec(), want(&ys));
    assert_eq!(outs[4][1].to_f64_vec(), want(&xs));
}

#[test]
fn a_step_whose_products_take_rills_gemm_allocates_nothing() {
    // Products too big for the narrow kernel go to `sgemm`, with the bias and relu as their
    // epilogue (which takes the kernels' scratch while the gemm's panels are in use), and the
    // weight gradients with the learning rate as theirs.
    let g = Graph::new();
    g.set_random_seed(4);
    let x = g.placeholder(DType::F32, [None, Some(200)], "x");
    let w0 = glorot(&g, [200, 300], "w0");
    let b0 = g.variable_init(&[300], DType::F32, Initializer::Zeros, "b0");
    let w1 = glorot(&g, [300, 40], "w1");
    let h = (x.matmul(w0) + b0).relu();
    let loss = h.matmul(w1).square().mean(ALL, false);
    let (sess, train) = trainer(&g, loss, 0.01);
    let xs = data(&[64, 200], 11);
    let (_, most) = most_per_run(5, || sess.run_targets(&[train], &[feed(x, &xs)]).unwrap());
    assert_eq!(most, 0, "allocations in a run");
    // The step trains (so the count is of real runs).
    let after = sess.run(&[loss], &[feed(x, &xs)]).unwrap()[0].to_f64_vec()[0];
    for _ in 0..20 {
        sess.run_targets(&[train], &[feed(x, &xs)]).unwrap();
    }
    let later = sess.run(&[loss], &[feed(x, &xs)]).unwrap()[0].to_f64_vec()[0];
    assert!(later < after, "{after} -> {later}");
}

#[test]
fn a_step_compiled_without_folding_simplification_or_fusion_allocates_only_its_fetch() {
    // These plans keep the steps that hand their input on unchanged: the `identity`, and the
    // gradients' `SumTo`s to their input's own shape (of the adds, whose operands have one
    // shape). Their outputs share their input's buffer, which lives on until both are dead.
    let g = Graph::new();
    g.set_random_seed(5);
    let x = g.placeholder(DType::F32, [None, Some(6)], "x");
    let w = glorot(&g, [6, 6], "w");
    let shift = g.placeholder(DType::F32, [None, Some(6)], "shift");
    let h = (x.matmul(w) + shift).identity().tanh();
    let loss = (h * h + x).mean(ALL, false);
    let train = GradientDescent::new(0.1).minimize(loss, None).unwrap();
    let options = CompileOptions {
        constant_folding: false,
        simplify: false,
        fusion: false,
        ..CompileOptions::default()
    };
    let sess = Session::with_options(&g, options).with_threads(1).unwrap();
    sess.run_target(g.global_variables_initializer()).unwrap();
    let (xs, ss) = (data(&[16, 6], 12), data(&[16, 6], 13));
    let feeds = [feed(x, &xs), feed(shift, &ss)];
    let (outs, most) = most_per_run(5, || {
        sess.run_with_targets(&[loss], &feeds, &[train]).unwrap()
    });
    assert_eq!(most, PER_FETCH + PER_RUN, "allocations in a run");
    let losses: Vec<f64> = outs.iter().map(|o| o[0].to_f64_vec()[0]).collect();
    assert!(losses[4] < losses[0], "{losses:?}");
}
