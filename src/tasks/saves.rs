//! The save executor: one named writer thread per process that drains a bounded queue of save
//! requests and commits them in groups.
//!
//! Why one writer: SQLite's busy handler is a sleep-poll, not a queue, so pooled writers of one
//! process contending through it starve each other. Inside a process, saves queue here in order.
//! Between processes:
//! - Shelfmark writers first take an exclusive `flock` on a sidecar file (`<library>-writer`):
//!   the kernel queues the waiters and wakes one the moment the lock is released, so processes
//!   take turns instead of sleeping through each other's idle moments. This is only for
//!   fairness and speed; it is not the arbiter (other programs do not know it).
//! - Then `BEGIN IMMEDIATE` takes SQLite's write lock, retried with short jittered back-off while
//!   another program holds it: never given up, never dropped.
//! - A notice thread tells every editor whose save has waited about a second that it is waiting
//!   for the library file.
//!
//! Group commit: every request queued when the lock is taken joins one transaction, each inside
//! its own SAVEPOINT, so one save's conflict rolls back only that save. Each is acknowledged only
//! after COMMIT returned; then the change feed is told. After a commit that answered N saves the
//! writer lingers (at most as long as that commit took, and never over a millisecond) for up to N
//! new requests, since the senders it just answered usually come straight back.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;

use super::feed::ChangeFeed;
use crate::db::{self, BUSY_TIMEOUT, Library, Pool, WriteTx, failure_of, is_busy};
use crate::model::{Failure, FailureKind, Op, Outcome, Stamp};

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
    /// Still not saved: another program holds the library file's write lock.
    Waiting { since: Instant },
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

/// Where replies go: a channel, and optionally a function that wakes the receiver (repaints its
/// window). If the receiver is gone (the editor was closed) the reply is dropped.
#[derive(Clone)]
pub struct Mailbox {
    tx: mpsc::Sender<Reply>,
    wake: Option<Arc<dyn Fn(EditorId) + Send + Sync>>,
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

    pub fn with_waker(
        wake: impl Fn(EditorId) + Send + Sync + 'static,
    ) -> (Mailbox, mpsc::Receiver<Reply>) {
        let (tx, rx) = mpsc::channel();
        (
            Mailbox {
                tx,
                wake: Some(Arc::new(wake)),
            },
            rx,
        )
    }

