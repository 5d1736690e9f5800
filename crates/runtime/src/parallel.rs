//! Intra-op parallelism: the thread pool a session's big kernels split their work over, and
//! the companion thread that shares medium kernels, or runs one of two small steps (`pair`).
//! Other small kernels touch neither, and the pool is only entered by plans with big kernels: a
//! call into it costs a sleep and a wake.

use crate::companion::Companion;
use rayon::ThreadPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a keep-awake job (`Parallel::run_awake`), or the companion after its last half,
/// looks for work before it gives up: longer than the small steps between a step's big kernels
/// (W2's run for tens of microseconds) and the gaps between a small model's steps.
pub(crate) const AWAKE_IDLE: Duration = Duration::from_micros(500);

/// Where a kernel may run parallel work: a session's own pool, or the calling thread only.
#[derive(Clone)]
pub struct Parallel {
    pool: Option<Arc<ThreadPool>>,
    /// The helper that takes half of a medium kernel, or one of two small steps (`pair`), with
    /// two threads or more.
    companion: Option<Arc<Companion>>,
    threads: usize,
}

impl Parallel {
    /// No parallel work: everything on the calling thread.
    pub fn sequential() -> Parallel {
        Parallel {
            pool: None,
            companion: None,
            threads: 1,
        }
    }

    /// A pool of `threads` threads (1 means sequential). Results do not depend on the thread
    /// count: kernels split work into pieces whose arithmetic does not change with the split.
    pub fn with_threads(threads: usize) -> Result<Parallel, String> {
        if threads <= 1 {
            return Ok(Parallel::sequential());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rill-{i}"))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Parallel {
            pool: Some(Arc::new(pool)),
            // (No companion where only one core is available: it would spin beside the caller.)
            companion: cores_beside_this_one().then(|| Arc::new(Companion::new())),
            threads,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The index of the current thread in this pool (`rill-{index}`), if it is one of its
    /// threads (not in any other rayon pool's).
    pub fn thread_index(&self) -> Option<usize> {
        self.pool.as_ref()?.current_thread_index()
    }

    /// Whether `pair` runs its halves at once here: there are threads, and this thread is not
    /// one of the pool's (whose steps split their big kernels over the pool instead).
    pub fn pairs(&self) -> bool {
        self.companion.is_some() && self.thread_index().is_none()
    }

    /// Runs the two halves of a kernel (or two small steps) too small for the pool
    /// (`ThreadPool::install` costs a sleep and a wake) but big enough to share: `here` on this thread, `there` on the
    /// session's companion thread when it is free, else both here in turn (see `companion`).
    /// Returns when both have run.
    pub fn pair(&self, here: impl FnOnce(), there: impl FnOnce() + Send) {
        match &self.companion {
            Some(companion) if self.thread_index().is_none() => companion.pair(here, there),
            _ => {
                here();
                there();
            }
        }
    }

    /// Runs `f` in the pool (where `rayon` parallel iterators and `gemm` use its threads), or
    /// right here when sequential.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// `run` for a whole step of big kernels: while `f` runs, the pool's other threads stay
    /// awake looking for its work instead of going to sleep between kernels. (On a virtual
    /// machine a sleeping thread takes tens of microseconds to wake, longer than a small
    /// kernel's half.) The keep-awake jobs live on the stack (`rayon::join`), so a step
    /// allocates nothing for them.
    pub fn run_awake<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        let Some(pool) = &self.pool else {
            return f();
        };
        pool.install(|| {
            let done = AtomicBool::new(false);
            let owner = rayon::current_thread_index();
            beside_keep_awake(self.threads - 1, &done, owner, f)
        })
    }
}

/// Runs `f` with `jobs` keep-awake jobs offered to the pool beside it, one `join` each, and
/// ends them when `f` returns.
fn beside_keep_awake<R: Send>(
    jobs: usize,
    done: &AtomicBool,
    owner: Option<usize>,
    f: impl FnOnce() -> R + Send,
) -> R {
    if jobs == 0 {
        let result = f();
        done.store(true, Ordering::Release);
        return result;
    }
    rayon::join(
        || beside_keep_awake(jobs - 1, done, owner, f),
        || keep_awake(done, owner),
    )
    .0
}

/// Takes the pool's work until `done`. The thread running the step (`owner`) may pick this up
/// while it waits in a join: it returns at once there, or the step would never finish. A job
/// that finds no work for `AWAKE_IDLE` returns too: it may be nested above work that the step
/// waits for (taken while its thread waited in a join of another step, or of this one on a
/// pool of three threads or more), and that work must go on.
fn keep_awake(done: &AtomicBool, owner: Option<usize>) {
    if rayon::current_thread_index() == owner {
        return;
    }
    let mut idle_since: Option<Instant> = None;
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_since = None;
            continue;
        }
        let since = *idle_since.get_or_insert_with(Instant::now);
        if since.elapsed() > AWAKE_IDLE {
            break;
        }
        std::hint::spin_loop();
    }
}

