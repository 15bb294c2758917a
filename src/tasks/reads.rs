//! The read executor: named reader threads that run queries for the UI, which never touches a
//! connection itself. A query's answer comes back as a [`Pending`] the UI polls each frame; the
//! waker repaints the window that asked.
//!
//! Each query is a short read (no snapshot is held across frames). Dropping the `Pending`
//! makes its query be skipped if it has not started ("newest query wins").

use std::sync::Arc;
use std::sync::mpsc;

use parking_lot::Mutex;

use super::worker::{Answer, Pending, Waker, Worker, pending};
use crate::db::{DbError, Library, Reads};
use crate::model::Failure;

/// What a read answers: the value, or the failure in words (with the advice for its class of
/// fault, as for saves).
pub type ReadResult<T> = Result<T, Failure>;

/// A query to run, given a reading session or the failure that left none.
type Job = Box<dyn FnOnce(Result<&mut dyn Reads, &DbError>) + Send>;

/// The handle to the reader threads; dropping it lets queued reads finish and joins them.
pub struct Reader {
    queue: Option<mpsc::Sender<Job>>,
    workers: Vec<Worker>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("threads", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// Starts `threads` reader threads on `library`.
    pub fn start(library: &Library, threads: usize) -> std::io::Result<Reader> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::new();
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let library = library.clone();
            workers.push(Worker::spawn(
                &format!("shelfmark-reader-{i}"),
                move |_| {
                    loop {
                        // Hold the receiver lock only while taking a job, not while running it.
                        let job = rx.lock().recv();
                        let Ok(job) = job else { return };
                        match library.reads() {
                            Ok(mut reads) => job(Ok(&mut *reads)),
                            Err(e) => job(Err(&e)),
                        }
                    }
                },
            )?);
        }
        Ok(Reader {
            queue: Some(tx),
            workers,
        })
    }

    /// Runs `query` on a reader thread; the answer arrives in the returned [`Pending`], and
    /// `waker` is called when it does.
    pub fn fetch<T, F>(&self, waker: Option<Waker>, query: F) -> Pending<ReadResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Reads) -> Result<T, DbError> + Send + 'static,
    {
        let (answer, pending): (Answer<ReadResult<T>>, _) = pending(waker);
        let job: Job = Box::new(move |reads| {
            if !answer.is_wanted() {
                return; // superseded (newest query wins) or its view closed
            }
            let result = match reads {
                Ok(r) => query(r).map_err(|e| e.failure()),
                Err(e) => Err(e.failure()),
            };
            answer.send(result);
        });
        if let Some(queue) = &self.queue {
            let _ = queue.send(job);
        }
        pending
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        drop(self.queue.take());
        self.workers.clear();
    }
}
