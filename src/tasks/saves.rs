//! The save executor: one named writer thread per process that drains a bounded queue of save
//! requests and commits them in groups through the storage's [`BatchWriter`].
//!
//! Why one writer: a database's busy handler is a sleep-poll, not a queue, so pooled writers of
//! one process contending through it starve each other. Inside a process, saves queue here in
//! order; between processes, the backend takes turns (see `db::sqlite::batch`).
//!
//! Group commit: every request queued when the lock is taken joins one transaction, each inside
//! its own savepoint, so one save's conflict rolls back only that save. Each is acknowledged only
//! after COMMIT returned; then the change feed is told, then the editors. After a commit that
//! answered N saves the writer lingers (at most as long as that commit took, and never over a
//! millisecond) for up to N new requests, since the senders it just answered usually come
//! straight back. A notice thread tells every editor whose save has waited about a second for
//! another program's lock that it is waiting.
//!
//! Architecture invariant: `try_submit` never blocks (the UI thread uses it); an outcome goes
//! only to the mailbox of the editor that asked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::feed::ChangeFeed;
use super::worker::{Stop, Waker, Worker};
use crate::db::{BatchWriter, Library, SaveFault};
use crate::model::{Failure, FailureKind, Op, Outcome, Problem, Wait};

/// Identifies a save request; unique within a process.
pub type RequestId = u64;

/// Identifies the editor (a window's form, a scan line, a load thread) a reply goes back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EditorId(pub u64);

/// Saves that may wait in the queue; beyond this, `try_submit` refuses instead of blocking.
pub const QUEUE_CAPACITY: usize = 8192;
/// At most this many saves share one transaction.
pub const MAX_BATCH: usize = 256;
/// After this long without the write lock, editors are told their save is waiting.
pub const WAITING_NOTICE_AFTER: Duration = Duration::from_secs(1);

/// What the executor tells an editor about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Still not saved: another program holds the library's write lock, or the server is away.
    Waiting { since: Instant, reason: Wait },
    /// The final word.
    Done(Outcome),
}

/// A message back to the editor that asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub request: RequestId,
    pub editor: EditorId,
    pub event: Event,
}

/// Where replies go: a channel, and optionally a waker that repaints the receiver's window. If
/// the receiver is gone (the editor was closed) the reply is dropped.
#[derive(Clone)]
pub struct Mailbox {
    tx: mpsc::Sender<Reply>,
    wake: Option<Waker>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("wakes", &self.wake.is_some())
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    pub fn new() -> (Mailbox, mpsc::Receiver<Reply>) {
        let (tx, rx) = mpsc::channel();
        (Mailbox { tx, wake: None }, rx)
    }

    pub fn with_waker(wake: Waker) -> (Mailbox, mpsc::Receiver<Reply>) {
        let (tx, rx) = mpsc::channel();
        (
            Mailbox {
                tx,
                wake: Some(wake),
            },
            rx,
        )
    }

    fn deliver(&self, reply: Reply) {
        if self.tx.send(reply).is_ok()
            && let Some(w) = &self.wake
        {
            w();
        }
    }
}

/// Why a request was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error("too many saves are waiting for the library file; try again in a moment")]
    QueueFull,
    #[error("the save executor has stopped")]
    Stopped,
    #[error("the library is read-only ({0}); nothing can be saved")]
    ReadOnly(String),
}

impl From<&SubmitError> for Problem {
    fn from(e: &SubmitError) -> Problem {
        Problem::not_saved(e)
    }
}

struct Job {
    request: RequestId,
    /// Identifies the save wherever it goes (the server records it, so it lands once).
    id: uuid::Uuid,
    editor: EditorId,
    op: Op,
    mailbox: Mailbox,
}

impl Job {
    fn reply(&self, event: Event) {
        self.mailbox.deliver(Reply {
            request: self.request,
            editor: self.editor,
            event,
        });
    }
}

/// A save that is waiting for the write lock, as the notice thread sees it.
struct Notice {
    request: RequestId,
    editor: EditorId,
    mailbox: Mailbox,
    told: bool,
}

/// Shared between the writer and the notice thread (and read by the UI).
#[derive(Default)]
struct Status {
    /// Set when the editors were told they are waiting; cleared once the lock is taken.
    waiting_since: Option<(Instant, Wait)>,
    /// While the writer waits: since when, why, and the saves concerned.
    blocked: Option<(Instant, Wait, Vec<Notice>)>,
}

impl Status {
    /// Registers saves as waiting (the clock starts at the first registration). A new reason
    /// (the server went away while waiting for the lock) is told again.
    fn block(&mut self, jobs: &[Job], reason: Wait) {
        if let Some((_, r, notices)) = &mut self.blocked
            && *r != reason
        {
            *r = reason;
            for n in notices.iter_mut() {
                n.told = false;
            }
            if let Some((_, w)) = &mut self.waiting_since {
                *w = reason;
            }
        }
        let (_, _, notices) = self
            .blocked
            .get_or_insert_with(|| (Instant::now(), reason, Vec::new()));
        for job in &jobs[notices.len().min(jobs.len())..] {
            notices.push(Notice {
                request: job.request,
                editor: job.editor,
                mailbox: job.mailbox.clone(),
                told: false,
            });
        }
    }

