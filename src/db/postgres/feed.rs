//! Hearing of other computers' saves: one listener per process on a connection of its own,
//! `LISTEN shelfmark_changes`. A notification (sent at commit by the change-log triggers) only
//! wakes it; what changed is read from the change log by sequence number, so a notification
//! missed while the connection was down is caught up on when it is back.

use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;

use super::{PgConn, ServerLibrary};
use crate::db::ChangeSource;

/// How long one wait for a notification lasts before the stop flag is looked at again.
const SLICE: Duration = Duration::from_millis(50);

/// How often the change log is read without a notification.
const RECHECK: Duration = Duration::from_secs(1);

pub(crate) struct ChangeLog {
    library: ServerLibrary,
    interval: Duration,
    conn: Option<PgConn>,
    /// The last sequence number seen.
    last: Option<i64>,
    /// When the change log was last read.
    looked: Option<Instant>,
}

impl ChangeLog {
    pub(crate) fn new(library: ServerLibrary, interval: Duration) -> Self {
        ChangeLog {
            library,
            interval,
            conn: None,
            last: None,
            looked: None,
        }
    }

    /// The listening connection, made (and LISTEN sent) if there is none.
    fn listening(&mut self) -> Option<&mut PgConn> {
        if self.conn.is_none() {
            let mut conn = self.library.connect().ok()?;
            conn.client.batch_execute("LISTEN shelfmark_changes").ok()?;
            self.conn = Some(conn);
        }
        self.conn.as_mut()
    }

    /// The newest sequence number in the change log.
    fn newest(&mut self) -> Option<i64> {
        let conn = self.listening()?;
        if let Ok(row) = conn
            .client
            .query_one("SELECT coalesce(max(seq), 0) FROM change_log", &[])
        {
            Some(row.get(0))
        } else {
            // Reconnect next time.
            super::abandon(self.conn.take());
            None
        }
    }
}

impl ChangeSource for ChangeLog {
    fn prime(&mut self) {
        self.last = self.newest();
    }

    fn wait(&mut self, sleep: &mut dyn FnMut(Duration) -> bool) -> bool {
        if self.last.is_none() {
            self.last = self.newest();
        }
        let deadline = Instant::now() + self.interval;
        let mut woken = false;
        while !woken && Instant::now() < deadline {
            let Some(conn) = self.listening() else {
                // The server is away: look again after a while.
                sleep(self.interval);
                return false;
            };
            let heard = {
                let mut notes = conn.client.notifications();
                let first = notes.timeout_iter(SLICE).next();
                if matches!(first, Ok(Some(_))) {
                    // Drain the others that arrived with it.
                    while let Ok(Some(_)) = notes.iter().next() {}
                }
                first.map(|n| n.is_some())
            };
            match heard {
                Ok(true) => woken = true,
                Ok(false) => {}
                Err(_) => super::abandon(self.conn.take()),
            }
            if sleep(Duration::ZERO) {
                return false;
            }
        }
        // Without a notification, the log is still read now and then: one may have been
        // missed while the connection was down.
        if !woken && self.looked.is_some_and(|t| t.elapsed() < RECHECK) {
            return false;
        }
        self.looked = Some(Instant::now());
        let Some(newest) = self.newest() else {
            return false;
        };
        let changed = self.last.is_some_and(|l| newest != l);
        self.last = Some(newest);
        changed
    }
}
