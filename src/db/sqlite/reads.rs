//! The file's side of the read seam: how a pooled connection makes a session and how a library
//! file is checked ([`EngineReads`] does the rest), and [`DataVersion`] notices other
//! processes' commits by polling `PRAGMA data_version` (cheap, and unlike `update_hook` it sees
//! other connections).

use std::time::Duration;

use super::session::FileSession;
use super::{Pool, PooledConnection, check};
use crate::db::engine::reads::{EngineReads, ReadConn};
use crate::db::{ChangeSource, CheckReport, DbError};

/// Reads on one pooled connection of a library file.
pub(crate) type FileReads = EngineReads<PooledConnection>;

impl ReadConn for PooledConnection {
    type S<'a> = FileSession<'a>;

    fn session(&mut self) -> FileSession<'_> {
        FileSession::new(self)
    }

    fn check(&mut self, step: &mut dyn FnMut(&'static str)) -> Result<CheckReport, DbError> {
        Ok(check::check_with(self, check::Structure::Full, step)?)
    }
}

/// Polls `PRAGMA data_version` on its own pooled connection.
pub(crate) struct DataVersion {
    pool: Pool,
    interval: Duration,
    conn: Option<PooledConnection>,
    last: Option<i64>,
}

impl DataVersion {
    pub(crate) fn new(pool: Pool, interval: Duration) -> Self {
        DataVersion {
            pool,
            interval,
            conn: None,
            last: None,
        }
    }

    fn poll(&mut self) -> Option<i64> {
        if self.conn.is_none() {
            // data_version is per connection: a new one starts a new sequence.
            self.last = None;
            self.conn = self.pool.get().ok();
        }
        let v = self
            .conn
            .as_ref()?
            .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0));
        if let Ok(v) = v {
            Some(v)
        } else {
            // A fresh borrow next time, so a failed poll heals itself.
            self.conn = None;
            None
        }
    }
}

impl ChangeSource for DataVersion {
    fn prime(&mut self) {
        self.last = self.poll();
    }

    fn wait(&mut self, sleep: &mut dyn FnMut(Duration) -> bool) -> bool {
        if self.last.is_none() {
            self.last = self.poll();
        }
        if sleep(self.interval) {
            return false;
        }
        let Some(v) = self.poll() else {
            return false;
        };
        let changed = self.last.is_some_and(|l| l != v);
        self.last = Some(v);
        changed
    }
}
