//! Background work, off the UI thread: the save executor (one writer thread per process, group
//! commit) and the change feed (tells every window that the library changed).

mod feed;
mod reads;
mod saves;

pub use feed::{Change, ChangeFeed, Waker, Watcher};
pub use reads::{Fetch, Reader, Wake};
pub use saves::{
    EditorId, Event, MAX_BATCH, Mailbox, QUEUE_CAPACITY, Reply, RequestId, SaveTasks, SubmitError,
    WAITING_NOTICE_AFTER,
};
