//! Applies an import inside one savepoint of the writer's transaction: all rows or none.
//! Books are matched by ISBN (or, without one, by title and authors), copies by barcode,
//! collections by name (case-insensitively), placements by (copy, collection); only what is
//! missing is created.

use std::collections::{HashMap, HashSet};

use super::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
    title_key_of, update_book,
};
use super::{Q, Row, Session, params, read};
use crate::db::DbError;
use crate::model::{
    BookId, CollectionId, CopyId, Failure, FailureKind, Field, FieldError, ImportJob, ImportRow,
    ImportSummary, Outcome, SourceRecord, ValidCopy, ValidPlacement,
};

/// How often (in rows) progress is published and cancellation checked.
const PROGRESS_EVERY: usize = 512;

/// Caches of what earlier rows found are dropped beyond this many entries: the database finds
/// the same again (inside the same transaction), so an import's memory does not grow with its
/// file.
const CACHE_LIMIT: usize = 50_000;

fn failed(message: String) -> Outcome {
    Outcome::Failed(Failure {
        kind: FailureKind::Other,
        message,
    })
}

fn remember<K: std::hash::Hash + Eq, V>(cache: &mut HashMap<K, V>, key: K, value: V) {
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, value);
}

pub(crate) fn apply<S: Session>(tx: &WriteTx<'_, S>, job: &ImportJob) -> Result<Outcome, DbError> {
    // A save retried (a busy commit) runs again from the first row.
    job.set_finishing(false);
    let mut summary = ImportSummary::default();
    let articles = articles(tx)?;
    if let Some(outcome) = tx.staged_import(job, tx.now, tx.by, &articles)? {
        return Ok(outcome);
    }
    let paused = tx.pause_search(job.total().unwrap_or(0) as u64)?;
    let mut books = Books::default();
    let mut collections: HashMap<String, CollectionId> = HashMap::new();
    let mut applied = 0;
    for (i, row) in job.rows().enumerate() {
        let row = match row {
            Ok(row) => row,
            Err(why) => return Ok(failed(format!("{why}; nothing was added"))),
        };
        applied += 1;
        if i % PROGRESS_EVERY == 0 {
            job.set_done(i);
            if job.is_cancelled() {
                return Ok(failed(
                    "the import was cancelled; nothing was added".to_owned(),
                ));
            }
        }
        let b = &row.book;
        let book = match books.of(tx, &row, &articles, &mut summary)? {
            Ok(id) => id,
            Err(refused) => return Ok(refused),
        };
        let Some(barcode) = &row.barcode else {
            continue;
        };
        let mut new_copy = false;
        let copy = match read::live_copy_by_barcode(tx, barcode)? {
            Some(c) if c.book_id != book => {
                let other = read::book(tx, c.book_id)?
                    .map(|b| b.title)
                    .unwrap_or_default();
                let at = if row.source.is_some() {
                    format!("record {}", row.line)
                } else {
                    format!("line {}", row.line)
                };
                return Ok(Outcome::Invalid(vec![FieldError::new(
                    Field::Barcode,
                    format!(
                        "{at}: barcode {barcode} is already on a copy of “{other}”, not “{}”",
                        b.title
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
            remember(&mut collections, collection.name_key.clone(), id);
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
    if let Some(total) = job.total()
        && applied != total
    {
        return Ok(failed(format!(
            "the file changed since it was checked ({applied} rows now, {total} then); nothing was added"
        )));
    }
    summary.rows = applied;
    job.set_done(applied);
    job.set_finishing(true);
    tx.reindex_books(&books.refreshed)?;
    tx.resume_search(paused)?;
    Ok(Outcome::Imported(summary))
}

/// Which book each row is of, with what earlier rows found.
#[derive(Default)]
struct Books {
    by_key: HashMap<(String, String, Option<String>), BookId>,
    by_control: HashMap<String, BookId>,
    /// Books whose source record this import has written (a second record for the same book
    /// does not replace the first).
    sourced: HashSet<BookId>,
    /// Books found by control number and brought up to their record: the search index has to
    /// follow them (its triggers are paused for the import's inserts).
    refreshed: Vec<i64>,
}

impl Books {
    /// The book of `row`: found by its record's control number (and brought up to the record),
    /// by ISBN, or by title and authors, else created. Or the outcome that refuses the import.
    fn of<S: Session>(
        &mut self,
        tx: &WriteTx<'_, S>,
        row: &ImportRow,
        articles: &[String],
        summary: &mut ImportSummary,
    ) -> Result<Result<BookId, Outcome>, DbError> {
        let b = &row.book;
        let control = row.source.as_deref().and_then(|s| s.control.as_deref());
        let key = (b.title.clone(), b.authors.clone(), b.isbn.clone());
        let book = if let Some(id) = control.and_then(|c| self.by_control.get(c)) {
            *id
        } else if let (Some(c), Some(source)) = (control, row.source.as_deref())
            && let Some(found) = tx.one(Q::BookByControl, params!(control: c), |r: &dyn Row| {
                Ok((r.i64(0)?, r.i64(1)?, r.opt_string(2)?))
            })?
        {
            // The same record again: the book follows it (through the edit's own path, so an
            // ISBN another book holds is a conflict), and keeps the newer record.
            let id = found.0;
            match refresh(tx, found, &row.book, source, articles)? {
                Ok(true) => {
                    summary.books_updated += 1;
                    self.refreshed.push(id);
                }
                Ok(false) => {}
                Err(refused) => return Ok(Err(refused)),
            }
            self.sourced.insert(BookId(id));
            BookId(id)
        } else if let Some(id) = self.by_key.get(&key) {
            *id
        } else {
            let found = if let Some(isbn) = &b.isbn {
                read::live_book_by_isbn(tx, isbn)?.map(|b| b.id)
            } else {
                let title_key = title_key_of(&b.title, b.nonfiling, articles);
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
                let id = BookId(insert_book_with(tx, b, row.source.as_deref(), articles)?);
                self.sourced.insert(id);
                id
            };
            remember(&mut self.by_key, key, id);
            id
        };
        if let Some(source) = &row.source {
            if self.sourced.insert(book) {
                attach(tx, book, source)?;
            }
            if let Some(c) = &source.control {
                remember(&mut self.by_control, c.clone(), book);
            }
        }
        Ok(Ok(book))
    }
}

/// Brings book `found` = (id, version, its record) up to `book` and `source`: its fields
/// through the edit's own path, its record if it differs. Ok(whether anything changed), or
/// the outcome that refuses the whole import.
fn refresh<S: Session>(
    tx: &WriteTx<'_, S>,
    (id, version, marc): (i64, i64, Option<String>),
    book: &crate::model::ValidBook,
    source: &SourceRecord,
    articles: &[String],
) -> Result<Result<bool, Outcome>, DbError> {
    let same = read::book(tx, BookId(id))?.is_some_and(|c| {
        c.title == book.title
            && c.authors == book.authors
            && c.isbn == book.isbn
            && c.publisher == book.publisher
            && c.year == book.year
            && c.nonfiling == book.nonfiling
    });
    if !same {
        match update_book(tx, id, version, book, articles)? {
            Outcome::Saved { .. } => {}
            refused => return Ok(Err(refused)),
        }
    }
    let record_changed = marc.as_deref() != Some(source.marc.as_str());
    if record_changed {
        attach(tx, BookId(id), source)?;
    }
    Ok(Ok(!same || record_changed))
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
