//! The file's [`Session`]: named statements from `queries.sql`, prepared once per connection
//! (rusqlite's statement cache) and bound by position.

use std::sync::LazyLock;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use crate::db::DbError;
use crate::db::engine::catalog::{Catalog, Placeholders, Sql};
use crate::db::engine::{Dialect, Param, Paused, Row, Session, Stmt, Value, lookup};
use crate::model::Stamp;

/// The file's statements.
pub(crate) static CATALOG: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::parse(include_str!("queries.sql"), Placeholders::Question));

/// The statements of a shared library's replica: the same, except that a new row's id is
/// provisional, below every id the server gives and every id this replica ever gave (kept in
/// `provisional_floor`, so an id is never given twice, even after its row is gone).
pub(crate) static REPLICA_CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let mut text = include_str!("queries.sql").to_owned();
    for table in ["books", "copies", "collections", "placements"] {
        text = text.replace(
            &format!("(SELECT min(coalesce(min(id), 0), 0) - 1 FROM {table})"),
            &format!(
                "(SELECT min(coalesce(min(id), 0), \
                 (SELECT floor FROM provisional_floor WHERE tbl = '{table}')) - 1 FROM {table})"
            ),
        );
    }
    // Made once per process, and the catalog keeps its text.
    Catalog::parse(text.leak(), Placeholders::Question)
});

/// One connection of a library file, in whatever transaction its owner opened.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileSession<'c> {
    conn: &'c Connection,
    catalog: &'static Catalog,
}

impl<'c> FileSession<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        FileSession {
            conn,
            catalog: &CATALOG,
        }
    }

    /// A session of a replica's writer (provisional ids for new rows).
    pub(crate) fn replica(conn: &'c Connection) -> Self {
        FileSession {
            conn,
            catalog: &REPLICA_CATALOG,
        }
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as V;
        Ok(match *self {
            Value::Null => ToSqlOutput::Owned(V::Null),
            Value::Int(v) => ToSqlOutput::Owned(V::Integer(v)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Bool(b) => ToSqlOutput::Owned(V::Integer(i64::from(b))),
            Value::Stamp(s) => ToSqlOutput::Owned(V::Text(s.to_sql())),
            Value::Uuid(u) => ToSqlOutput::Owned(V::Text(u.to_string())),
        })
    }
}

fn prepare<'c>(
    conn: &'c Connection,
    catalog: &Catalog,
    stmt: Stmt,
    params: &[Param<'_>],
) -> Result<rusqlite::CachedStatement<'c>, DbError> {
    let sql: std::sync::Arc<Sql> = catalog.get(stmt)?;
    let mut st = conn.prepare_cached(&sql.text)?;
    for (i, name) in sql.names.iter().enumerate() {
        st.raw_bind_parameter(i + 1, lookup(params, name, stmt)?)?;
    }
    Ok(st)
}

impl Session for FileSession<'_> {
    fn each(
        &self,
        stmt: Stmt,
        params: &[Param<'_>],
        row: &mut dyn FnMut(&dyn Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut st = prepare(self.conn, self.catalog, stmt, params)?;
        let mut rows = st.raw_query();
        while let Some(r) = rows.next()? {
            row(&FileRow(r))?;
        }
        Ok(())
    }

    fn execute(&self, stmt: Stmt, params: &[Param<'_>]) -> Result<u64, DbError> {
        let mut st = prepare(self.conn, self.catalog, stmt, params)?;
        Ok(st.raw_execute()? as u64)
    }

    fn recover(&self) -> Result<(), DbError> {
        // SQLite undid the failed statement only; the transaction goes on.
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn streaming<T>(&self, f: impl FnOnce() -> T) -> Result<T, DbError> {
        let cache = |kib: i64| {
            self.conn
                .execute_batch(&format!("PRAGMA cache_size = -{kib}"))
        };
        cache(STREAMING_CACHE_KIB)?;
        let out = f();
        cache(super::CACHE_KIB)?;
        Ok(out)
    }

    fn pause_search(&self, rows: u64) -> Result<Paused, DbError> {
        Ok(super::bulk::pause_search(self.conn, rows)?)
    }

    fn reindex_books(&self, ids: &[i64]) -> Result<(), DbError> {
        Ok(super::bulk::reindex_books(self.conn, ids)?)
    }

    fn resume_search(&self, paused: Paused) -> Result<(), DbError> {
        Ok(super::bulk::resume_search(self.conn, &paused)?)
    }
}

/// The page cache of a connection during a streaming read, in KiB: its interior pages.
const STREAMING_CACHE_KIB: i64 = 512;

struct FileRow<'r, 's>(&'r rusqlite::Row<'s>);

fn stamp_of(text: &str, i: usize) -> Result<Stamp, DbError> {
    text.parse().map_err(|e: jiff::Error| {
        DbError::Data(format!("column {i}: {text:?} is not a moment: {e}"))
    })
}

impl Row for FileRow<'_, '_> {
    fn i64(&self, i: usize) -> Result<i64, DbError> {
        Ok(self.0.get(i)?)
    }
    fn opt_i64(&self, i: usize) -> Result<Option<i64>, DbError> {
        Ok(self.0.get(i)?)
    }
    fn string(&self, i: usize) -> Result<String, DbError> {
        Ok(self.0.get(i)?)
    }
    fn opt_string(&self, i: usize) -> Result<Option<String>, DbError> {
        Ok(self.0.get(i)?)
    }
    fn text_into(&self, i: usize, out: &mut String) -> Result<bool, DbError> {
        out.clear();
        let text = self
            .0
            .get_ref(i)?
            .as_str_or_null()
            .map_err(|e| DbError::Data(format!("column {i}: {e}")))?;
        Ok(text.map(|t| out.push_str(t)).is_some())
    }
    fn stamp(&self, i: usize) -> Result<Stamp, DbError> {
        let text: String = self.0.get(i)?;
        stamp_of(&text, i)
    }
    fn opt_stamp(&self, i: usize) -> Result<Option<Stamp>, DbError> {
        let text: Option<String> = self.0.get(i)?;
        text.map(|t| stamp_of(&t, i)).transpose()
    }
    fn bool(&self, i: usize) -> Result<bool, DbError> {
        Ok(self.0.get(i)?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_writes_every_statement() {
        crate::db::engine::catalog::assert_complete(&CATALOG, "sqlite/queries.sql");
    }

    use super::*;
    use crate::db::engine::Q;

    /// A streaming read runs with a small cache, and the connection has its usual one after.
    #[test]
    fn a_streaming_read_keeps_the_cache_small_then_gives_it_back() {
        let conn = Connection::open_in_memory().unwrap();
        let cache = || -> i64 {
            conn.query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap()
        };
        let during = FileSession::new(&conn).streaming(cache).unwrap();
        assert_eq!(during, -STREAMING_CACHE_KIB);
        assert_eq!(cache(), -super::super::CACHE_KIB);
    }

    #[test]
    fn a_replica_gives_each_table_its_own_never_reused_provisional_ids() {
        for q in [
            Q::InsertBook,
            Q::InsertCopy,
            Q::InsertCollection,
            Q::InsertPlacement,
        ] {
            let file = CATALOG.get(q.into()).unwrap();
            let replica = REPLICA_CATALOG.get(q.into()).unwrap();
            assert!(!file.text.contains("provisional_floor"), "{}", file.text);
            assert!(
                replica.text.contains("provisional_floor"),
                "{}",
                replica.text
            );
        }
    }
}