/// Whether the process may run on more than one core (asked once).
fn cores_beside_this_one() -> bool {
    static MANY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *MANY.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

/// Runs empty pairs until the companion runs one (it starts, or wakes, on first use), so a test
/// that follows hands halves to a companion that is awake. Whether it ran one within a second.
#[cfg(test)]
pub(crate) fn wake_companion(parallel: &Parallel) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        let there = AtomicBool::new(false);
        parallel.pair(
            || std::thread::sleep(Duration::from_micros(20)),
            || there.store(crate::companion::on_companion(), Ordering::Relaxed),
        );
        if there.load(Ordering::Relaxed) {
            return true;
        }
    }
    false
}

impl Default for Parallel {
    /// As many threads as the machine has cores.
    fn default() -> Self {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        Parallel::with_threads(n).unwrap_or_else(|_| Parallel::sequential())
    }
}

#[cfg(test)]
mod tests {
    use super::Parallel;
    use rayon::prelude::*;

    /// Steps of nested parallel work finish, with the right results, while the pool's other
    /// threads are kept awake, on every thread count: the keep-awake jobs take the work the
    /// step shares out and stop when it ends.
    /// Two threads running kept-awake steps at once on one pool of three, each step splitting
    /// nested work, both finish with the right results. (A thread waiting in a join may take a
    /// keep-awake job; the job gives up when it finds no work, so no step waits on work stuck
    /// beneath it.)
    #[test]
    fn concurrent_steps_kept_awake_never_wait_on_each_other() {
        let parallel = Parallel::with_threads(3).unwrap();
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let parallel = &parallel;
                s.spawn(move || {
                    for round in 0..200u64 {
                        let got = parallel.run_awake(|| {
                            (0..64u64)
                                .into_par_iter()
                                .map(|i| (0..i + t + round).into_par_iter().sum::<u64>())
                                .sum::<u64>()
                        });
                        let want: u64 = (0..64u64)
                            .map(|i| {
                                let n = i + t + round;
                                n * n.saturating_sub(1) / 2
                            })
                            .sum();
                        assert_eq!(got, want, "thread {t}, round {round}");
                    }
                });
            }
        });
    }

    #[test]
    fn steps_kept_awake_finish_their_nested_work() {
        for threads in [1, 2, 3] {
            let parallel = Parallel::with_threads(threads).unwrap();
            for round in 0..300u64 {
                let got = parallel.run_awake(|| {
                    let (a, b) = rayon::join(
                        || (0..round * 50).into_par_iter().sum::<u64>(),
                        || {
                            (0..100u64)
                                .into_par_iter()
                                .map(|i| (0..i).into_par_iter().sum::<u64>())
                                .sum::<u64>()
                        },
                    );
                    a + b
                });
                let n = round * 50;
                let want = n * n.saturating_sub(1) / 2
                    + (0..100u64)
                        .map(|i| i * i.saturating_sub(1) / 2)
                        .sum::<u64>();
                assert_eq!(got, want, "{threads} threads, round {round}");
            }
        }
    }
}
