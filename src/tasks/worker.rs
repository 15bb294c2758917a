//! The one way Shelfmark runs work off the UI thread: a [`Worker`] is a named thread that is
//! told to stop and joined when its handle drops; a [`Pending`] is the answer of one piece of
//! work on its way, polled without blocking; a [`Waker`] is what repaints whoever waits.
//!
//! Architecture invariant: every thread Shelfmark starts has a name (`shelfmark-…`) and is
//! started here (`std::thread::spawn` is a disallowed method, see `.clippy.toml`).

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Called when something arrived for a window (it repaints that window). Cheap to clone.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The stop signal a worker's body watches.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    /// Whether the worker was asked to stop.
    pub fn is_stopped(&self) -> bool {
        *self.0.0.lock()
    }

    /// Sleeps up to `timeout`; returns true (at once) if the worker is asked to stop.
    pub fn sleep(&self, timeout: Duration) -> bool {
        let (stopped, cv) = &*self.0;
        let mut guard = stopped.lock();
        if !*guard {
            let _ = cv.wait_for(&mut guard, timeout);
        }
        *guard
    }

    fn set(&self) {
        let (stopped, cv) = &*self.0;
        *stopped.lock() = true;
        cv.notify_all();
    }
}

/// A named thread, stopped and joined when dropped.
pub struct Worker {
    stop: Stop,
    /// Wakes a body that waits on something other than its [`Stop`] (run before joining).
    on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts `body` on a thread named `name`; `body` should return soon after its [`Stop`]
    /// is set (or when its input channel closes).
    pub fn spawn(name: &str, body: impl FnOnce(Stop) + Send + 'static) -> std::io::Result<Worker> {
        let stop = Stop::default();
        let for_body = stop.clone();
        #[expect(
            clippy::disallowed_methods,
            reason = "the one place threads are started: named, and joined on drop"
        )]
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || body(for_body))?;
        Ok(Worker {
            on_drop: None,
            stop,
            thread: Some(thread),
        })
    }

    /// Runs `wake` when the worker is dropped, before it is joined: for a body blocked on
    /// something of its own (a signal iterator, a socket) that must be told to return.
    #[must_use]
    pub fn on_drop(mut self, wake: impl FnOnce() + Send + Sync + 'static) -> Self {
        self.on_drop = Some(Box::new(wake));
        self
    }

    /// Lets the thread run on by itself (for work that must finish even if nobody waits, like
    /// closing a library after its window went away).
    pub fn detach(mut self) {
        drop(self.thread.take());
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.set();
        if let Some(wake) = self.on_drop.take() {
            wake();
        }
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

/// An answer on its way from another thread. [`poll`](Self::poll) returns it once.
#[derive(Debug)]
pub struct Pending<T> {
    rx: mpsc::Receiver<T>,
    /// Held while someone wants the answer: work whose `Pending` is gone may be skipped.
    wanted: Arc<()>,
}

/// The sending side of a [`Pending`].
pub struct Answer<T> {
    tx: mpsc::Sender<T>,
    wanted: std::sync::Weak<()>,
    waker: Option<Waker>,
}

impl<T> std::fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("wanted", &self.is_wanted())
            .finish_non_exhaustive()
    }
}

impl<T> Answer<T> {
    /// Whether anyone still waits for the answer.
    pub fn is_wanted(&self) -> bool {
        self.wanted.strong_count() > 0
    }

    /// Sends the answer and wakes the one who waits.
    pub fn send(self, value: T) {
        if self.tx.send(value).is_ok()
            && let Some(w) = &self.waker
        {
            w();
        }
    }
}

/// A pair: the answer to send from the worker, the pending answer to poll.
pub fn pending<T>(waker: Option<Waker>) -> (Answer<T>, Pending<T>) {
    let (tx, rx) = mpsc::channel();
    let wanted = Arc::new(());
    (
        Answer {
            tx,
            wanted: Arc::downgrade(&wanted),
            waker,
        },
        Pending { rx, wanted },
    )
}

/// Where a [`Pending`] answer stands.
#[derive(Debug)]
pub enum Taken<T> {
    /// Here it is (given once).
    Ready(T),
    /// Not yet.
    Waiting,
    /// The work went away without answering (or the answer was already taken).
    Abandoned,
}

impl<T> Pending<T> {
    /// The answer, if it has arrived; `None` also once it was taken, or if it never will be.
    pub fn poll(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// The answer, or whether one may still come: one look, so an answer arriving meanwhile
    /// is never lost between two.
    pub fn try_take(&self) -> Taken<T> {
        match self.rx.try_recv() {
            Ok(v) => Taken::Ready(v),
            Err(mpsc::TryRecvError::Empty) => Taken::Waiting,
            Err(mpsc::TryRecvError::Disconnected) => Taken::Abandoned,
        }
    }

    /// Waits for the answer (for tests and command-line tools; never on the UI thread).
    pub fn wait(self) -> Option<T> {
        let Pending { rx, wanted } = self;
        let answer = rx.recv().ok();
        drop(wanted);
        answer
    }
}

/// Runs `work` once on a named thread of its own; its answer arrives in the returned
/// [`Pending`], and `waker` is called then. If no thread can be started, the answer is
/// `on_failure(error)` at once.
pub fn run_once<T: Send + 'static>(
    name: &str,
    waker: Option<Waker>,
    work: impl FnOnce() -> T + Send + 'static,
    on_failure: impl FnOnce(std::io::Error) -> T,
) -> Pending<T> {
    let (answer, pending) = pending(waker);
    let (tx, rx) = mpsc::channel::<Answer<T>>();
    let started = Worker::spawn(name, move |_| {
        if let Ok(answer) = rx.recv() {
            answer.send(work());
        }
    });
    match started {
        Ok(worker) => {
            let _ = tx.send(answer);
            worker.detach();
        }
        Err(e) => answer.send(on_failure(e)),
    }
    pending
}
