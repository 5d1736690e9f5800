//! The companion: one helper thread that takes half of a medium kernel (or the second of two
//! small steps) while the calling thread computes the other half, handed over through atomics
//! instead of the pool.
//!
//! Why not the pool: a step that runs on a pool thread costs the caller a sleep and a wake
//! (`ThreadPool::install` took 14-18 µs a call on a 2-vCPU KVM guest), more than the whole of a
//! small model's training step. The companion spins while there is work about (a hand-over
//! and its answer took ~0.1-0.15 µs there), so the caller keeps its thread and its cache, and
//! the companion parks once it has been idle for `AWAKE_IDLE`. A caller never waits for a
//! parked or busy companion to start: it takes its half back and runs it itself. (Once the
//! companion has started a half, the caller waits for it: should the host take the
//! companion's core meanwhile, that wait can outlast running the half here.) The halves compute
//! the same bits wherever they run.

// The companion looks for work after its last half as long as the pool's keep-awake jobs do
// before it parks (longer than the gaps between a small model's steps).
use crate::parallel::AWAKE_IDLE;
use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long the companion spins without yielding after its last half (the gaps inside a step).
const PATIENT_IDLE: Duration = Duration::from_micros(50);

/// How many spins a caller waits for the companion's half before it yields between looks.
const PATIENT_SPINS: u32 = 4096;

/// The hand-over's states. `FREE`: no caller holds it. `CLAIMED`: a caller holds it and is
/// writing a job, or has taken its posted job back. `POSTED`: a job waits for the companion.
/// `RUNNING`: the companion runs it. `DONE`: the companion has finished it.
const FREE: u8 = 0;
const CLAIMED: u8 = 1;
const POSTED: u8 = 2;
const RUNNING: u8 = 3;
const DONE: u8 = 4;

/// A type-erased job on the caller's stack: its address and the function that runs it.
#[derive(Clone, Copy)]
struct JobRef {
    data: *const (),
    run: unsafe fn(*const ()),
}

/// What the caller and the companion thread share.
struct Shared {
    state: AtomicU8,
    /// Written by the caller that holds `CLAIMED`, read by whoever moves `POSTED` on.
    job: UnsafeCell<Option<JobRef>>,
    sleeping: AtomicBool,
    shutdown: AtomicBool,
}

// SAFETY: `job` is written only by the caller holding the hand-over (`CLAIMED`) and read only
// after the `POSTED` store that publishes it, by the one thread whose compare-exchange moved
// `POSTED` on; the job it points to is `Sync`-safe to run on another thread (`StackJob`).
unsafe impl Sync for Shared {}
// SAFETY: the job pointer in `job` is only followed under the protocol above; `Shared` owns
// nothing through it.
unsafe impl Send for Shared {}

/// A job that lives on the caller's stack until it has run.
struct StackJob<F> {
    f: UnsafeCell<Option<F>>,
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
}

impl<F: FnOnce() + Send> StackJob<F> {
    fn new(f: F) -> Self {
        StackJob {
            f: UnsafeCell::new(Some(f)),
            panic: UnsafeCell::new(None),
        }
    }

    fn as_job_ref(&self) -> JobRef {
        JobRef {
            data: (self as *const Self).cast(),
            run: Self::run,
        }
    }

    /// # Safety
    /// `data` points to a live `StackJob<F>` that no other thread touches until this returns,
    /// and it runs once.
    unsafe fn run(data: *const ()) {
        let job = &*data.cast::<Self>();
        if let Some(f) = (*job.f.get()).take() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
                *job.panic.get() = Some(panic);
            }
        }
    }
}

/// The companion of one `Parallel` (shared by its clones); its thread starts on first use and
/// ends when the last clone is dropped.
pub(crate) struct Companion {
    shared: Arc<Shared>,
    /// The thread, once started (`None` inside if it could not be).
    thread: OnceLock<Option<Thread>>,
}

