//! What every window of one open library shares ([`Services`]: the save executor, the reader
//! threads, the change feed) and what each view owns to talk to them ([`Port`]: its own
//! mailbox for save outcomes and its own change subscription, both waking its own window).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use egui::ViewportId;
use jiff::tz::TimeZone;
use rusqlite::Connection;

use super::widgets::{Problem, SaveState};
use crate::db::Library;
use crate::model::Op;
use crate::tasks::{
    Change, ChangeFeed, EditorId, Fetch, Mailbox, Reader, Reply, RequestId, SaveTasks, SubmitError,
    Wake, Watcher,
};

/// How often other processes' commits are looked for.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// Shared by every window of one open library. When the last handle goes, its worker threads
/// are joined on a thread of their own: the last handle may be dropped by egui itself (a closed
/// window's callback), and joining a worker that is waking the UI from there could deadlock.
pub struct Services {
    pub library: Library,
    saves: Option<SaveTasks>,
    reader: Option<Reader>,
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
    pub fn start(library: Library) -> std::io::Result<(Arc<Services>, Watcher)> {
        let feed = ChangeFeed::new();
        let saves = SaveTasks::start(&library, feed.clone())?;
        let reader = Reader::start(&library, 2)?;
        let watcher = feed.watch(&library, WATCH_INTERVAL)?;
        Ok((
            Arc::new(Services {
                library,
                saves: Some(saves),
                reader: Some(reader),
                feed,
                tz: TimeZone::system(),
                next_id: AtomicU64::new(1),
            }),
            watcher,
        ))
    }

    /// The save executor.
    pub fn saves(&self) -> &SaveTasks {
        self.saves.as_ref().expect("present until dropped")
    }

    /// The reader threads.
    pub fn reader(&self) -> &Reader {
        self.reader.as_ref().expect("present until dropped")
    }

    /// A number unique among this library's editors, scans and windows.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let (saves, reader) = (self.saves.take(), self.reader.take());
        let _ = std::thread::Builder::new()
            .name("shelfmark-shutdown".into())
            .spawn(move || drop((saves, reader)));
    }
}

/// One view's line to the services: save outcomes and change notices arrive here and repaint
/// the view's window.
pub struct Port {
    pub services: Arc<Services>,
    pub editor: EditorId,
    mailbox: Mailbox,
    replies: Receiver<Reply>,
    changes: Receiver<Change>,
    wake: Wake,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("editor", &self.editor)
            .finish_non_exhaustive()
    }
}

impl Port {
    /// A port whose messages repaint `viewport`.
    pub fn new(services: &Arc<Services>, ctx: &egui::Context, viewport: ViewportId) -> Port {
        let repaint = {
            let ctx = ctx.clone();
            move || ctx.request_repaint_of(viewport)
        };
        let wake: Wake = Arc::new(repaint.clone());
        let (mailbox, replies) = Mailbox::with_waker(move |_| repaint());
        let changes = services.feed.subscribe_with_waker(Arc::clone(&wake));
        Port {
            services: Arc::clone(services),
            editor: EditorId(services.next_id()),
            mailbox,
            replies,
            changes,
            wake,
        }
    }

    /// Queues a save; never blocks.
    pub fn submit(&self, op: Op) -> Result<RequestId, SubmitError> {
        self.services
            .saves()
            .try_submit(self.editor, op, &self.mailbox)
    }

    /// Queues a save for a view that remembers what each request was for (`requests`), and
    /// returns the state its form should show: saving, or why it could not even be queued.
    pub fn submit_tracked<P>(
        &self,
        op: Op,
        purpose: P,
        requests: &mut HashMap<RequestId, P>,
    ) -> SaveState {
        match self.submit(op) {
            Ok(request) => {
                requests.insert(request, purpose);
                SaveState::Saving {
                    request,
                    waiting_since: None,
                }
            }
            Err(e) => SaveState::Problem(Problem::not_queued(&e)),
        }
    }

    /// Runs a query on a reader thread.
    pub fn fetch<T, F>(&self, query: F) -> Fetch<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.services
            .reader()
            .fetch(Some(Arc::clone(&self.wake)), query)
    }

    /// Replies that have arrived.
    pub fn replies(&self) -> Vec<Reply> {
        self.replies.try_iter().collect()
    }

    /// Whether the library changed since the last call.
    pub fn changed(&self) -> bool {
        self.changes.try_iter().count() > 0
    }

    pub fn tz(&self) -> &TimeZone {
        &self.services.tz
    }
}
