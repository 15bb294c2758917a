//! Copying a whole library from one backend to another, row for row: ids, versions, stamps, the
//! Trash and the settings, as they are ("Move this library to a server…", and the backup of a
//! shared library to a file). Then checking, row for row, that both hold the same.
//!
//! Rows go in id order, a chunk at a time on both sides, so memory stays small whatever the
//! library's size. Sort keys are copied as stored; the destination's search index is brought up
//! to date once at the end.

use super::{Param, Q, Row, Session, Value, params};
use crate::db::DbError;
use crate::model::Stamp;

/// A value as it is stored, for copying and comparing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    Stamp(Stamp),
}

impl Cell {
    fn value(&self) -> Value<'_> {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(v) => Value::Int(*v),
            Cell::Text(t) => Value::Text(t),
            Cell::Stamp(s) => Value::Stamp(*s),
        }
    }

    fn text(&self) -> &str {
        match self {
            Cell::Text(t) => t,
            _ => "",
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(v) => write!(f, "{v}"),
            Cell::Text(t) => write!(f, "{t:?}"),
            Cell::Stamp(s) => write!(f, "{s}"),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Col {
    Int,
    OptInt,
    Text,
    OptText,
    Stamp,
    OptStamp,
}

/// One table: the statement that reads a chunk of it (`:after`, `:limit`), the one that writes
/// a row, and its columns in the order both use.
struct Table {
    name: &'static str,
    dump: Q,
    load: Q,
    /// The rows with given ids (a replica's pull), and writing one over what is there.
    rows: Q,
    upsert: Q,
    columns: &'static [(&'static str, Col)],
}

const META: [(&str, Col); 5] = [
    ("version", Col::Int),
    ("created_at", Col::Stamp),
    ("updated_at", Col::Stamp),
    ("deleted_at", Col::OptStamp),
    ("updated_by", Col::Text),
];

macro_rules! with_meta {
    ($($col:expr),*) => {
        &[$($col,)* META[0], META[1], META[2], META[3], META[4]]
    };
}

const TABLES: [Table; 4] = [
    Table {
        name: "books",
        dump: Q::DumpBooks,
        rows: Q::RowsBooks,
        upsert: Q::UpsertBook,
        load: Q::LoadBook,
        columns: with_meta!(
            ("id", Col::Int),
            ("title", Col::Text),
            ("authors", Col::Text),
            ("isbn", Col::OptText),
            ("publisher", Col::Text),
            ("year", Col::OptInt),
            ("nonfiling", Col::OptInt),
            ("title_key", Col::Text),
            ("control", Col::OptText),
            ("marc", Col::OptText)
        ),
    },
    Table {
        name: "copies",
        dump: Q::DumpCopies,
        rows: Q::RowsCopies,
        upsert: Q::UpsertCopy,
        load: Q::LoadCopy,
        columns: with_meta!(
            ("id", Col::Int),
            ("book_id", Col::Int),
            ("barcode", Col::Text)
        ),
    },
    Table {
        name: "collections",
        dump: Q::DumpCollections,
        rows: Q::RowsCollections,
        upsert: Q::UpsertCollection,
        load: Q::LoadCollection,
        columns: with_meta!(
            ("id", Col::Int),
            ("name", Col::Text),
            ("name_key", Col::Text),
            ("description", Col::Text)
        ),
    },
    Table {
        name: "placements",
        dump: Q::DumpPlacements,
        rows: Q::RowsPlacements,
        upsert: Q::UpsertPlacement,
        load: Q::LoadPlacement,
        columns: with_meta!(
            ("id", Col::Int),
            ("copy_id", Col::Int),
            ("collection_id", Col::Int),
            ("shelf_mark", Col::Text),
            ("shelf_key", Col::Text),
            ("note", Col::Text)
        ),
    },
];

/// Rows per chunk.
const CHUNK: usize = 5000;

