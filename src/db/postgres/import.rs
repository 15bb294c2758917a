//! An import on a shared library, set-based: the rows go to the server by COPY, then the steps
//! of `import.sql` match and create books, copies, collections and placements with the same
//! rules (and the same outcome) as the row-by-row import of a file, in a few round trips
//! instead of several per row.

use std::sync::LazyLock;

use postgres::types::ToSql;

use super::PgConn;
use super::copy_in::copy_in;
use crate::db::DbError;
use crate::db::engine::copy::Cell;
use crate::db::engine::write::{book_words, title_key_of};
use crate::model::{
    Failure, FailureKind, Field, FieldError, ImportJob, ImportSummary, Outcome, Stamp, sortkey,
};

/// The steps of `import.sql`, by name.
static STEPS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
    include_str!("import.sql")
        .split("-- step: ")
        .skip(1)
        .map(|block| {
            let (name, sql) = block.split_once('\n').unwrap_or((block, ""));
            (name.trim(), sql.trim())
        })
        .collect()
});

fn step(name: &str) -> &'static str {
    STEPS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(|| panic!("import.sql has no step {name}"), |(_, sql)| *sql)
}

const COLUMNS: [&str; 18] = [
    "ord",
    "line",
    "bkey",
    "title",
    "authors",
    "isbn",
    "publisher",
    "year",
    "nonfiling",
    "title_key",
    "search",
    "barcode",
    "coll_name",
    "coll_key",
    "coll_description",
    "shelf_mark",
    "shelf_key",
    "note",
];

/// Rows sent per COPY (progress and cancellation are looked at in between).
const CHUNK: usize = 20_000;

fn opt(v: Option<&str>) -> Cell {
    v.map_or(Cell::Null, |s| Cell::Text(s.to_owned()))
}

fn cancelled() -> Outcome {
    Outcome::Failed(Failure {
        kind: FailureKind::Other,
        message: "the import was cancelled; nothing was added".to_owned(),
    })
}

/// Applies `job` (its rows in memory) inside the open savepoint; the caller rolls back to it
/// unless the outcome wrote.
pub(crate) fn apply(
    conn: &mut PgConn,
    job: &ImportJob,
    now: Stamp,
    by: &str,
    articles: &[String],
) -> Result<Outcome, DbError> {
    conn.client.batch_execute(step("staging"))?;
    let mut all = job.rows();
    let mut total = 0;
    for c in 0.. {
        let chunk = all
            .by_ref()
            .take(CHUNK)
            .collect::<Result<Vec<_>, String>>()
            .map_err(DbError::Data)?;
        if chunk.is_empty() {
            break;
        }
        total += chunk.len();
        job.set_done(c * CHUNK);
        if job.is_cancelled() {
            return Ok(cancelled());
        }
        let rows: Vec<Vec<Cell>> = chunk
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let b = &row.book;
                let bkey = match &b.isbn {
                    Some(isbn) => format!("i{isbn}"),
                    None => format!("t{}\u{1f}{}", b.title, b.authors),
                };
                let search = book_words(
                    &b.title,
                    &b.authors,
                    b.isbn.as_deref().unwrap_or(""),
                    &b.publisher,
                );
                vec![
                    Cell::Int((c * CHUNK + i) as i64),
                    Cell::Int(row.line as i64),
                    Cell::Text(bkey),
                    Cell::Text(b.title.clone()),
                    Cell::Text(b.authors.clone()),
                    opt(b.isbn.as_deref()),
                    Cell::Text(b.publisher.clone()),
                    b.year.map_or(Cell::Null, |y| Cell::Int(y.into())),
                    b.nonfiling.map_or(Cell::Null, |n| Cell::Int(n.into())),
                    Cell::Text(title_key_of(&b.title, b.nonfiling, articles)),
                    Cell::Text(search),
                    opt(row.barcode.as_deref()),
                    opt(row.collection.as_ref().map(|c| c.name.as_str())),
                    opt(row.collection.as_ref().map(|c| c.name_key.as_str())),
                    opt(row.collection.as_ref().map(|c| c.description.as_str())),
                    Cell::Text(row.shelf_mark.clone()),
                    Cell::Text(sortkey::call_number_key(&row.shelf_mark)),
                    Cell::Text(row.note.clone()),
                ]
            })
            .collect();
        copy_in(conn, "import_rows", &COLUMNS, &rows)?;
    }
    // Every row is staged; the bar is full while the steps up to the last cancel point run.
    job.set_done(total);
    let stamp: &(dyn ToSql + Sync) = &now.0;
    let by: &(dyn ToSql + Sync) = &by;
    let stamped = [stamp, by];
    let run = |conn: &mut PgConn, name: &str| run_step(conn, name, &stamped);
    run(conn, "books")?;
    run(conn, "insert_books")?;
    run(conn, "copies")?;
    if job.is_cancelled() {
        return Ok(cancelled());
    }
    // From here on a cancel is no longer heard.
    job.set_finishing(true);
    if let Some(r) = conn.client.query_opt(step("copy_on_another_book"), &[])? {
        let (line, barcode, other, title): (i32, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        return Ok(Outcome::Invalid(vec![FieldError::new(
            Field::Barcode,
            format!(
                "line {line}: barcode {barcode} is already on a copy of “{other}”, not “{title}”"
            ),
        )]));
    }
    run(conn, "insert_copies")?;
    run(conn, "collections")?;
    run(conn, "insert_collections")?;
    run(conn, "pairs")?;
    let placements_created = run(conn, "insert_placements")? as usize;
    let counts = conn.client.query_one(step("counts"), &[])?;
    let count = |i: usize| counts.get::<_, i64>(i) as usize;
    Ok(Outcome::Imported(ImportSummary {
        rows: total,
        books_created: count(0),
        books_updated: 0,
        copies_created: count(1),
        collections_created: count(2),
        placements_created,
        placements_matched: count(3) - placements_created,
    }))
}

/// Runs one step: with the stamp and workstation if it takes them (then it is one statement).
fn run_step(
    conn: &mut PgConn,
    name: &str,
    stamped: &[&(dyn ToSql + Sync); 2],
) -> Result<u64, DbError> {
    let sql = step(name);
    if sql.contains("$1") {
        Ok(conn.client.execute(sql, stamped)?)
    } else {
        conn.client.batch_execute(sql)?;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_step_is_there() {
        for name in [
            "staging",
            "books",
            "insert_books",
            "copies",
            "copy_on_another_book",
            "insert_copies",
            "collections",
            "insert_collections",
            "pairs",
            "insert_placements",
            "counts",
        ] {
            assert!(!super::step(name).is_empty(), "{name}");
        }
    }
}