    fn unblock(&mut self) {
        self.blocked = None;
        self.waiting_since = None;
    }
}

/// The handle to the writer thread. Dropping it lets queued saves finish, then joins the thread.
pub struct SaveTasks {
    queue: Option<mpsc::SyncSender<Job>>,
    /// Why saves are refused at once, if the library is read-only.
    read_only: Option<String>,
    next_request: AtomicU64,
    status: Arc<Mutex<Status>>,
    pending: Arc<AtomicU64>,
    writer: Option<Worker>,
    notices: Option<Worker>,
}

impl std::fmt::Debug for SaveTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveTasks")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl SaveTasks {
    /// Starts the writer thread for `library`; it publishes its commits to `feed`.
    pub fn start(library: &Library, feed: ChangeFeed) -> std::io::Result<SaveTasks> {
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let status = Arc::new(Mutex::new(Status::default()));
        let pending = Arc::new(AtomicU64::new(0));
        let mut writer = Writer {
            batches: library.batch_writer(),
            rx,
            feed,
            status: Arc::clone(&status),
            pending: Arc::clone(&pending),
            expect: 1,
            linger: Duration::ZERO,
        };
        let writer = Worker::spawn("shelfmark-writer", move |_| writer.run())?;
        let notice_status = Arc::clone(&status);
        let notices = Worker::spawn("shelfmark-notice", move |stop| {
            notice_loop(&notice_status, &stop);
        })?;
        Ok(SaveTasks {
            queue: Some(tx),
            read_only: library.read_only().map(str::to_owned),
            next_request: AtomicU64::new(1),
            status,
            pending,
            writer: Some(writer),
            notices: Some(notices),
        })
    }

    fn job(&self, editor: EditorId, op: Op, mailbox: &Mailbox) -> Job {
        Job {
            request: self.next_request.fetch_add(1, Ordering::Relaxed),
            id: uuid::Uuid::new_v4(),
            editor,
            op,
            mailbox: mailbox.clone(),
        }
    }

    /// Queues a save and returns at once; the reply arrives in `mailbox`. Never blocks: if the
    /// queue is full, says so (for the UI thread).
    pub fn try_submit(
        &self,
        editor: EditorId,
        op: Op,
        mailbox: &Mailbox,
    ) -> Result<RequestId, SubmitError> {
        if let Some(why) = &self.read_only {
            return Err(SubmitError::ReadOnly(why.clone()));
        }
        let job = self.job(editor, op, mailbox);
        let request = job.request;
        let queue = self.queue.as_ref().ok_or(SubmitError::Stopped)?;
        self.pending.fetch_add(1, Ordering::AcqRel);
        queue.try_send(job).map_err(|e| {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            match e {
                mpsc::TrySendError::Full(_) => SubmitError::QueueFull,
                mpsc::TrySendError::Disconnected(_) => SubmitError::Stopped,
            }
        })?;
        Ok(request)
    }

    /// Queues a save, waiting for room in the queue if it is full (for worker threads only).
    pub fn submit(
        &self,
        editor: EditorId,
        op: Op,
        mailbox: &Mailbox,
    ) -> Result<RequestId, SubmitError> {
        if let Some(why) = &self.read_only {
            return Err(SubmitError::ReadOnly(why.clone()));
        }
        let job = self.job(editor, op, mailbox);
        let request = job.request;
        let queue = self.queue.as_ref().ok_or(SubmitError::Stopped)?;
        self.pending.fetch_add(1, Ordering::AcqRel);
        queue.send(job).map_err(|_| {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            SubmitError::Stopped
        })?;
        Ok(request)
    }

    /// Saves queued or in flight, not yet answered.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Since when, and why, the writer has been waiting (after the notice delay), if it is.
    pub fn waiting_since(&self) -> Option<(Instant, Wait)> {
        self.status.lock().waiting_since
    }
}

impl Drop for SaveTasks {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued, then return.
        drop(self.queue.take());
        drop(self.writer.take());
        drop(self.notices.take());
    }
}

/// Tells editors whose save has waited [`WAITING_NOTICE_AFTER`] for a lock that it is waiting.
fn notice_loop(status: &Mutex<Status>, stop: &Stop) {
    while !stop.sleep(NOTICE_TICK) {
        let mut due = Vec::new();
        {
            let mut status = status.lock();
            let Status {
                waiting_since,
                blocked,
            } = &mut *status;
            if let Some((since, reason, notices)) = blocked
                && since.elapsed() >= WAITING_NOTICE_AFTER
            {
                waiting_since.get_or_insert((*since, *reason));
                for n in notices.iter_mut().filter(|n| !n.told) {
                    n.told = true;
                    due.push((n.mailbox.clone(), n.request, n.editor, *since, *reason));
                }
            }
        }
        // Deliver outside the lock: a waker may take locks of its own.
        for (mailbox, request, editor, since, reason) in due {
            mailbox.deliver(Reply {
                request,
                editor,
                event: Event::Waiting { since, reason },
            });
        }
    }
}

