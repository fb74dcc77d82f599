//! The worker threads that large GEMMs are split across.
//!
//! One process-wide pool, started once (at the first large product, or by [`set_threads`])
//! and never inside a step: the workers sleep on a condition variable between jobs. A job is
//! a function of the part index; the caller runs part 0 itself and waits for the others, so
//! nothing is boxed and a warm step allocates nothing. How a product is split never changes
//! what any element is: each output element is computed by one thread, in the same order as
//! on one thread, so results are bit-identical for every thread count.
//!
//! The thread count is `GRADC_THREADS` if set, else the cores available; [`set_threads`]
//! changes it at run time. A caller that finds the pool busy (another thread's network is
//! using it) runs its job alone, with the same result.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// How long a worker that has finished a job watches for the next before it sleeps. A step
/// posts its jobs a few microseconds to a few hundred apart, and waking a sleeping thread
/// costs tens of microseconds on a virtual machine: W1's step on two threads ran at 1.3–1.4×
/// its one-thread speed in some runs when every job had to wake its worker.
const WATCH: Duration = Duration::from_micros(200);

/// A job's parts, borrowed for the duration of [`Pool::run`] (the lifetime is erased: `run`
/// does not return before every worker has let go of it).
#[derive(Clone, Copy)]
struct Job {
    work: *const (dyn Fn(usize) + Sync),
    parts: usize,
}

// SAFETY: the pointee is `Sync` and outlives every use (see `Job`).
unsafe impl Send for Job {}

struct State {
    /// Bumped for every job, so a worker knows a job is new.
    generation: u64,
    job: Option<Job>,
    /// Set when the pool is replaced: its workers exit.
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    /// The generation of the latest job, readable without the lock: a worker that has just
    /// finished watches it for a while before it sleeps.
    posted: AtomicU64,
    start: Condvar,
    /// The next part to take.
    next: AtomicUsize,
    /// Parts finished.
    completed: AtomicUsize,
    /// Workers holding the current job (taken under the state lock).
    active: AtomicUsize,
    done: Mutex<()>,
    finished: Condvar,
}

impl Shared {
    /// Takes and runs parts of `job` until none is left.
    fn take_parts(&self, job: Job) {
        loop {
            let part = self.next.fetch_add(1, Ordering::AcqRel);
            if part >= job.parts {
                return;
            }
            // SAFETY: the caller of `run` keeps the closure alive until every part is done
            // and no worker holds the job.
            unsafe { (*job.work)(part) };
            if self.completed.fetch_add(1, Ordering::AcqRel) + 1 == job.parts {
                let _done = self.done.lock().expect("gradc pool");
                self.finished.notify_one();
            }
        }
    }
}

/// A fixed set of worker threads.
struct Pool {
    threads: usize,
    shared: Arc<Shared>,
    /// Held by the caller of a job, so two jobs never overlap.
    busy: Mutex<()>,
}

impl Pool {
    /// A pool of `threads` threads in all: the caller and `threads − 1` workers.
    fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { generation: 0, job: None, stop: false }),
            posted: AtomicU64::new(0),
            start: Condvar::new(),
            next: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            done: Mutex::new(()),
            finished: Condvar::new(),
        });
        for worker in 1..threads {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("gradc-{worker}"))
                .spawn(move || work(&shared))
                .expect("spawning a gradc worker thread");
        }
        Pool { threads, shared, busy: Mutex::new(()) }
    }

    /// Runs `work(part)` for every `part` in `0..parts`, on the calling thread and the
    /// workers; returns when all are done. Runs them all here if the pool is busy.
    fn run(&self, parts: usize, work: &(dyn Fn(usize) + Sync)) {
        let busy = self.busy.try_lock();
        if busy.is_err() || parts <= 1 || self.threads == 1 {
            (0..parts).for_each(work);
            return;
        }
        // SAFETY: only the lifetime is erased; this function returns only after every part
        // is done and no worker holds the job.
        let work: *const (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(work) };
        let job = Job { work, parts };
        let shared = &*self.shared;
        shared.next.store(0, Ordering::Release);
        shared.completed.store(0, Ordering::Release);
        {
            let mut state = shared.state.lock().expect("gradc pool state");
            state.generation += 1;
            state.job = Some(job);
            shared.posted.store(state.generation, Ordering::Release);
        }
        shared.start.notify_all();
        shared.take_parts(job);
        // Spin briefly (the other parts usually finish about now), then sleep.
        let mut spins = 0u32;
        while shared.completed.load(Ordering::Acquire) != parts {
            if spins < 50_000 {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            let done = shared.done.lock().expect("gradc pool");
            if shared.completed.load(Ordering::Acquire) != parts {
                let _unused = shared.finished.wait_timeout(done, std::time::Duration::from_millis(1));
            }
        }
        shared.state.lock().expect("gradc pool state").job = None;
        // A worker that took the job late finds no part left and lets go at once.
        while shared.active.load(Ordering::Acquire) != 0 {
            std::thread::yield_now();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.state.lock().expect("gradc pool state").stop = true;
        self.shared.start.notify_all();
    }
}

/// A worker's loop: wait for a new job, take parts of it until none is left.
fn work(shared: &Shared) {
    let mut seen = 0;
    loop {
        let watching = Instant::now();
        let mut spins = 0u32;
        while shared.posted.load(Ordering::Acquire) == seen {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && watching.elapsed() > WATCH {
                break;
            }
        }
        let job = {
            let mut state = shared.state.lock().expect("gradc pool state");
            while state.generation == seen && !state.stop {
                state = shared.start.wait(state).expect("gradc pool state");
            }
            if state.stop {
                return;
            }
            seen = state.generation;
            if state.job.is_some() {
                shared.active.fetch_add(1, Ordering::AcqRel);
            }
            state.job
        };
        if let Some(job) = job {
            shared.take_parts(job);
            shared.active.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn pool_slot() -> &'static RwLock<Option<Arc<Pool>>> {
    static POOL: OnceLock<RwLock<Option<Arc<Pool>>>> = OnceLock::new();
    POOL.get_or_init(|| RwLock::new(None))
}

/// The thread count when the user has not set one: `GRADC_THREADS`, else the cores available.
fn default_threads() -> usize {
    std::env::var("GRADC_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Sets how many threads the large products of every network use (1: the calling thread
/// only). Starts the workers now, so no step pays for it. Results do not depend on it.
pub fn set_threads(threads: usize) {
    let threads = threads.max(1);
    let mut slot = pool_slot().write().expect("gradc pool");
    if slot.as_ref().is_none_or(|pool| pool.threads != threads) {
        *slot = Some(Arc::new(Pool::new(threads)));
    }
}

/// How many threads the large products use.
pub fn threads() -> usize {
    if let Some(pool) = pool_slot().read().expect("gradc pool").as_ref() {
        return pool.threads;
    }
    default_threads()
}

/// Runs `work(part)` for each part in `0..parts`, split across the pool's threads.
pub(crate) fn run_parts(parts: usize, work: &(dyn Fn(usize) + Sync)) {
    {
        let slot = pool_slot().read().expect("gradc pool");
        if let Some(pool) = slot.as_ref() {
            return pool.run(parts, work);
        }
    }
    set_threads(default_threads());
    run_parts(parts, work);
}