    fn deliver(&self, reply: Reply) {
        let editor = reply.editor;
        if self.tx.send(reply).is_ok()
            && let Some(w) = &self.wake
        {
            w(editor);
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

struct Job {
    request: RequestId,
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
    waiting_since: Option<Instant>,
    /// While the writer waits for a lock: since when, and the saves concerned.
    blocked: Option<(Instant, Vec<Notice>)>,
}

impl Status {
    /// Registers saves as waiting for a lock (the clock starts at the first registration).
    fn block(&mut self, jobs: &[Job]) {
        let (_, notices) = self
            .blocked
            .get_or_insert_with(|| (Instant::now(), Vec::new()));
        for job in &jobs[notices.len().min(jobs.len())..] {
            notices.push(Notice {
                request: job.request,
                editor: job.editor,
                mailbox: job.mailbox.clone(),
                told: false,
            });
        }
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
    thread: Option<JoinHandle<()>>,
    notice_stop: Option<mpsc::Sender<()>>,
    notice_thread: Option<JoinHandle<()>>,
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
            library: library.clone(),
            pool: library.pool().clone(),
            rx,
            feed,
            status: Arc::clone(&status),
            pending: Arc::clone(&pending),
            last_stamp: Stamp(jiff::Timestamp::UNIX_EPOCH),
            gate: if library.read_only().is_some() {
                None
            } else {
                open_gate(library.path()).map(Arc::new)
            },
            expect: 1,
            linger: Duration::ZERO,
        };
        let thread = std::thread::Builder::new()
            .name("shelfmark-writer".into())
            .spawn(move || writer.run())?;
        let (notice_stop, stop_rx) = mpsc::channel();
        let notice_status = Arc::clone(&status);
        let notice_thread = std::thread::Builder::new()
            .name("shelfmark-notice".into())
            .spawn(move || notice_loop(&notice_status, &stop_rx))?;
        Ok(SaveTasks {
            queue: Some(tx),
            read_only: library.read_only().map(str::to_owned),
            next_request: AtomicU64::new(1),
            status,
            pending,
            thread: Some(thread),
            notice_stop: Some(notice_stop),
            notice_thread: Some(notice_thread),
        })
    }

    fn job(&self, editor: EditorId, op: Op, mailbox: &Mailbox) -> Job {
        Job {
            request: self.next_request.fetch_add(1, Ordering::Relaxed),
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

    /// Since when the writer has been waiting for another program's write lock (after the
    /// notice delay), if it is.
    pub fn waiting_since(&self) -> Option<Instant> {
        self.status.lock().waiting_since
    }
}

impl Drop for SaveTasks {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        drop(self.notice_stop.take());
        if let Some(t) = self.notice_thread.take() {
            let _ = t.join();
        }
    }
}

/// The sidecar file whose `flock` queues Shelfmark writers of one library fairly. `None` where it
/// cannot be made (a read-only folder): SQLite's own lock still serialises writers.
fn open_gate(library: &std::path::Path) -> Option<File> {
    let mut name = library.as_os_str().to_owned();
    name.push("-writer");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(name)
        .ok()
}

/// Tells editors whose save has waited [`WAITING_NOTICE_AFTER`] for a lock that it is waiting.
fn notice_loop(status: &Mutex<Status>, stop: &mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(NOTICE_TICK) {
        let mut due = Vec::new();
        {
            let mut status = status.lock();
            let Status {
                waiting_since,
                blocked,
            } = &mut *status;
            if let Some((since, notices)) = blocked
                && since.elapsed() >= WAITING_NOTICE_AFTER
            {
                waiting_since.get_or_insert(*since);
                for n in notices.iter_mut().filter(|n| !n.told) {
                    n.told = true;
                    due.push((n.mailbox.clone(), n.request, n.editor, *since));
                }
            }
        }
        // Deliver outside the lock: a waker may take locks of its own.
        for (mailbox, request, editor, since) in due {
            mailbox.deliver(Reply {
                request,
                editor,
                event: Event::Waiting { since },
            });
        }
    }
}

/// How often the notice thread looks at waiting saves.
const NOTICE_TICK: Duration = Duration::from_millis(100);

struct Writer {
    library: Library,
    pool: Pool,
    rx: mpsc::Receiver<Job>,
    feed: ChangeFeed,
    status: Arc<Mutex<Status>>,
    pending: Arc<AtomicU64>,
    last_stamp: Stamp,
    gate: Option<Arc<File>>,
    /// Saves answered by the last commit: how many senders will likely come straight back.
    expect: usize,
    /// How long the writer may wait for them: the last commit's duration, capped.
    linger: Duration,
}

/// The longest the writer lingers for a fuller group.
const MAX_LINGER: Duration = Duration::from_millis(1);

/// How one attempt at a batch ended.
enum Attempt {
    /// Committed (or every save answered without needing a commit).
    Done(Vec<Outcome>),
    /// SQLite rolled the whole transaction back while saving job `index` (disk full, I/O
    /// error...): that job fails with `failure`; the others are tried again without it.
    Aborted { index: usize, failure: Failure },
    /// A lock was lost in a way that needs a fresh start; try the whole batch again.
    Retry,
}

impl Writer {
    fn run(&mut self) {
        while let Ok(first) = self.rx.recv() {
            let mut batch = vec![first];
            self.drain_into(&mut batch);
            let deadline = Instant::now() + self.linger;
            while batch.len() < self.expect {
                match self
                    .rx
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                {
                    Ok(job) => {
                        batch.push(job);
                        self.drain_into(&mut batch);
                    }
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    fn drain_into(&self, batch: &mut Vec<Job>) {
        while batch.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
    }

    fn next_stamp(&mut self) -> Stamp {
        let now = Stamp::now().truncated();
        let stamp = if now > self.last_stamp {
            now
        } else {
            self.last_stamp.next()
        };
        self.last_stamp = stamp;
        stamp
    }

    fn finish(&self, batch: Vec<Job>, outcomes: Vec<Outcome>) {
        let saved_any = outcomes.iter().any(Outcome::wrote);
        if saved_any {
            self.feed.publish();
        }
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            job.reply(Event::Done(outcome));
        }
    }

    fn commit_batch(&mut self, mut batch: Vec<Job>) {
        let mut retries = 0u32;
        loop {
            let conn = match self.pool.get() {
                Ok(c) => c,
                Err(e) => {
                    let failure = failure_of(&e);
                    let n = batch.len();
                    self.finish(batch, vec![Outcome::Failed(failure); n]);
                    return;
                }
            };
            // The size cap is per connection, and this one may be new to the writer.
            let max_pages = match self.library.max_pages() {
                0 => 4_294_967_294,
                n => n,
            };
            if let Err(e) = conn.pragma_update(None, "max_page_count", max_pages as i64) {
                let failure = failure_of(&e);
                let n = batch.len();
                self.finish(batch, vec![Outcome::Failed(failure); n]);
                return;
            }
            let gate = self.enter_gate(&batch);
            if let Err(e) = self.begin(&conn, &mut batch) {
                drop(gate);
                let failure = failure_of(&e);
                let n = batch.len();
                self.finish(batch, vec![Outcome::Failed(failure); n]);
                return;
            }
            let started = Instant::now();
            let attempt = self.attempt(&conn, &batch);
            drop(gate);
            match attempt {
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
                    if retries > 100 {
                        let failure = Failure {
                            kind: FailureKind::Other,
                            message: "the library file kept changing under the save; try again"
                                .to_owned(),
                        };
                        let n = batch.len();
                        self.finish(batch, vec![Outcome::Failed(failure); n]);
                        return;
                    }
                }
            }
        }
    }

    /// Takes the sidecar lock that queues Shelfmark writers, waiting in the kernel's queue if
    /// another process holds it. The lock is released when the guard drops.
    fn enter_gate(&self, batch: &[Job]) -> Option<GateGuard> {
        let gate = self.gate.as_ref()?;
        match gate.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                self.status.lock().block(batch);
                gate.lock().ok()?;
            }
            // A file system without locks: SQLite's lock alone serialises.
            Err(std::fs::TryLockError::Error(_)) => return None,
        }
        Some(GateGuard(Arc::clone(gate)))
    }

    /// `BEGIN IMMEDIATE`, retried until it succeeds. While waiting, newly queued saves join the
    /// batch (and the notice thread's list of waiting saves).
    fn begin(&self, conn: &Connection, batch: &mut Vec<Job>) -> rusqlite::Result<()> {
        // Our own back-off replaces SQLite's busy handler while taking the lock.
        conn.busy_timeout(Duration::ZERO)?;
        let mut pause = Duration::from_micros(100);
        let result = loop {
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => break Ok(()),
                Err(e) if is_busy(&e) => {
                    self.drain_into(batch);
                    self.status.lock().block(batch);
                    // Jitter keeps several processes from retrying in lock step.
                    let jitter = fastrand::u64(0..=pause.as_micros() as u64);
                    std::thread::sleep(pause / 2 + Duration::from_micros(jitter / 2));
                    pause = (pause * 2).min(Duration::from_millis(4));
                }
                Err(e) => break Err(e),
            }
        };
        {
            let mut status = self.status.lock();
            status.blocked = None;
            status.waiting_since = None;
        }
        conn.busy_timeout(BUSY_TIMEOUT)?;
        result
    }

    /// Runs every job of the batch in its own savepoint inside the open transaction, then
    /// commits.
    fn attempt(&mut self, conn: &Connection, batch: &[Job]) -> Attempt {
        let mut outcomes = Vec::with_capacity(batch.len());
        for (index, job) in batch.iter().enumerate() {
            let stamp = self.next_stamp();
            match save_one(conn, stamp, &job.op) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) if conn.is_autocommit() => {
                    // SQLite rolled back the whole transaction.
                    return if is_busy(&e) {
                        Attempt::Retry
                    } else {
                        Attempt::Aborted {
                            index,
                            failure: failure_of(&e),
                        }
                    };
                }
                Err(e) if is_busy(&e) => {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Attempt::Retry;
                }
                Err(e) => outcomes.push(Outcome::Failed(failure_of(&e))),
            }
        }
        match commit(conn) {
            Ok(()) => Attempt::Done(outcomes),
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                if is_busy(&e) {
                    return Attempt::Retry;
                }
                let failure = failure_of(&e);
                // Nothing was written: every save that had succeeded now fails; conflicts and
                // other answers stay true.
                let outcomes = outcomes
                    .into_iter()
                    .map(|o| {
                        if o.wrote() {
                            Outcome::Failed(failure.clone())
                        } else {
                            o
                        }
                    })
                    .collect();
                Attempt::Done(outcomes)
            }
        }
    }
}

/// Holds the sidecar lock; releases it on drop.
struct GateGuard(Arc<File>);

impl Drop for GateGuard {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// One save inside its own savepoint: kept if saved, rolled back otherwise.
fn save_one(conn: &Connection, stamp: Stamp, op: &Op) -> rusqlite::Result<Outcome> {
    conn.prepare_cached("SAVEPOINT save")?.execute([])?;
    let result = db::apply(&WriteTx::new(conn, stamp), op);
    if conn.is_autocommit() {
        return result; // the transaction is gone; the caller sees why
    }
    match &result {
        Ok(o) if o.wrote() => {
            conn.prepare_cached("RELEASE save")?.execute([])?;
        }
        _ => {
            conn.prepare_cached("ROLLBACK TO save")?.execute([])?;
            conn.prepare_cached("RELEASE save")?.execute([])?;
        }
    }
    result
}

/// COMMIT; a busy commit (possible only in unusual journal states) is retried briefly.
fn commit(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.execute_batch("COMMIT") {
            Err(e) if is_busy(&e) && !conn.is_autocommit() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}
