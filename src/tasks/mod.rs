//! Background work, off the UI thread: the save executor (one writer thread per process, group
//! commit), the reader threads, the change feed and its watcher, and the handles views hold
//! ([`Services`], [`Port`]). Every thread is a [`Worker`]; every answer on its way is a
//! [`Pending`]; every wake-up is a [`Waker`].
//!
//! Nothing here names egui: a window gives its [`Waker`] (a repaint of its viewport) when it
//! makes a [`Port`].

mod feed;
mod reads;
mod saves;
mod services;
mod worker;

pub use feed::{ChangeFeed, Subscription};
pub use reads::{ReadResult, Reader};
pub use saves::{
    EditorId, Event, MAX_BATCH, Mailbox, QUEUE_CAPACITY, Reply, RequestId, SaveTasks, SubmitError,
    WAITING_NOTICE_AFTER,
};
pub use services::{Port, Services, WATCH_INTERVAL};
pub use worker::{Pending, Stop, Taken, Waker, Worker, pending, run_once};
