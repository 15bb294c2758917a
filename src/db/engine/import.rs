//! Applies an import inside one savepoint of the writer's transaction: all rows or none.
//! Books are matched by ISBN (or, without one, by title and authors), copies by barcode,
//! collections by name (case-insensitively), placements by (copy, collection); only what is
//! missing is created.

use std::collections::HashMap;

use super::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
    title_key_of, update_book,
};
use super::{Q, Row, Session, params, read};
use crate::db::DbError;
use crate::model::{
    BookId, CollectionId, CopyId, Failure, FailureKind, Field, FieldError, ImportJob,
    ImportSummary, Outcome, SourceRecord, ValidCopy, ValidPlacement,
};

/// How often (in rows) progress is published and cancellation checked.
const PROGRESS_EVERY: usize = 512;

pub(crate) fn apply<S: Session>(tx: &WriteTx<'_, S>, job: &ImportJob) -> Result<Outcome, DbError> {
    let mut summary = ImportSummary {
        rows: job.rows.len(),
        ..ImportSummary::default()
    };
    let articles = articles(tx)?;
    if let Some(outcome) = tx.staged_import(job, tx.now, tx.by, &articles)? {
        return Ok(outcome);
    }
    // Books found by their source record's control number are updated first, while the search
    // index still follows every change (the pause below is for inserts only).
    let mut by_control = match refresh_by_control(tx, job, &articles)? {
        Ok(found) => found,
        Err(outcome) => return Ok(outcome),
    };
    summary.books_updated = by_control.values().filter(|(_, changed)| *changed).count();
    let paused = tx.pause_search()?;
    let mut books: HashMap<(String, String, Option<String>), BookId> = HashMap::new();
    // Books whose source record this import has written already.
    let mut sourced: std::collections::HashSet<BookId> =
        by_control.values().map(|(id, _)| *id).collect();
    let mut collections: HashMap<String, CollectionId> = HashMap::new();
    for (i, row) in job.rows.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            job.set_done(i);
            if job.is_cancelled() {
                return Ok(Outcome::Failed(Failure {
                    kind: FailureKind::Other,
                    message: "the import was cancelled; nothing was added".to_owned(),
                }));
            }
        }
        let b = &row.book;
        let control = row.source.as_deref().and_then(|s| s.control.as_deref());
        let key = (b.title.clone(), b.authors.clone(), b.isbn.clone());
        let book = if let Some((id, _)) = control.and_then(|c| by_control.get(c)) {
            *id
        } else if let Some(id) = books.get(&key) {
            *id
        } else {
            let found = if let Some(isbn) = &b.isbn {
                read::live_book_by_isbn(tx, isbn)?.map(|b| b.id)
            } else {
                let title_key = title_key_of(&b.title, b.nonfiling, &articles);
                tx.one(
                    Q::BookByTitleAuthors,
                    params!(title_key: &title_key, title: &b.title, authors: &b.authors),
                    |r: &dyn Row| r.i64(0).map(BookId),
                )?
            };
            let id = if let Some(id) = found {
                id
            } else {
                summary.books_created += 1;
                BookId(insert_book_with(tx, b, &articles)?)
            };
            books.insert(key, id);
            id
        };
        if let Some(source) = &row.source
            && sourced.insert(book)
        {
            attach(tx, book, source)?;
            if let Some(c) = &source.control {
                by_control.insert(c.clone(), (book, false));
            }
        }
        let Some(barcode) = &row.barcode else {
            continue;
        };
        let mut new_copy = false;
        let copy = match read::live_copy_by_barcode(tx, barcode)? {
            Some(c) if c.book_id != book => {
                let other = read::book(tx, c.book_id)?
                    .map(|b| b.title)
                    .unwrap_or_default();
                return Ok(Outcome::Invalid(vec![FieldError::new(
                    Field::Barcode,
                    format!(
                        "line {}: barcode {barcode} is already on a copy of “{other}”, not “{}”",
                        row.line, b.title
                    ),
                )]));
            }
            Some(c) => c.id,
            None => {
                summary.copies_created += 1;
                new_copy = true;
                let id = insert_copy(
                    tx,
                    &ValidCopy {
                        book_id: book,
                        barcode: barcode.clone(),
                    },
                )?;
                CopyId(id)
            }
        };
        let Some(collection) = &row.collection else {
            continue;
        };
        let collection_id = if let Some(id) = collections.get(&collection.name_key) {
            *id
        } else {
            let id = if let Some(c) = read::live_collection_by_name(tx, &collection.name)? {
                c.id
            } else {
                summary.collections_created += 1;
                CollectionId(insert_collection(tx, collection)?)
            };
            collections.insert(collection.name_key.clone(), id);
            id
        };
        // A copy made a moment ago has no placements yet.
        if !new_copy && read::live_placement(tx, copy, collection_id)?.is_some() {
            summary.placements_matched += 1;
        } else {
            summary.placements_created += 1;
            insert_placement(
                tx,
                &ValidPlacement {
                    copy_id: copy,
                    collection_id,
                    shelf_mark: row.shelf_mark.clone(),
                    note: row.note.clone(),
                },
            )?;
        }
    }
    tx.resume_search(paused)?;
    job.set_done(job.rows.len());
    Ok(Outcome::Imported(summary))
}

/// Control number -> (book, whether this import changed it).
type ByControl = HashMap<String, (BookId, bool)>;

/// Finds the books that rows' control numbers already name and brings each up to its row:
/// its fields (through the edit's own path, so a taken ISBN is a conflict) and its record.
/// Returns control number -> (book, whether anything changed), or the outcome that refuses the
/// whole import.
fn refresh_by_control<S: Session>(
    tx: &WriteTx<'_, S>,
    job: &ImportJob,
    articles: &[String],
) -> Result<Result<ByControl, Outcome>, DbError> {
    let mut found: HashMap<String, (BookId, bool)> = HashMap::new();
    for row in &job.rows {
        let Some(source) = row.source.as_deref() else {
            continue;
        };
        let Some(control) = source.control.as_deref() else {
            continue;
        };
        if found.contains_key(control) {
            continue;
        }
        let Some((id, version, marc)) = tx.one(
            Q::BookByControl,
            params!(control: control),
            |r: &dyn Row| Ok((r.i64(0)?, r.i64(1)?, r.opt_string(2)?)),
        )?
        else {
            continue;
        };
        let current = read::book(tx, BookId(id))?;
        let same = current.as_ref().is_some_and(|c| {
            let b = &row.book;
            c.title == b.title
                && c.authors == b.authors
                && c.isbn == b.isbn
                && c.publisher == b.publisher
                && c.year == b.year
                && c.nonfiling == b.nonfiling
        });
        if !same {
            match update_book(tx, id, version, &row.book, articles)? {
                Outcome::Saved { .. } => {}
                refused => return Ok(Err(refused)),
            }
        }
        let record_changed = marc.as_deref() != Some(source.marc.as_str());
        if record_changed {
            attach(tx, BookId(id), source)?;
        }
        found.insert(control.to_owned(), (BookId(id), !same || record_changed));
    }
    Ok(Ok(found))
}

/// Keeps `source` with book `id`.
fn attach<S: Session>(
    tx: &WriteTx<'_, S>,
    id: BookId,
    source: &SourceRecord,
) -> Result<(), DbError> {
    tx.run(
        Q::SetBookSource,
        params!(
            control: &source.control, marc: &source.marc, now: tx.now, by: tx.by, id: id.0,
        ),
    )
    .map(drop)
}
