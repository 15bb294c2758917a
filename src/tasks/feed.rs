//! The change feed: tells every subscriber (each window) that the library changed, so it re-reads
//! what it shows. Commits of this process are published by the save executor the moment they
//! return; commits of other processes are noticed by a watcher thread that polls
//! `PRAGMA data_version` on its own pooled connection (cheap, and unlike `update_hook` it sees
//! other connections).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use crate::db::Library;

/// Called after a change is published, from the publishing thread (e.g. to repaint a window).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// One notification. Changes coalesce: a subscriber that sees generation `g` has seen every
/// change up to `g`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub generation: u64,
}

struct Subscriber {
    tx: mpsc::Sender<Change>,
    wake: Option<Waker>,
}

#[derive(Default)]
struct Inner {
    generation: AtomicU64,
    subscribers: Mutex<Vec<Subscriber>>,
}

/// Cheap to clone; all clones share subscribers.
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

impl ChangeFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver of changes from now on. Dropping it unsubscribes.
    pub fn subscribe(&self) -> mpsc::Receiver<Change> {
        self.subscribe_inner(None)
    }

    /// As [`subscribe`](Self::subscribe), and calls `wake` after each change is sent.
    pub fn subscribe_with_waker(&self, wake: Waker) -> mpsc::Receiver<Change> {
        self.subscribe_inner(Some(wake))
    }

    fn subscribe_inner(&self, wake: Option<Waker>) -> mpsc::Receiver<Change> {
        let (tx, rx) = mpsc::channel();
        self.inner.subscribers.lock().push(Subscriber { tx, wake });
        rx
    }

    /// The number of changes published so far.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Tells every subscriber that the library changed.
    pub fn publish(&self) {
        let generation = self.inner.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let change = Change { generation };
        let mut wakers = Vec::new();
        self.inner.subscribers.lock().retain(|s| {
            let alive = s.tx.send(change).is_ok();
            if alive && let Some(w) = &s.wake {
                wakers.push(Arc::clone(w));
            }
            alive
        });
        // Wake outside the lock: a waker may take locks of its own (egui's context).
        for w in wakers {
            w();
        }
    }

    /// Starts the thread that notices other processes' commits, polling every `interval`.
    /// It stops when the returned handle is dropped.
    pub fn watch(&self, library: &Library, interval: Duration) -> std::io::Result<Watcher> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let feed = self.clone();
        let pool = library.pool().clone();
        let thread = std::thread::Builder::new()
            .name("shelfmark-feed".into())
            .spawn(move || {
                let mut last: Option<i64> = None;
                loop {
                    // A fresh borrow each round, so a pool reset or a failed poll heals itself.
                    if let Ok(conn) = pool.get() {
                        while let Ok(v) =
                            conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
                        {
                            if last.is_some_and(|l| l != v) {
                                feed.publish();
                            }
                            if last.is_none() {
                                let _ = ready_tx.send(());
                            }
                            last = Some(v);
                            match stop_rx.recv_timeout(interval) {
                                Err(mpsc::RecvTimeoutError::Timeout) => {}
                                _ => return,
                            }
                        }
                        // data_version is per connection: a new one starts a new sequence.
                        last = None;
                    }
                    match stop_rx.recv_timeout(interval) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })?;
        // Changes are noticed from the first successful poll on; wait for it (briefly).
        let _ = ready_rx.recv_timeout(Duration::from_secs(2));
        Ok(Watcher {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// The running watcher thread; dropping it stops the thread.
#[derive(Debug)]
pub struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