impl Companion {
    pub(crate) fn new() -> Companion {
        Companion {
            shared: Arc::new(Shared {
                state: AtomicU8::new(FREE),
                job: UnsafeCell::new(None),
                sleeping: AtomicBool::new(false),
                shutdown: AtomicBool::new(false),
            }),
            thread: OnceLock::new(),
        }
    }

    fn thread(&self) -> Option<&Thread> {
        self.thread
            .get_or_init(|| {
                let shared = Arc::clone(&self.shared);
                std::thread::Builder::new()
                    .name(THREAD_NAME.into())
                    .spawn(move || companion_loop(&shared))
                    .ok()
                    .map(|handle| handle.thread().clone())
            })
            .as_ref()
    }

    /// Runs `here` on this thread and `there` on the companion when it is free, else `there`
    /// here too, after `here`; returns when both have run. A panic in either is resumed here.
    pub(crate) fn pair(&self, here: impl FnOnce(), there: impl FnOnce() + Send) {
        let shared = &*self.shared;
        let claimed = shared
            .state
            .compare_exchange(FREE, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        let thread = if claimed { self.thread() } else { None };
        let Some(thread) = thread else {
            if claimed {
                shared.state.store(FREE, Ordering::Release);
            }
            here();
            there();
            return;
        };
        let job = StackJob::new(there);
        // SAFETY: this caller holds the hand-over (`CLAIMED`), so no other thread reads or
        // writes `job` until the `POSTED` store below publishes it.
        unsafe { *shared.job.get() = Some(job.as_job_ref()) };
        shared.state.store(POSTED, Ordering::SeqCst);
        if shared.sleeping.load(Ordering::SeqCst) {
            thread.unpark();
        }
        // Waits for (or takes back) the posted half even if `here` panics: the job lives on
        // this stack frame.
        let settle = Settle { shared, job: &job };
        here();
        drop(settle);
        // SAFETY: the job has run (settled above) and no other thread holds it any more.
        if let Some(panic) = unsafe { (*job.panic.get()).take() } {
            resume_unwind(panic);
        }
    }
}

impl Drop for Companion {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(Some(thread)) = self.thread.get() {
            thread.unpark();
        }
    }
}

/// Ends a hand-over: takes the posted job back and runs it here if the companion has not
/// started it, or waits for the companion to finish it; then frees the hand-over.
struct Settle<'a, F: FnOnce() + Send> {
    shared: &'a Shared,
    job: &'a StackJob<F>,
}

