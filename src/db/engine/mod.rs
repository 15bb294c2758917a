//! The library's rules, written once for every backend: reading records, saving them (versions,
//! the Trash and its cascades, restores, purges), mapping a live-unique violation to the conflict
//! that names its holder, imports, the views and exports. Each runs on a [`Session`]: one
//! connection of a backend, which runs named statements ([`Q`]) whose SQL the backend keeps in
//! its own `queries.sql` (see [`catalog`]).
//!
//! Architecture invariant: the SQL differs per backend, the logic does not. A statement is named
//! here and written in each backend's file; `catalog::tests` and each backend's own test check
//! that every name is written in every file, and the contract tests (`tests/contract.rs`) run
//! the same assertions on both backends.

pub(crate) mod catalog;
pub(crate) mod check;
pub(crate) mod conflict;
pub(crate) mod copy;
pub(crate) mod export;
pub(crate) mod import;
pub(crate) mod read;
pub(crate) mod reads;
pub(crate) mod views;
pub(crate) mod write;

pub(crate) use catalog::{Q, Stmt};

use crate::db::DbError;
use crate::model::Stamp;

/// A value bound to a statement's `:name` placeholder. Each backend converts it to the column's
/// own type (a stamp is ISO text in a file and `timestamptz` on a server).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Bool(bool),
    Stamp(Stamp),
    Uuid(uuid::Uuid),
}

/// A named parameter: `(":name" without the colon, value)`.
pub(crate) type Param<'a> = (&'static str, Value<'a>);

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value<'_> {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u8> for Value<'_> {
    fn from(v: u8) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<usize> for Value<'_> {
    fn from(v: usize) -> Self {
        Value::Int(v as i64)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<Stamp> for Value<'_> {
    fn from(v: Stamp) -> Self {
        Value::Stamp(v)
    }
}
impl<'a> From<&'a crate::model::OrderValue> for Value<'a> {
    fn from(v: &'a crate::model::OrderValue) -> Self {
        match v {
            crate::model::OrderValue::Text(t) => Value::Text(t),
            crate::model::OrderValue::Stamp(t) => Value::Stamp(*t),
        }
    }
}
impl From<uuid::Uuid> for Value<'_> {
    fn from(v: uuid::Uuid) -> Self {
        Value::Uuid(v)
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}
impl<'a, T> From<Option<T>> for Value<'a>
where
    T: Into<Value<'a>>,
{
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().into()
    }
}

/// `params!(id: 7, title: &t)`: the named parameters of one statement.
macro_rules! params {
    ($($name:ident : $value:expr),* $(,)?) => {
        &[$((stringify!($name), $crate::db::engine::Value::from($value))),*]
    };
}
pub(crate) use params;

/// One row of a result, read by column position.
pub(crate) trait Row {
    fn i64(&self, i: usize) -> Result<i64, DbError>;
    fn opt_i64(&self, i: usize) -> Result<Option<i64>, DbError>;
    fn string(&self, i: usize) -> Result<String, DbError>;
    fn opt_string(&self, i: usize) -> Result<Option<String>, DbError>;
    /// Column `i` (text, or NULL: `false`) into `out`, cleared first: a stream of many rows
    /// reuses one buffer per column.
    fn text_into(&self, i: usize, out: &mut String) -> Result<bool, DbError>;
    fn stamp(&self, i: usize) -> Result<Stamp, DbError>;
    fn opt_stamp(&self, i: usize) -> Result<Option<Stamp>, DbError>;
    fn bool(&self, i: usize) -> Result<bool, DbError>;
}

/// Which backend a session talks to, for the few rules that are not SQL: how search terms are
/// written, and whether the file's full-text triggers must stand aside during an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// What a bulk load set aside, to bring up to date at its end: the largest book id before it
/// (the books after it are indexed for search then), and the indexes it dropped (their
/// definitions, built again from the rows).
#[derive(Debug, Default)]
pub(crate) struct Paused {
    pub(crate) books_before: i64,
    pub(crate) rebuild: Vec<String>,
}

