//! The read executor: named reader threads that run queries on pooled connections for the UI,
//! which never touches a connection itself. A query's result comes back as a [`Fetch`] the UI
//! polls each frame; the waker repaints the window that asked.
//!
//! Each query runs in autocommit mode (its own short read transaction), so no read snapshot is
//! held across frames. Dropping a `Fetch` makes its result go nowhere ("newest query wins").

use std::sync::mpsc;
use std::sync::{Arc, Mutex as StdMutex};
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::db::{Library, Pool, chain};

/// Wakes whoever waits for a result (repaints its window).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// A query to run, given a connection or the reason there is none.
type Job = Box<dyn FnOnce(Result<&Connection, String>) + Send>;

/// The handle to the reader threads; dropping it lets queued reads finish and joins them.
pub struct Reader {
    queue: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

/// A result on its way. `poll` returns it once, when it has arrived.
#[derive(Debug)]
pub struct Fetch<T> {
    rx: mpsc::Receiver<Result<T, String>>,
    /// Held while someone wants the result; a query whose `Fetch` is gone is not run.
    _wanted: Arc<()>,
}

impl<T> Fetch<T> {
    /// The result, if it has arrived (`Err` is the cause chain in words).
    pub fn poll(&self) -> Option<Result<T, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Some(Err("the reader stopped before answering".to_owned()))
            }
        }
    }

    /// Waits for the result (for tests and command-line tools; never on the UI thread).
    pub fn wait(self) -> Result<T, String> {
        self.rx
            .recv()
            .unwrap_or_else(|_| Err("the reader stopped before answering".to_owned()))
    }
}

impl Reader {
    /// Starts `threads` reader threads on `library`'s pool.
    pub fn start(library: &Library, threads: usize) -> std::io::Result<Reader> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(StdMutex::new(rx));
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let pool: Pool = library.pool().clone();
            handles.push(
                std::thread::Builder::new()
                    .name(format!("shelfmark-reader-{i}"))
                    .spawn(move || {
                        loop {
                            // Hold the receiver lock only while taking a job, not while running it.
                            let job = match rx.lock() {
                                Ok(guard) => guard.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = job else { return };
                            match pool.get() {
                                Ok(conn) => job(Ok(&conn)),
                                Err(e) => job(Err(format!("cannot read the library: {e}"))),
                            }
                        }
                    })?,
            );
        }
        Ok(Reader {
            queue: Some(tx),
            threads: handles,
        })
    }

    /// Runs `query` on a reader thread; the result arrives in the returned [`Fetch`], and
    /// `wake` is called when it does.
    pub fn fetch<T, F>(&self, wake: Option<Wake>, query: F) -> Fetch<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let wanted = Arc::new(());
        let still_wanted = Arc::downgrade(&wanted);
        let job: Job = Box::new(move |conn| {
            if still_wanted.strong_count() == 0 {
                return; // superseded (newest query wins) or its view closed
            }
            let result = conn.and_then(|c| query(c).map_err(|e| chain(&e)));
            if tx.send(result).is_ok()
                && let Some(w) = wake
            {
                w();
            }
        });
        if let Some(queue) = &self.queue {
            let _ = queue.send(job);
        }
        Fetch {
            rx,
            _wanted: wanted,
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        drop(self.queue.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