/// How often the notice thread looks at waiting saves.
const NOTICE_TICK: Duration = Duration::from_millis(100);

/// The longest the writer lingers for a fuller group.
const MAX_LINGER: Duration = Duration::from_millis(1);

/// How many times a batch is started again after losing its lock before its saves fail.
const MAX_RETRIES: u32 = 100;

struct Writer {
    batches: Box<dyn BatchWriter>,
    rx: mpsc::Receiver<Job>,
    feed: ChangeFeed,
    status: Arc<Mutex<Status>>,
    pending: Arc<AtomicU64>,
    /// Saves answered by the last commit: how many senders will likely come straight back.
    expect: usize,
    /// How long the writer may wait for them: the last commit's duration, capped.
    linger: Duration,
}

/// How one attempt at a batch ended.
enum Attempt {
    /// Committed (or every save answered without needing a commit).
    Done(Vec<Outcome>),
    /// The whole transaction was lost while saving job `index` (disk full, I/O error...): that
    /// job fails with `failure`; the others are tried again without it.
    Aborted { index: usize, failure: Failure },
    /// A lock was lost in a way that needs a fresh start; try the whole batch again.
    Retry,
}

fn drain_into(rx: &mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

impl Writer {
    fn run(&mut self) {
        while let Ok(first) = self.rx.recv() {
            let mut batch = vec![first];
            drain_into(&self.rx, &mut batch);
            let deadline = Instant::now() + self.linger;
            while batch.len() < self.expect {
                match self
                    .rx
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                {
                    Ok(job) => {
                        batch.push(job);
                        drain_into(&self.rx, &mut batch);
                    }
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    fn finish(&self, batch: Vec<Job>, outcomes: Vec<Outcome>) {
        if outcomes.iter().any(Outcome::wrote) {
            self.feed.publish();
        }
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            job.reply(Event::Done(outcome));
        }
    }

    fn fail_all(&self, batch: Vec<Job>, failure: &Failure) {
        let n = batch.len();
        self.finish(batch, vec![Outcome::Failed(failure.clone()); n]);
    }

    fn commit_batch(&mut self, mut batch: Vec<Job>) {
        let mut retries = 0u32;
        loop {
            let begun = {
                let (rx, status) = (&self.rx, &self.status);
                // While the lock is taken elsewhere, new saves join the batch and the notice
                // thread's list of waiting saves.
                let mut waiting = |reason: Wait| {
                    drain_into(rx, &mut batch);
                    status.lock().block(&batch, reason);
                };
                let begun = self.batches.begin(&mut waiting);
                status.lock().unblock();
                begun
            };
            if let Err(e) = begun {
                self.fail_all(batch, &e.failure());
                return;
            }
            let started = Instant::now();
            match self.attempt(&batch) {
                Attempt::Done(outcomes) => {
                    self.expect = batch.len();
                    self.linger = started.elapsed().min(MAX_LINGER);
                    self.finish(batch, outcomes);
                    return;
                }
                Attempt::Aborted { index, failure } => {
                    let job = batch.remove(index);
                    self.finish(vec![job], vec![Outcome::Failed(failure)]);
                    if batch.is_empty() {
                        return;
                    }
                }
                Attempt::Retry => {
                    retries += 1;
                    if retries > MAX_RETRIES {
                        let failure = Failure {
                            kind: FailureKind::Other,
                            message: "the library kept changing under the save; try again"
                                .to_owned(),
                        };
                        self.fail_all(batch, &failure);
                        return;
                    }
                }
            }
        }
    }

    /// Runs every job of the batch in its own savepoint inside the open transaction, then
    /// commits.
    fn attempt(&mut self, batch: &[Job]) -> Attempt {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (index, job) in batch.iter().enumerate() {
            match self.batches.save(job.id, &job.op) {
                Ok(outcome) => outcomes.push(outcome),
                Err(SaveFault::Retry) => {
                    self.batches.rollback();
                    return Attempt::Retry;
                }
                Err(SaveFault::Aborted(failure)) => {
                    self.batches.rollback();
                    return Attempt::Aborted { index, failure };
                }
            }
        }
        // Waiting for the server to say whether the commit landed: no new saves join (they
        // were not in it), but the editors hear why their saves wait.
        let status = &self.status;
        let waiting_on: &[Job] = batch;
        let mut waiting = |reason: Wait| status.lock().block(waiting_on, reason);
        let committed = self.batches.commit(&mut waiting);
        self.status.lock().unblock();
        match committed {
            Ok(()) => Attempt::Done(outcomes),
            Err(SaveFault::Retry) => Attempt::Retry,
            Err(SaveFault::Aborted(failure)) => {
                // Nothing was written: every save that had succeeded now fails; conflicts and
                // other answers stay true.
                Attempt::Done(
                    outcomes
                        .into_iter()
                        .map(|o| {
                            if o.wrote() {
                                Outcome::Failed(failure.clone())
                            } else {
                                o
                            }
                        })
                        .collect(),
                )
            }
        }
    }
}