/// One connection of a backend, inside whatever transaction its owner opened.
pub(crate) trait Session {
    /// Runs a query, giving each row to `row` in order; an error from `row` stops the query.
    fn each(
        &self,
        stmt: Stmt,
        params: &[Param<'_>],
        row: &mut dyn FnMut(&dyn Row) -> Result<(), DbError>,
    ) -> Result<(), DbError>;
    /// Runs a statement; how many rows it changed.
    fn execute(&self, stmt: Stmt, params: &[Param<'_>]) -> Result<u64, DbError>;
    /// After a statement of a save failed, makes the transaction usable again (the save's
    /// savepoint is rolled back on PostgreSQL, where an error aborts the transaction; SQLite has
    /// already undone just the statement). Everything the save wrote so far is undone.
    fn recover(&self) -> Result<(), DbError>;
    fn dialect(&self) -> Dialect;

    /// Before a bulk load of about `rows` rows inside the open transaction: sets aside index
    /// upkeep that a bulk load does better at the end (the file's full-text triggers, and for a
    /// load bigger than the library the indexes it only writes); returns what
    /// [`resume_search`](Self::resume_search) needs. Nobody else sees the pause.
    fn pause_search(&self, _rows: u64) -> Result<Paused, DbError> {
        Ok(Paused::default())
    }
    /// During a pause: brings the search index up to date for books that existed before it and
    /// were changed during it.
    fn reindex_books(&self, _ids: &[i64]) -> Result<(), DbError> {
        Ok(())
    }
    /// Brings what [`pause_search`](Self::pause_search) set aside up to date, and ends the pause.
    fn resume_search(&self, _paused: Paused) -> Result<(), DbError> {
        Ok(())
    }

    /// Writes `rows` (values in `columns` order) into `table` in one stream where the backend
    /// has one (PostgreSQL's COPY), inside the open transaction; `false` where it has none (the
    /// caller then writes row by row, which on SQLite is as fast).
    fn copy_in(
        &self,
        _table: &str,
        _columns: &[&str],
        _rows: &[Vec<copy::Cell>],
    ) -> Result<bool, DbError> {
        Ok(false)
    }

    /// Runs `f`, a read through much of the library once (an export, an order's marks), with
    /// a small page cache, so that it does not fill the connection's cache with pages no later
    /// read wants (on a big library, the cache of every pooled connection would fill).
    fn streaming<T>(&self, f: impl FnOnce() -> T) -> Result<T, DbError> {
        Ok(f())
    }

    /// Applies an import in a way of the backend's own (set-based, on PostgreSQL) with the same
    /// rules and outcome as [`import::apply`]'s rows; `None` where the backend has none.
    fn staged_import(
        &self,
        _job: &crate::model::ImportJob,
        _now: Stamp,
        _by: &str,
        _articles: &[String],
    ) -> Result<Option<crate::model::Outcome>, DbError> {
        Ok(None)
    }

    /// The first row, if any.
    fn one<T>(
        &self,
        stmt: impl Into<Stmt>,
        params: &[Param<'_>],
        f: impl Fn(&dyn Row) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError>
    where
        Self: Sized,
    {
        let mut out = None;
        self.each(stmt.into(), params, &mut |r| {
            if out.is_none() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Every row.
    fn all<T>(
        &self,
        stmt: impl Into<Stmt>,
        params: &[Param<'_>],
        f: impl Fn(&dyn Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError>
    where
        Self: Sized,
    {
        let mut out = Vec::new();
        self.each(stmt.into(), params, &mut |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first column of the first row (an error if there is no row).
    fn value<T>(
        &self,
        stmt: impl Into<Stmt>,
        params: &[Param<'_>],
        f: impl Fn(&dyn Row) -> Result<T, DbError>,
    ) -> Result<T, DbError>
    where
        Self: Sized,
    {
        let stmt = stmt.into();
        self.one(stmt, params, f)?
            .ok_or_else(|| DbError::Data(format!("{} returned no row", stmt.q.name())))
    }

    /// [`execute`](Self::execute) with the statement given as a [`Q`] or a [`Stmt`].
    fn run(&self, stmt: impl Into<Stmt>, params: &[Param<'_>]) -> Result<u64, DbError>
    where
        Self: Sized,
    {
        self.execute(stmt.into(), params)
    }
}

/// Finds `name` among `params`: the value a placeholder is bound to.
pub(crate) fn lookup<'p, 'v>(
    params: &'p [Param<'v>],
    name: &str,
    stmt: Stmt,
) -> Result<&'p Value<'v>, DbError> {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            DbError::Data(format!(
                "statement {} needs :{name}, which was not given",
                stmt.q.name()
            ))
        })
}
