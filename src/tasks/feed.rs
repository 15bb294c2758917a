//! The change feed: a generation number that grows with every change of the library, and the
//! wakers of every window that shows part of it. Commits of this process are published by the
//! save executor the moment they return; commits of other processes are noticed by a watcher
//! ([`ChangeFeed::watch`]) asking the storage's [`ChangeSource`](crate::db::ChangeSource).
//!
//! A view that has loaded what it shows at generation `g` is up to date while the generation is
//! still `g`; changes coalesce.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::worker::{Waker, Worker};
use crate::db::Library;

#[derive(Default)]
struct Inner {
    generation: AtomicU64,
    next_id: AtomicU64,
    subscribers: Mutex<Vec<(u64, Waker)>>,
}

/// Cheap to clone; all clones share the generation and the subscribers.
#[derive(Clone, Default)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

/// Keeps a waker subscribed; dropping it unsubscribes.
pub struct Subscription {
    feed: ChangeFeed,
    id: u64,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.feed
            .inner
            .subscribers
            .lock()
            .retain(|(id, _)| *id != self.id);
    }
}

impl ChangeFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `waker` after every change from now on, until the subscription is dropped.
    pub fn subscribe(&self, waker: Waker) -> Subscription {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        self.inner.subscribers.lock().push((id, waker));
        Subscription {
            feed: self.clone(),
            id,
        }
    }

    /// The number of changes published so far.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Tells every subscriber that the library changed.
    pub fn publish(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        let wakers: Vec<Waker> = self
            .inner
            .subscribers
            .lock()
            .iter()
            .map(|(_, w)| Arc::clone(w))
            .collect();
        // Wake outside the lock: a waker may take locks of its own (egui's context).
        for w in wakers {
            w();
        }
    }

    /// Starts the thread that notices other processes' commits (polling about every
    /// `interval`). Changes are noticed from the moment this returns. It stops when the
    /// returned worker is dropped.
    pub fn watch(&self, library: &Library, interval: Duration) -> std::io::Result<Worker> {
        let mut source = library.change_source(interval);
        source.prime();
        let feed = self.clone();
        Worker::spawn("shelfmark-feed", move |stop| {
            while !stop.is_stopped() {
                if source.wait(&mut |d| stop.sleep(d)) {
                    feed.publish();
                }
            }
        })
    }
}