fn read_row(r: &dyn Row, columns: &[(&str, Col)]) -> Result<Vec<Cell>, DbError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, col))| {
            Ok(match col {
                Col::Int => Cell::Int(r.i64(i)?),
                Col::OptInt => r.opt_i64(i)?.map_or(Cell::Null, Cell::Int),
                Col::Text => Cell::Text(r.string(i)?),
                Col::OptText => r.opt_string(i)?.map_or(Cell::Null, Cell::Text),
                Col::Stamp => Cell::Stamp(r.stamp(i)?),
                Col::OptStamp => r.opt_stamp(i)?.map_or(Cell::Null, Cell::Stamp),
            })
        })
        .collect()
}

fn chunk<S: Session>(s: &S, table: &Table, after: i64) -> Result<Vec<Vec<Cell>>, DbError> {
    s.all(
        table.dump,
        params!(after: after, limit: CHUNK),
        |r: &dyn Row| read_row(r, table.columns),
    )
}

fn id_of(row: &[Cell]) -> i64 {
    match row.first() {
        Some(Cell::Int(id)) => *id,
        _ => 0,
    }
}

/// How far a copy has come: rows copied so far, and of which table.
#[derive(Clone, Copy, Debug)]
pub struct CopyProgress {
    pub table: &'static str,
    pub rows: u64,
}

/// Rows copied, per table (books, copies, collections, placements), and settings.
pub type CopyCounts = [u64; 5];

/// Copies every row of `from` into `to`, which must be empty and inside a write transaction.
pub(crate) fn copy<A: Session, B: Session>(
    from: &A,
    to: &B,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<CopyCounts, DbError> {
    // The destination is empty: whatever comes is more than it holds.
    let paused = to.pause_search(u64::MAX)?;
    let mut counts = [0u64; 5];
    for (t, table) in TABLES.iter().enumerate() {
        let mut after = 0;
        loop {
            let rows = chunk(from, table, after)?;
            let Some(last) = rows.last() else { break };
            after = id_of(last);
            if !load_all(to, table, &rows)? {
                for row in &rows {
                    load(to, table, row)?;
                }
            }
            counts[t] += rows.len() as u64;
            progress(CopyProgress {
                table: table.name,
                rows: counts[t],
            });
        }
    }
    for (key, value) in settings(from)? {
        to.run(Q::PutSetting, params!(key: &key, value: &value))?;
        counts[4] += 1;
    }
    to.resume_search(paused)?;
    to.one(Q::FinishLoad, &[], |_: &dyn Row| Ok(()))?;
    Ok(counts)
}

/// A chunk in one stream, where the destination has one (with the server's search column
/// computed as a save computes it); `false` if it has none.
fn load_all<S: Session>(to: &S, table: &Table, rows: &[Vec<Cell>]) -> Result<bool, DbError> {
    if to.dialect() != super::Dialect::Postgres {
        return Ok(false);
    }
    let mut columns: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    if table.dump != Q::DumpBooks {
        return to.copy_in(table.name, &columns, rows);
    }
    columns.push("search");
    let rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|row| {
            let mut row = row.clone();
            row.push(Cell::Text(book_row_words(&row)));
            row
        })
        .collect();
    to.copy_in(table.name, &columns, &rows)
}

fn load<S: Session>(to: &S, table: &Table, row: &[Cell]) -> Result<(), DbError> {
    write_row(to, table, table.load, row)
}

/// The tables in the order a copy (or a pull) writes them: parents before children.
pub(crate) const TABLE_NAMES: [&str; 4] = ["books", "copies", "collections", "placements"];

/// The rows of table `t` (an index into [`TABLE_NAMES`]) whose ids are `ids`, in id order;
/// ids that are not there are left out.
pub(crate) fn rows_by_id<S: Session>(
    s: &S,
    t: usize,
    ids: &[i64],
) -> Result<Vec<Vec<Cell>>, DbError> {
    let table = &TABLES[t];
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(CHUNK) {
        let list = serde_json::to_string(part).map_err(|e| DbError::Data(e.to_string()))?;
        out.extend(s.all(table.rows, params!(ids: &list), |r: &dyn Row| {
            read_row(r, table.columns)
        })?);
    }
    Ok(out)
}

