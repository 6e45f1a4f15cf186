//! One budget of CPU threads shared by every inference engine.
//!
//! ggml's and ONNX Runtime's worker threads spin while they wait, so two engines running at
//! once on the same cores slow each other down badly. Each job takes the threads it will use
//! from this budget before it runs and gives them back after; the threads in flight never
//! exceed the budget. Waiters are served in arrival order, so a small job is not starved by
//! a stream of large ones.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Debug)]
struct State {
    free: usize,
    /// Tickets of the waiting jobs, oldest first.
    queue: VecDeque<u64>,
    next_ticket: u64,
}

/// A counting semaphore for blocking worker threads.
#[derive(Debug, Clone)]
pub struct CpuBudget {
    inner: Arc<(Mutex<State>, Condvar)>,
    total: usize,
}

/// Threads held by a running job; returned on drop.
#[derive(Debug)]
pub struct CpuLease {
    budget: CpuBudget,
    threads: usize,
}

impl CpuBudget {
    pub fn new(total: usize) -> Self {
        let total = total.max(1);
        let state = State {
            free: total,
            queue: VecDeque::new(),
            next_ticket: 0,
        };
        Self {
            inner: Arc::new((Mutex::new(state), Condvar::new())),
            total,
        }
    }

    pub fn total(&self) -> usize {
        self.total
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counts half-updated.
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until `threads` (at most the whole budget) are free, in arrival order.
    pub fn acquire(&self, threads: usize) -> CpuLease {
        let threads = threads.clamp(1, self.total);
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push_back(ticket);
        while state.queue.front() != Some(&ticket) || state.free < threads {
            state = self.inner.1.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.queue.pop_front();
        state.free -= threads;
        drop(state);
        // The next waiter may fit in what is left.
        self.inner.1.notify_all();
        CpuLease {
            budget: self.clone(),
            threads,
        }
    }

    /// Threads not held by any job.
    pub fn free(&self) -> usize {
        self.lock().free
    }
}

impl Drop for CpuLease {
    fn drop(&mut self) {
        self.budget.lock().free += self.threads;
        self.budget.inner.1.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn leases_return_their_threads() {
        let budget = CpuBudget::new(2);
        let lease = budget.acquire(2);
        assert_eq!(budget.free(), 0);
        drop(lease);
        assert_eq!(budget.free(), 2);
        // Asking for more than exists takes the whole budget rather than waiting forever.
        let lease = budget.acquire(8);
        assert_eq!(lease.threads, 2);
    }

    #[test]
    fn threads_in_flight_never_exceed_the_budget() {
        let budget = CpuBudget::new(3);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..8)
            .map(|i| {
                let (budget, in_flight, peak) =
                    (budget.clone(), Arc::clone(&in_flight), Arc::clone(&peak));
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let threads = 1 + i % 3;
                        let _lease = budget.acquire(threads);
                        let now = in_flight.fetch_add(threads, Ordering::SeqCst) + threads;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        in_flight.fetch_sub(threads, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(budget.free(), 3);
    }
}
