//! Applies an import inside one savepoint of the writer's transaction: all rows or none.
//! Books are matched by ISBN (or, without one, by title and authors), copies by barcode,
//! collections by name (case-insensitively), placements by (copy, collection); only what is
//! missing is created.

use std::collections::HashMap;

use super::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
    title_key_of,
};
use super::{Q, Row, Session, params, read};
use crate::db::DbError;
use crate::model::{
    BookId, CollectionId, CopyId, Failure, FailureKind, Field, FieldError, ImportJob,
    ImportSummary, Outcome, ValidCopy, ValidPlacement,
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
    let paused = tx.pause_search()?;
    let mut books: HashMap<(String, String, Option<String>), BookId> = HashMap::new();
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
        let key = (b.title.clone(), b.authors.clone(), b.isbn.clone());
        let book = if let Some(id) = books.get(&key) {
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
