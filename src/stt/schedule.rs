//! Which chunk runs next: round-robin across the active requests, oldest first.
//!
//! Every request is a sequence of chunks (whisper windows) that must run one after another: a
//! window starts where the previous one's last segment ended, and is prompted with its tokens. A request waits in line with a ticket; a worker takes the
//! waiting request with the oldest ticket, and when that chunk is done the request draws a new
//! ticket at the back of the line. So a short request submitted while a long one runs goes
//! next, and never waits for the whole long one. The bound on active requests (not chunks) is
//! what turns overload into 429.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

struct Entry<T> {
    id: u64,
    /// Place in line; lower goes first.
    ticket: u64,
    running: bool,
    next_chunk: usize,
    cancel: Arc<AtomicBool>,
    item: T,
}

/// The active requests and their places in line.
pub(super) struct Fair<T> {
    entries: Vec<Entry<T>>,
    capacity: usize,
    next_ticket: u64,
    next_id: u64,
}

impl<T> Fair<T> {
    /// At most `capacity` requests are active (running or waiting) at once.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::new(),
            capacity: capacity.max(1),
            next_ticket: 0,
            next_id: 0,
        }
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    /// Adds a request at the back of the line; gives the item back if `capacity` requests are
    /// active already.
    pub fn submit(&mut self, cancel: Arc<AtomicBool>, item: T) -> Result<u64, T> {
        if self.entries.len() >= self.capacity {
            return Err(item);
        }
        self.next_id += 1;
        let ticket = self.ticket();
        self.entries.push(Entry {
            id: self.next_id,
            ticket,
            running: false,
            next_chunk: 0,
            cancel,
            item,
        });
        Ok(self.next_id)
    }

    /// Removes the waiting requests that were cancelled (their flag is set, or `gone` says so)
    /// and returns them. Running ones are left to their worker.
    pub fn take_cancelled(&mut self, gone: impl Fn(&T) -> bool) -> Vec<T> {
        let mut taken = Vec::new();
        let mut index = 0;
        while index < self.entries.len() {
            let entry = &self.entries[index];
            if !entry.running && (entry.cancel.load(Ordering::Relaxed) || gone(&entry.item)) {
                taken.push(self.entries.remove(index).item);
            } else {
                index += 1;
            }
        }
        taken
    }

    /// The next chunk to run, as (request id, chunk index): the waiting request with the
    /// oldest ticket. It counts as running until [`Self::chunk_done`] or [`Self::remove`].
    pub fn next(&mut self) -> Option<(u64, usize)> {
        let entry = self
            .entries
            .iter_mut()
            .filter(|e| !e.running)
            .min_by_key(|e| e.ticket)?;
        entry.running = true;
        Some((entry.id, entry.next_chunk))
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.entries
            .iter_mut()
            .find(|e| e.id == id)
            .map(|e| &mut e.item)
    }

    /// The cancel flag request `id` was submitted with.
    pub fn cancel_flag(&self, id: u64) -> Option<Arc<AtomicBool>> {
        self.entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| Arc::clone(&e.cancel))
    }

    /// A chunk of request `id` finished. Returns the request if that was its `last` chunk;
    /// otherwise it goes to the back of the line.
    pub fn chunk_done(&mut self, id: u64, last: bool) -> Option<T> {
        let ticket = self.ticket();
        let index = self.entries.iter().position(|e| e.id == id)?;
        let entry = &mut self.entries[index];
        entry.running = false;
        entry.next_chunk += 1;
        if last {
            return Some(self.entries.remove(index).item);
        }
        entry.ticket = ticket;
        None
    }

    /// Drops request `id` (failed or cancelled) and returns it.
    pub fn remove(&mut self, id: u64) -> Option<T> {
        let index = self.entries.iter().position(|e| e.id == id)?;
        Some(self.entries.remove(index).item)
    }

    /// Active requests that are not running a chunk now.
    pub fn waiting(&self) -> usize {
        self.entries.iter().filter(|e| !e.running).count()
    }

    /// Requests running a chunk now.
    pub fn running(&self) -> usize {
        self.entries.iter().filter(|e| e.running).count()
    }

    /// Every active request's item, e.g. to fail them all at shutdown.
    pub fn drain(&mut self) -> Vec<T> {
        self.entries.drain(..).map(|e| e.item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    /// A request of `chunks` chunks, by name.
    type Job = (&'static str, usize);

    /// Marks the chunk of `id` that ran as done, the last one when its job has no more.
    fn done(fair: &mut Fair<Job>, id: u64, chunk: usize) -> Option<&'static str> {
        let (_, chunks) = *fair.get_mut(id).unwrap();
        fair.chunk_done(id, chunk + 1 >= chunks)
            .map(|(name, _)| name)
    }

    /// Runs every chunk on one worker, one at a time, and records the order.
    fn run_all(fair: &mut Fair<Job>, order: &mut Vec<(&'static str, usize)>) {
        while let Some((id, chunk)) = fair.next() {
            let (name, _) = *fair.get_mut(id).unwrap();
            order.push((name, chunk));
            done(fair, id, chunk);
        }
    }

    #[test]
    fn a_short_request_runs_before_the_rest_of_a_long_one() {
        let mut fair = Fair::new(4);
        let long = fair.submit(flag(), ("long", 5)).unwrap();
        assert_eq!(fair.next(), Some((long, 0)));
        // The short one arrives while the long one's first chunk runs.
        fair.submit(flag(), ("short", 1)).unwrap();
        assert_eq!(fair.next().map(|(id, _)| id), Some(long + 1));
        // One worker is busy with each; nothing else to run.
        assert_eq!(fair.next(), None);
        assert_eq!((fair.running(), fair.waiting()), (2, 0));
        assert_eq!(done(&mut fair, long, 0), None);
        assert_eq!(done(&mut fair, long + 1, 0), Some("short"));
        let mut order = Vec::new();
        run_all(&mut fair, &mut order);
        assert_eq!(
            order,
            vec![("long", 1), ("long", 2), ("long", 3), ("long", 4)]
        );
    }

    #[test]
    fn requests_take_turns_oldest_first() {
        let mut fair = Fair::new(4);
        fair.submit(flag(), ("a", 3)).unwrap();
        fair.submit(flag(), ("b", 2)).unwrap();
        fair.submit(flag(), ("c", 1)).unwrap();
        let mut order = Vec::new();
        run_all(&mut fair, &mut order);
        assert_eq!(
            order,
            vec![("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("a", 2)]
        );
    }

    #[test]
    fn a_request_never_runs_two_chunks_at_once() {
        let mut fair = Fair::new(4);
        let id = fair.submit(flag(), ("only", 3)).unwrap();
        assert_eq!(fair.next(), Some((id, 0)));
        // A second worker finds nothing to do until chunk 0 is done.
        assert_eq!(fair.next(), None);
        done(&mut fair, id, 0);
        assert_eq!(fair.next(), Some((id, 1)));
    }

    #[test]
    fn cancelled_requests_drop_their_remaining_chunks() {
        let mut fair = Fair::new(4);
        let cancel = flag();
        let long = fair.submit(Arc::clone(&cancel), ("long", 5)).unwrap();
        fair.submit(flag(), ("short", 1)).unwrap();
        assert_eq!(fair.next(), Some((long, 0)));
        cancel.store(true, Ordering::Relaxed);
        // While its chunk runs, the worker owns it.
        assert!(fair.take_cancelled(|_| false).is_empty());
        assert_eq!(done(&mut fair, long, 0), None);
        assert_eq!(fair.take_cancelled(|_| false), vec![("long", 5)]);
        let mut order = Vec::new();
        run_all(&mut fair, &mut order);
        assert_eq!(order, vec![("short", 0)]);
        // The other way to be gone: the caller's own test.
        fair.submit(flag(), ("gone", 2)).unwrap();
        assert_eq!(
            fair.take_cancelled(|item| item.0 == "gone"),
            vec![("gone", 2)]
        );
        assert_eq!((fair.running(), fair.waiting()), (0, 0));
    }

    #[test]
    fn the_bound_counts_requests_not_chunks() {
        let mut fair = Fair::new(2);
        let long = fair.submit(flag(), ("long", 100)).unwrap();
        fair.submit(flag(), ("short", 1)).unwrap();
        assert_eq!(fair.submit(flag(), ("third", 1)), Err(("third", 1)));
        fair.next();
        // Running or waiting, both still count.
        assert_eq!(fair.submit(flag(), ("third", 1)), Err(("third", 1)));
        assert_eq!(fair.remove(long), Some(("long", 100)));
        assert!(fair.submit(flag(), ("third", 1)).is_ok());
    }
}
