//! The server's [`Session`]: named statements from `queries.sql`, prepared once per connection
//! and kept with it, bound by position, with each value converted to the type the server says
//! the parameter has.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, LazyLock};

use bytes::BytesMut;
use parking_lot::Mutex;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Statement};

use crate::db::DbError;
use crate::db::engine::catalog::{Catalog, Placeholders, Sql};
use crate::db::engine::{Dialect, Param, Row, Session, Stmt, Value, lookup};
use crate::model::Stamp;

/// The server's statements.
pub(crate) static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::parse(include_str!("queries.sql"), Placeholders::Dollar));

/// A connection to the server with its prepared statements.
pub(crate) struct PgConn {
    pub(crate) client: Client,
    prepared: HashMap<Stmt, Statement>,
    /// The writer's own statements (not in the catalog), prepared once.
    own: HashMap<&'static str, Statement>,
    /// Whether the last save's savepoint is still to be released (with the next one's
    /// `SAVEPOINT`, or by `COMMIT`: one round trip fewer per save).
    pub(crate) held: bool,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("prepared", &self.prepared.len())
            .finish_non_exhaustive()
    }
}

/// Lets go of a connection that may be on a dead line without waiting: closing one sends the
/// server a goodbye and waits for the socket, which on a cut cable takes as long as TCP does.
#[allow(
    clippy::disallowed_methods,
    reason = "a detached closer: nothing waits for it, and it ends when the socket does"
)]
pub(crate) fn abandon(conn: Option<PgConn>) {
    if let Some(conn) = conn {
        let _ = std::thread::Builder::new()
            .name("shelfmark-close".to_owned())
            .spawn(move || drop(conn));
    }
}

/// Set on every connection. Shelfmark's statements are short and index-driven, but the
/// planner's cost of one over ten million rows (the collections with their counts, a broad
/// search) passes `jit_above_cost`; compiling it then took ~150 ms of a 545 ms query that read
/// only from memory (342 ms without; PostgreSQL 15, the 10M library).
const SESSION_SETTINGS: &str = "SET jit = off";

impl PgConn {
    /// A fresh connection, with Shelfmark's session settings.
    pub(crate) fn new(mut client: Client) -> Result<Self, postgres::Error> {
        client.batch_execute(SESSION_SETTINGS)?;
        Ok(PgConn {
            client,
            prepared: HashMap::new(),
            own: HashMap::new(),
            held: false,
        })
    }

    /// `sql` prepared on this connection, once.
    pub(crate) fn own(&mut self, sql: &'static str) -> Result<Statement, DbError> {
        if let Some(s) = self.own.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.client.prepare(sql)?;
        self.own.insert(sql, prepared.clone());
        Ok(prepared)
    }

    fn statement(&mut self, stmt: Stmt) -> Result<(Statement, Arc<Sql>), DbError> {
        let sql = CATALOG.get(stmt)?;
        if let Some(s) = self.prepared.get(&stmt) {
            return Ok((s.clone(), sql));
        }
        let prepared = self.client.prepare(&sql.text)?;
        self.prepared.insert(stmt, prepared.clone());
        Ok((prepared, sql))
    }
}

/// One connection of a shared library, in whatever transaction its owner opened. A session is
/// used by one thread at a time; the lock only lets `&self` run statements.
pub(crate) struct PgSession<'c> {
    conn: Mutex<&'c mut PgConn>,
    /// The savepoint [`Session::recover`] rolls back to, if a save is open.
    savepoint: Option<&'static str>,
}

impl<'c> PgSession<'c> {
    pub(crate) fn new(conn: &'c mut PgConn) -> Self {
        PgSession {
            conn: Mutex::new(conn),
            savepoint: None,
        }
    }

    /// A session inside a save's savepoint `name`.
    pub(crate) fn in_savepoint(conn: &'c mut PgConn, name: &'static str) -> Self {
        PgSession {
            conn: Mutex::new(conn),
            savepoint: Some(name),
        }
    }
}

/// Converts to what the server asked for: the same number as `int2`, `int4` or `int8`, a stamp
/// as `timestamptz`, and so on.
impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => Err(format!("cannot give a number for a {ty} parameter").into()),
            },
            Value::Text(t) => t.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Stamp(s) => s.0.to_sql(ty, out),
            Value::Uuid(u) => u.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn bind<'p>(
    sql: &Sql,
    params: &'p [Param<'p>],
    stmt: Stmt,
) -> Result<Vec<&'p (dyn ToSql + Sync)>, DbError> {
    sql.names
        .iter()
        .map(|name| lookup(params, name, stmt).map(|v| v as &(dyn ToSql + Sync)))
        .collect()
}

