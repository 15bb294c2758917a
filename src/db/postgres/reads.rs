//! The server's side of the read seam: how a pooled connection makes a session, and how a
//! shared library is checked; [`EngineReads`] does the rest.

use super::{Manager, PgSession, check};
use crate::db::engine::reads::{EngineReads, ReadConn};
use crate::db::{CheckReport, DbError};

/// Reads on one pooled connection of a shared library.
pub(crate) type ServerReads = EngineReads<r2d2::PooledConnection<Manager>>;

impl ReadConn for r2d2::PooledConnection<Manager> {
    type S<'a> = PgSession<'a>;

    fn session(&mut self) -> PgSession<'_> {
        PgSession::new(self)
    }

    fn check(&mut self, step: &mut dyn FnMut(&'static str)) -> Result<CheckReport, DbError> {
        step("the server's indexes, invariants and search column");
        check::check(self)
    }
}
