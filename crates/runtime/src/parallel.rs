//! Intra-op parallelism: the thread pool a session's big kernels split their work over.
//! Small kernels never touch it, so a step of a small graph costs no cross-thread handoff.

use rayon::ThreadPool;
use std::sync::Arc;

/// Where a kernel may run parallel work: a session's own pool, or the calling thread only.
#[derive(Clone)]
pub struct Parallel {
    pool: Option<Arc<ThreadPool>>,
    threads: usize,
}

impl Parallel {
    /// No parallel work: everything on the calling thread.
    pub fn sequential() -> Parallel {
        Parallel {
            pool: None,
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

    /// Runs `f` in the pool (where `rayon` parallel iterators and `gemm` use its threads), or
    /// right here when sequential.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

impl Default for Parallel {
    /// As many threads as the machine has cores.
    fn default() -> Self {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        Parallel::with_threads(n).unwrap_or_else(|_| Parallel::sequential())
    }
}