impl Session for PgSession<'_> {
    fn each(
        &self,
        stmt: Stmt,
        params: &[Param<'_>],
        row: &mut dyn FnMut(&dyn Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut conn = self.conn.lock();
        let (prepared, sql) = conn.statement(stmt)?;
        let values = bind(&sql, params, stmt)?;
        // Rows stream in as the server sends them (a million-row export stays small).
        let mut rows = conn.client.query_raw(&prepared, values)?;
        while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            row(&PgRow(&r))?;
        }
        Ok(())
    }

    fn execute(&self, stmt: Stmt, params: &[Param<'_>]) -> Result<u64, DbError> {
        let mut conn = self.conn.lock();
        let (prepared, sql) = conn.statement(stmt)?;
        let values = bind(&sql, params, stmt)?;
        Ok(conn.client.execute(&prepared, &values)?)
    }

    fn copy_in(
        &self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<crate::db::engine::copy::Cell>],
    ) -> Result<bool, DbError> {
        let mut conn = self.conn.lock();
        super::copy_in::copy_in(&mut conn, table, columns, rows)?;
        Ok(true)
    }

    fn staged_import(
        &self,
        job: &crate::model::ImportJob,
        now: Stamp,
        by: &str,
        articles: &[String],
    ) -> Result<Option<crate::model::Outcome>, DbError> {
        // Books with source records (a MARC import) are matched by control number and keep
        // their record: the row-by-row path does that; the set-based one is for spreadsheets.
        if job.has_source_records() {
            return Ok(None);
        }
        let mut conn = self.conn.lock();
        super::import::apply(&mut conn, job, now, by, articles).map(Some)
    }

    fn recover(&self) -> Result<(), DbError> {
        // An error aborts the whole transaction on PostgreSQL until it is rolled back to a
        // savepoint; the save's own savepoint is the one.
        if let Some(name) = self.savepoint {
            self.conn
                .lock()
                .client
                .batch_execute(&format!("ROLLBACK TO SAVEPOINT {name}"))?;
        }
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
}

struct PgRow<'r>(&'r postgres::Row);

impl PgRow<'_> {
    fn number(&self, i: usize) -> Result<Option<i64>, DbError> {
        let ty = self
            .0
            .columns()
            .get(i)
            .map(|c| c.type_().clone())
            .ok_or_else(|| DbError::Data(format!("no column {i}")))?;
        Ok(match ty {
            Type::INT8 => self.0.try_get::<_, Option<i64>>(i)?,
            Type::INT4 => self.0.try_get::<_, Option<i32>>(i)?.map(i64::from),
            Type::INT2 => self.0.try_get::<_, Option<i16>>(i)?.map(i64::from),
            other => {
                return Err(DbError::Data(format!(
                    "column {i} is {other}, not a number"
                )));
            }
        })
    }
}

impl Row for PgRow<'_> {
    fn i64(&self, i: usize) -> Result<i64, DbError> {
        self.number(i)?
            .ok_or_else(|| DbError::Data(format!("column {i} is NULL")))
    }
    fn opt_i64(&self, i: usize) -> Result<Option<i64>, DbError> {
        self.number(i)
    }
    fn string(&self, i: usize) -> Result<String, DbError> {
        Ok(self.0.try_get(i)?)
    }
    fn opt_string(&self, i: usize) -> Result<Option<String>, DbError> {
        Ok(self.0.try_get(i)?)
    }
    fn text_into(&self, i: usize, out: &mut String) -> Result<bool, DbError> {
        out.clear();
        let text: Option<&str> = self.0.try_get(i)?;
        Ok(text.map(|t| out.push_str(t)).is_some())
    }
    fn stamp(&self, i: usize) -> Result<Stamp, DbError> {
        Ok(Stamp(self.0.try_get::<_, jiff::Timestamp>(i)?))
    }
    fn opt_stamp(&self, i: usize) -> Result<Option<Stamp>, DbError> {
        Ok(self.0.try_get::<_, Option<jiff::Timestamp>>(i)?.map(Stamp))
    }
    fn bool(&self, i: usize) -> Result<bool, DbError> {
        Ok(self.0.try_get(i)?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_server_writes_every_statement() {
        crate::db::engine::catalog::assert_complete(&super::CATALOG, "postgres/queries.sql");
    }
}