/// Writes `row` of table `t` over the row with its id (or as a new row).
pub(crate) fn upsert<S: Session>(to: &S, t: usize, row: &[Cell]) -> Result<(), DbError> {
    let table = &TABLES[t];
    write_row(to, table, table.upsert, row)
}

/// The id of a row as [`rows_by_id`] gives it.
pub(crate) fn row_id(row: &[Cell]) -> i64 {
    id_of(row)
}

fn write_row<S: Session>(to: &S, table: &Table, stmt: Q, row: &[Cell]) -> Result<(), DbError> {
    let mut params: Vec<Param<'_>> = table
        .columns
        .iter()
        .zip(row)
        .map(|((name, _), cell)| (*name, cell.value()))
        .collect();
    // The server keeps a book's words in a column of its own, computed as a save computes it.
    let search;
    if table.dump == Q::DumpBooks && to.dialect() == super::Dialect::Postgres {
        search = book_row_words(row);
        params.push(("search", Value::Text(&search)));
    }
    to.execute(stmt.into(), &params)?;
    Ok(())
}

/// The search words of a dumped book row (title, authors, ISBN, publisher are its cells 1–4).
fn book_row_words(row: &[Cell]) -> String {
    let text = |i: usize| row.get(i).map_or("", Cell::text);
    super::write::book_words(text(1), text(2), text(3), text(4))
}

fn settings<S: Session>(s: &S) -> Result<Vec<(String, String)>, DbError> {
    s.all(Q::DumpSettings, &[], |r: &dyn Row| {
        Ok((r.string(0)?, r.string(1)?))
    })
}

/// The differences between two libraries, row for row (empty: they hold the same). At most
/// `limit` differences are listed.
pub(crate) fn differences<A: Session, B: Session>(
    a: &A,
    b: &B,
    limit: usize,
) -> Result<Vec<String>, DbError> {
    let mut found = Vec::new();
    for table in &TABLES {
        let mut after = 0;
        loop {
            let (left, right) = (chunk(a, table, after)?, chunk(b, table, after)?);
            if left.is_empty() && right.is_empty() {
                break;
            }
            let upto = chunk_end(&left).min(chunk_end(&right));
            compare(table, &left, &right, upto, &mut found);
            if found.len() >= limit {
                found.truncate(limit);
                return Ok(found);
            }
            if upto == i64::MAX {
                break;
            }
            after = upto;
        }
    }
    if settings(a)? != settings(b)? {
        found.push("the settings differ".to_owned());
    }
    Ok(found)
}

/// The last id a chunk is known to cover: its last row's if it is full (more may follow), all
/// of them otherwise.
fn chunk_end(rows: &[Vec<Cell>]) -> i64 {
    if rows.len() < CHUNK {
        i64::MAX
    } else {
        rows.last().map_or(i64::MAX, |r| id_of(r))
    }
}

/// Compares two chunks that start after the same id, up to id `upto`.
fn compare(
    table: &Table,
    left: &[Vec<Cell>],
    right: &[Vec<Cell>],
    upto: i64,
    found: &mut Vec<String>,
) {
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let (l, r) = (left.get(i), right.get(j));
        let (li, ri) = (
            l.map_or(i64::MAX, |r| id_of(r)),
            r.map_or(i64::MAX, |r| id_of(r)),
        );
        if li.min(ri) > upto {
            break;
        }
        match (l, r) {
            (Some(l), Some(r)) if li == ri => {
                for ((name, _), (x, y)) in table.columns.iter().zip(l.iter().zip(r)) {
                    if x != y {
                        found.push(format!(
                            "{} {li}: {name} is {x} here and {y} there",
                            table.name
                        ));
                    }
                }
                i += 1;
                j += 1;
            }
            _ if li < ri => {
                found.push(format!("{} {li} is missing from the copy", table.name));
                i += 1;
            }
            _ => {
                found.push(format!("{} {ri} is only in the copy", table.name));
                j += 1;
            }
        }
    }
}