impl<F: FnOnce() + Send> Drop for Settle<'_, F> {
    fn drop(&mut self) {
        let state = &self.shared.state;
        let mut spins = 0u32;
        loop {
            match state.load(Ordering::Acquire) {
                POSTED => {
                    if state
                        .compare_exchange(POSTED, CLAIMED, Ordering::Acquire, Ordering::Acquire)
                        .is_ok()
                    {
                        if std::thread::panicking() {
                            // `here` panicked: the half is not wanted. Dropped unrun.
                            // SAFETY: taken back, so this thread alone holds the job.
                            drop(unsafe { (*self.job.f.get()).take() });
                        } else {
                            // SAFETY: taken back before the companion started it: this thread
                            // alone runs it, once.
                            unsafe { StackJob::<F>::run(self.job.as_job_ref().data) };
                        }
                        break;
                    }
                }
                DONE => break,
                other => {
                    debug_assert_eq!(other, RUNNING, "a posted half is running or done");
                    // The companion runs the half. Past a few microseconds it may have lost
                    // its core (to this thread, even): give the core away between looks.
                    spins += 1;
                    if spins > PATIENT_SPINS {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        state.store(FREE, Ordering::Release);
    }
}

/// The name of every companion thread.
const THREAD_NAME: &str = "rill-companion";

/// Whether the current thread is a companion (for traces, and tests that check a half ran
/// there).
pub(crate) fn on_companion() -> bool {
    std::thread::current().name() == Some(THREAD_NAME)
}

/// The companion thread: runs posted jobs, spins while work is about, parks when idle.
fn companion_loop(shared: &Shared) {
    let mut idle_since = Instant::now();
    let mut idle = Duration::ZERO;
    let mut spins = 0u32;
    while !shared.shutdown.load(Ordering::Acquire) {
        if shared.state.load(Ordering::Acquire) == POSTED
            && shared
                .state
                .compare_exchange(POSTED, RUNNING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            // SAFETY: the caller wrote the job before its `POSTED` store, which the exchange
            // above read; it waits for `DONE` before the job's frame ends.
            if let Some(job) = unsafe { *shared.job.get() } {
                // SAFETY: this thread alone runs the job (it moved `POSTED` on), once.
                unsafe { (job.run)(job.data) };
            }
            shared.state.store(DONE, Ordering::Release);
            idle_since = Instant::now();
            idle = Duration::ZERO;
            continue;
        }
        spins = spins.wrapping_add(1);
        // (The clock is read every few hundred spins: reading it costs more than a spin.)
        if spins.is_multiple_of(256) {
            idle = idle_since.elapsed();
        }
        if idle > PATIENT_IDLE {
            // Idle a while: look between yields, so a thread that wants this core gets it.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
        if idle > AWAKE_IDLE {
            shared.sleeping.store(true, Ordering::SeqCst);
            // A caller posts (SeqCst) before it reads `sleeping` (SeqCst): either it sees the
            // flag and unparks, or this load sees its post.
            if shared.state.load(Ordering::SeqCst) != POSTED
                && !shared.shutdown.load(Ordering::SeqCst)
            {
                std::thread::park();
            }
            shared.sleeping.store(false, Ordering::SeqCst);
            idle_since = Instant::now();
            idle = Duration::ZERO;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Companion;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Both halves run, once each, whether the companion is awake, parked or busy with another
    /// caller's half; results land where each half wrote them.
    #[test]
    fn both_halves_run_once_from_many_callers() {
        let companion = Companion::new();
        let runs = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..3usize {
                let (companion, runs) = (&companion, &runs);
                s.spawn(move || {
                    for round in 0..2000usize {
                        let (mut a, mut b) = (0usize, 0usize);
                        companion.pair(
                            || a = (0..round + t).map(std::hint::black_box).sum(),
                            || b = (0..round * 2 + t).sum(),
                        );
                        let n = round + t;
                        let m = round * 2 + t;
                        assert_eq!(a, n * n.saturating_sub(1) / 2);
                        assert_eq!(b, m * m.saturating_sub(1) / 2);
                        runs.fetch_add(1, Ordering::Relaxed);
                        if round % 500 == 0 {
                            // Long enough for the companion to park.
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                    }
                });
            }
        });
        assert_eq!(runs.load(Ordering::Relaxed), 6000);
    }

    /// The companion runs halves: with the caller's half long enough (20 µs), one of the first
    /// pairs lands there once its thread has started.
    #[test]
    fn the_companion_takes_halves() {
        let parallel = crate::parallel::Parallel::with_threads(2).unwrap();
        if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            assert!(crate::parallel::wake_companion(&parallel));
        }
    }

    /// A panic in the companion's half reaches the caller, and the companion goes on working.
    #[test]
    fn a_panicking_half_panics_the_caller() {
        let companion = Companion::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            companion.pair(|| (), || panic!("half failed"));
        }));
        assert!(caught.is_err());
        let mut x = 0;
        companion.pair(|| (), || x = 7);
        assert_eq!(x, 7);
        // A panic in the caller's own half, with the other half posted (run by the companion,
        // or taken back and dropped unrun): the panic reaches the caller, and the hand-over is
        // free again.
        for _ in 0..100 {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                companion.pair(|| panic!("own half failed"), || ());
            }));
            assert!(caught.is_err());
        }
        let mut y = 0;
        companion.pair(|| (), || y = 9);
        assert_eq!(y, 9);
    }
}
