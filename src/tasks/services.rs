//! What every window of one open library shares ([`Services`]: the save executor, the reader
//! threads, the change feed and its watcher) and what each view owns to talk to them
//! ([`Port`]: its own mailbox for save outcomes and its own change subscription, both calling
//! its own waker, which repaints its window).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::feed::{ChangeFeed, Subscription};
use super::reads::{ReadResult, Reader};
use super::saves::{EditorId, Mailbox, Reply, RequestId, SaveTasks, SubmitError};
use super::worker::{Pending, Waker, Worker};
use crate::db::{DbError, Library, Reads};
use crate::model::Op;

/// How often other processes' commits are looked for.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// Shared by every window of one open library. When the last handle goes, its worker threads
/// are joined on a thread of their own: the last handle may be dropped by egui itself (a closed
/// window's callback), and joining a worker that is waking the UI from there could deadlock.
pub struct Services {
    pub library: Library,
    saves: Option<SaveTasks>,
    reader: Option<Reader>,
    watcher: Option<Worker>,
    pub feed: ChangeFeed,
    /// The zone times are shown in (the system's).
    pub tz: TimeZone,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("library", &self.library.path())
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Starts the executor, the readers and the change watcher for `library`.
    pub fn start(library: Library) -> std::io::Result<Arc<Services>> {
        let feed = ChangeFeed::new();
        let saves = SaveTasks::start(&library, feed.clone())?;
        let reader = Reader::start(&library, 2)?;
        let watcher = feed.watch(&library, WATCH_INTERVAL)?;
        Ok(Arc::new(Services {
            library,
            saves: Some(saves),
            reader: Some(reader),
            watcher: Some(watcher),
            feed,
            tz: TimeZone::system(),
            next_id: AtomicU64::new(1),
        }))
    }

    /// The save executor.
    #[expect(clippy::expect_used, reason = "present until the services are dropped")]
    pub fn saves(&self) -> &SaveTasks {
        self.saves.as_ref().expect("present until dropped")
    }

    /// The reader threads.
    #[expect(clippy::expect_used, reason = "present until the services are dropped")]
    pub fn reader(&self) -> &Reader {
        self.reader.as_ref().expect("present until dropped")
    }

    /// A number unique among this library's editors, scans and windows.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Saves queued or in flight, not yet answered, in every window.
    pub fn pending_saves(&self) -> u64 {
        self.saves.as_ref().map_or(0, SaveTasks::pending)
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let work = (self.saves.take(), self.reader.take(), self.watcher.take());
        if let Ok(closer) = Worker::spawn("shelfmark-shutdown", move |_| drop(work)) {
            closer.detach();
        }
    }
}

/// One view's line to the services: save outcomes and change notices arrive here and call its
/// waker.
pub struct Port {
    pub services: Arc<Services>,
    pub editor: EditorId,
    mailbox: Mailbox,
    replies: Receiver<Reply>,
    _changes: Subscription,
    waker: Waker,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("editor", &self.editor)
            .finish_non_exhaustive()
    }
}

impl Port {
    /// A port whose messages call `waker`.
    pub fn new(services: &Arc<Services>, waker: Waker) -> Port {
        let (mailbox, replies) = Mailbox::with_waker(Arc::clone(&waker));
        let changes = services.feed.subscribe(Arc::clone(&waker));
        Port {
            editor: EditorId(services.next_id()),
            services: Arc::clone(services),
            mailbox,
            replies,
            _changes: changes,
            waker,
        }
    }

    /// Queues a save; never blocks.
    pub fn submit(&self, op: Op) -> Result<RequestId, SubmitError> {
        self.services
            .saves()
            .try_submit(self.editor, op, &self.mailbox)
    }

    /// Runs a query on a reader thread; its answer wakes this port's window.
    pub fn fetch<T, F>(&self, query: F) -> Pending<ReadResult<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Reads) -> Result<T, DbError> + Send + 'static,
    {
        self.services
            .reader()
            .fetch(Some(Arc::clone(&self.waker)), query)
    }

    /// Replies that have arrived.
    pub fn replies(&self) -> Vec<Reply> {
        self.replies.try_iter().collect()
    }

    /// How many changes of the library have been published so far (see [`ChangeFeed`]).
    pub fn generation(&self) -> u64 {
        self.services.feed.generation()
    }

    /// This port's waker (for background work of its own).
    pub fn waker(&self) -> Waker {
        Arc::clone(&self.waker)
    }

    pub fn tz(&self) -> &TimeZone {
        &self.services.tz
    }

    pub fn library(&self) -> &Library {
        &self.services.library
    }
}
