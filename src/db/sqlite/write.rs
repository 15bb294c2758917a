//! Writes. Every function takes a [`WriteTx`]: a connection inside an open `BEGIN IMMEDIATE`
//! transaction (the save executor makes them, one SAVEPOINT per save), with the moment the save
//! is stamped with.
//!
//! The result is `Ok(Outcome)` for every answer a user can act on (saved, invalid, conflict,
//! stale, deleted elsewhere, gone) and `Err` only for faults of the file or of SQLite. An
//! outcome other than `Saved` means the caller rolls its savepoint back.

use std::ops::Deref;

use rusqlite::{Connection, OptionalExtension, named_params};

use super::conflict::{Unique, holder, is_foreign_key_violation, is_unique_violation};
use super::read;
use crate::model::sortkey;
use crate::model::{
    BookId, CollectionDraft, CollectionId, CopyId, Draft, Field, FieldError, Kind, Op, Outcome,
    PlacementDraft, Record, RecordRef, RestoreChange, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement, normalize_barcode,
};

/// A connection inside an open IMMEDIATE transaction, and the time stamp of the current save.
#[derive(Debug)]
pub(crate) struct WriteTx<'c> {
    conn: &'c Connection,
    /// `now` as stored, formatted once.
    now_text: String,
}

impl<'c> WriteTx<'c> {
    /// Only the save executor (and the import, which owns its transaction) make these, right
    /// after `BEGIN IMMEDIATE` (and a `SAVEPOINT`) succeeded.
    pub(crate) fn new(conn: &'c Connection, now: Stamp) -> Self {
        debug_assert!(!conn.is_autocommit(), "a WriteTx needs an open transaction");
        WriteTx {
            conn,
            now_text: now.to_sql(),
        }
    }

    fn now_sql(&self) -> &str {
        &self.now_text
    }
}

impl Deref for WriteTx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// Applies one save.
pub(crate) fn apply(tx: &WriteTx<'_>, op: &Op) -> rusqlite::Result<Outcome> {
    match op {
        Op::Create(draft) => create(tx, draft),
        Op::Update {
            target,
            version,
            draft,
        } => {
            if draft.kind() != target.kind {
                return Ok(invalid(
                    Field::Title,
                    format!(
                        "cannot save a {} draft over a {}",
                        draft.kind().noun(),
                        target
                    ),
                ));
            }
            update(tx, *target, *version, draft)
        }
        Op::Delete { target, version } => soft_delete(tx, *target, *version),
        Op::Restore { target, version } => restore(tx, *target, *version),
        Op::RestoreAs {
            target,
            version,
            change,
        } => restore_as(tx, *target, *version, change),
        Op::Purge { target, version } => purge(tx, *target, *version),
        Op::PlaceBarcode {
            collection,
            barcode,
        } => place_barcode(tx, *collection, barcode),
        Op::Import(job) => super::import::apply(tx, job),
        Op::SetArticles(list) => set_articles(tx, list),
    }
}

fn invalid(field: Field, message: impl Into<String>) -> Outcome {
    Outcome::Invalid(vec![FieldError::new(field, message)])
}

/// Runs an INSERT or UPDATE that may hit the table's live-unique index; a violation becomes the
/// conflict naming the live holder.
fn guarded(
    tx: &WriteTx<'_>,
    unique: Option<&Unique<'_>>,
    write: impl FnOnce() -> rusqlite::Result<Outcome>,
) -> rusqlite::Result<Outcome> {
    match write() {
        Err(e) if is_unique_violation(&e) => {
            let conflict = match unique {
                Some(u) => holder(tx, u)?,
                None => None,
            };
            // A violation with no live holder cannot happen inside our transaction; if it
            // does, report the SQLite error rather than invent a conflict.
            conflict.map(Outcome::Conflict).ok_or(e)
        }
        Err(e) if is_foreign_key_violation(&e) => Ok(invalid(
            Field::Copy,
            "refers to a record that no longer exists",
        )),
        other => other,
    }
}

/// Why a parent cannot take a new or restored child, or `None` if it can.
fn parent_problem(tx: &WriteTx<'_>, parent: RecordRef) -> rusqlite::Result<Option<FieldError>> {
    // The common case, a live parent, costs one indexed lookup of one column.
    let live: Option<bool> = tx
        .prepare_cached(&format!(
            "SELECT deleted_at IS NULL FROM {} WHERE id = ?1",
            parent.kind.table()
        ))?
        .query_row([parent.id], |r| r.get(0))
        .optional()?;
    if live == Some(true) {
        return Ok(None);
    }
    let field = match parent.kind {
        Kind::Book => Field::Book,
        Kind::Copy => Field::Copy,
        Kind::Collection => Field::Collection,
        Kind::Placement => Field::Note,
    };
    Ok(match read::record(tx, parent)? {
        None => Some(FieldError::new(
            field,
            format!("this {} no longer exists", parent.kind.noun()),
        )),
        Some(rec) => Some(FieldError::new(
            field,
            format!("{} is in the Trash; restore it first", describe(tx, &rec)?),
        )),
    })
}

/// "the book “Dune”", "copy 0042", "the collection “Rare Books”".
fn describe(conn: &Connection, rec: &Record) -> rusqlite::Result<String> {
    Ok(match rec {
        Record::Book(b) => format!("the book “{}”", b.title),
        Record::Copy(c) => format!("copy {}", c.barcode),
        Record::Collection(c) => format!("the collection “{}”", c.name),
        Record::Placement(p) => {
            let copy = read::copy(conn, p.copy_id)?.map(|c| c.barcode);
            format!("the placement of copy {}", copy.unwrap_or_default())
        }
    })
}

fn parents(draft: &Draft) -> Vec<RecordRef> {
    match draft {
        Draft::Book(_) | Draft::Collection(_) => vec![],
        Draft::Copy(c) => vec![c.book_id.into()],
        Draft::Placement(p) => vec![p.copy_id.into(), p.collection_id.into()],
    }
}

fn check_parents(tx: &WriteTx<'_>, parents: &[RecordRef]) -> rusqlite::Result<Option<Outcome>> {
    let mut errors = Vec::new();
    for p in parents {
        errors.extend(parent_problem(tx, *p)?);
    }
    Ok((!errors.is_empty()).then_some(Outcome::Invalid(errors)))
}

fn saved(kind: Kind, id: i64, version: i64) -> Outcome {
    Outcome::Saved {
        record: RecordRef { kind, id },
        version,
    }
}

/// The words a title may start with that do not file, from the library's settings (English
/// "the, a, an" unless the library says otherwise).
pub(crate) fn articles(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = 'articles'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(match stored {
        Some(list) => parse_articles(&list),
        None => sortkey::DEFAULT_ARTICLES
            .iter()
            .map(|a| (*a).to_owned())
            .collect(),
    })
}

/// `"The, A, an ,Der"` becomes `the`, `a`, `an`, `der`.
pub(crate) fn parse_articles(list: &str) -> Vec<String> {
    list.split(',')
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect()
}

/// The key a book's title files under.
pub(crate) fn title_key_of(title: &str, nonfiling: Option<u8>, articles: &[String]) -> String {
    let articles: Vec<&str> = articles.iter().map(String::as_str).collect();
    let skip = nonfiling.unwrap_or_else(|| sortkey::default_nonfiling(title, &articles));
    sortkey::title_key(title, skip)
}

pub(crate) fn insert_book(tx: &WriteTx<'_>, v: &ValidBook) -> rusqlite::Result<i64> {
    insert_book_with(tx, v, &articles(tx)?)
}

/// [`insert_book`] with the library's articles already read (bulk loads read them once).
pub(crate) fn insert_book_with(
    tx: &WriteTx<'_>,
    v: &ValidBook,
    articles: &[String],
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO books (title, authors, isbn, publisher, year, nonfiling, title_key,
                            created_at, updated_at)
         VALUES (:title, :authors, :isbn, :publisher, :year, :nonfiling, :key, :now, :now)",
    )?
    .execute(named_params! {
        ":title": v.title, ":authors": v.authors, ":isbn": v.isbn,
        ":publisher": v.publisher, ":year": v.year, ":nonfiling": v.nonfiling,
        ":key": title_key_of(&v.title, v.nonfiling, articles), ":now": tx.now_sql(),
    })?;
    Ok(tx.last_insert_rowid())
}

/// Recomputes every book's title key (after the articles changed, or when a library is
/// upgraded to title keys).
pub(crate) fn refile_titles(conn: &Connection) -> rusqlite::Result<()> {
    let articles = articles(conn)?;
    let books: Vec<(i64, String, Option<u8>)> = conn
        .prepare("SELECT id, title, nonfiling FROM books")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = conn.prepare("UPDATE books SET title_key = ?2 WHERE id = ?1")?;
    for (id, title, nonfiling) in books {
        update.execute(rusqlite::params![
            id,
            title_key_of(&title, nonfiling, &articles)
        ])?;
    }
    Ok(())
}

/// Sets the library's articles and refiles the titles that depend on them.
fn set_articles(tx: &WriteTx<'_>, articles: &[String]) -> rusqlite::Result<Outcome> {
    let list: Vec<String> = articles
        .iter()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    tx.prepare_cached(
        "INSERT INTO settings (key, value) VALUES ('articles', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([list.join(", ")])?;
    refile_titles(tx)?;
    Ok(Outcome::Settings)
}

pub(crate) fn insert_copy(tx: &WriteTx<'_>, v: &ValidCopy) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO copies (book_id, barcode, created_at, updated_at)
         VALUES (:book, :barcode, :now, :now)",
    )?
    .execute(named_params! { ":book": v.book_id.0, ":barcode": v.barcode, ":now": tx.now_sql() })?;
    Ok(tx.last_insert_rowid())
}

pub(crate) fn insert_collection(tx: &WriteTx<'_>, v: &ValidCollection) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO collections (name, name_key, description, created_at, updated_at)
         VALUES (:name, :key, :description, :now, :now)",
    )?
    .execute(named_params! {
        ":name": v.name, ":key": v.name_key, ":description": v.description, ":now": tx.now_sql(),
    })?;
    Ok(tx.last_insert_rowid())
}

pub(crate) fn insert_placement(tx: &WriteTx<'_>, v: &ValidPlacement) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO placements (copy_id, collection_id, shelf_mark, note, created_at, updated_at)
         VALUES (:copy, :collection, :shelf_mark, :note, :now, :now)",
    )?
    .execute(named_params! {
        ":copy": v.copy_id.0, ":collection": v.collection_id.0,
        ":shelf_mark": v.shelf_mark, ":note": v.note, ":now": tx.now_sql(),
    })?;
    Ok(tx.last_insert_rowid())
}

fn create(tx: &WriteTx<'_>, draft: &Draft) -> rusqlite::Result<Outcome> {
    if let Some(problem) = check_parents(tx, &parents(draft))? {
        return Ok(problem);
    }
    /// Validate, insert, and map a live-unique violation to its conflict.
    macro_rules! insert {
        ($draft:expr, $insert:ident, $kind:expr) => {{
            let v = match $draft.validate() {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            };
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                Ok(saved($kind, $insert(tx, &v)?, 1))
            })
        }};
    }
    match draft {
        Draft::Book(d) => insert!(d, insert_book, Kind::Book),
        Draft::Copy(d) => insert!(d, insert_copy, Kind::Copy),
        Draft::Collection(d) => insert!(d, insert_collection, Kind::Collection),
        Draft::Placement(d) => insert!(d, insert_placement, Kind::Placement),
    }
}

/// Places the live copy with `barcode` in `collection`.
fn place_barcode(
    tx: &WriteTx<'_>,
    collection: CollectionId,
    barcode: &str,
) -> rusqlite::Result<Outcome> {
    let code = match normalize_barcode(barcode) {
        Ok(c) => c,
        Err(m) => return Ok(invalid(Field::Barcode, m)),
    };
    match read::live_copy_by_barcode(tx, &code)? {
        None => Ok(Outcome::UnknownBarcode(code)),
        Some(copy) => create(
            tx,
            &Draft::Placement(PlacementDraft {
                copy_id: copy.id,
                collection_id: collection,
                shelf_mark: String::new(),
                note: String::new(),
            }),
        ),
    }
}

/// After a versioned write changed no row: why not.
fn stale_or_gone(tx: &WriteTx<'_>, target: RecordRef) -> rusqlite::Result<Outcome> {
    Ok(match read::record(tx, target)? {
        None => Outcome::Gone(target),
        Some(rec) if !rec.meta().is_live() => Outcome::DeletedElsewhere(rec),
        Some(rec) => Outcome::Stale(rec),
    })
}

fn update(
    tx: &WriteTx<'_>,
    target: RecordRef,
    version: i64,
    draft: &Draft,
) -> rusqlite::Result<Outcome> {
    if let Some(problem) = check_parents(tx, &parents(draft))? {
        return Ok(problem);
    }
    let now = tx.now_sql();
    let id = target.id;
    let changed = |n: usize| -> rusqlite::Result<Outcome> {
        if n == 1 {
            Ok(saved(target.kind, id, version + 1))
        } else {
            stale_or_gone(tx, target)
        }
    };
    match draft {
        Draft::Book(d) => {
            let v = match d.validate() {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            };
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                let n = tx
                    .prepare_cached(
                        "UPDATE books SET title = :title, authors = :authors, isbn = :isbn,
                            publisher = :publisher, year = :year, nonfiling = :nonfiling,
                            title_key = :key, version = version + 1, updated_at = :now
                         WHERE id = :id AND version = :version AND deleted_at IS NULL",
                    )?
                    .execute(named_params! {
                        ":title": v.title, ":authors": v.authors, ":isbn": v.isbn,
                        ":publisher": v.publisher, ":year": v.year, ":nonfiling": v.nonfiling,
                        ":key": title_key_of(&v.title, v.nonfiling, &articles(tx)?),
                        ":now": now, ":id": id, ":version": version,
                    })?;
                changed(n)
            })
        }
        Draft::Copy(d) => {
            let v = match d.validate() {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            };
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                let n = tx
                    .prepare_cached(
                        "UPDATE copies SET book_id = :book, barcode = :barcode,
                            version = version + 1, updated_at = :now
                         WHERE id = :id AND version = :version AND deleted_at IS NULL",
                    )?
                    .execute(named_params! {
                        ":book": v.book_id.0, ":barcode": v.barcode, ":now": now,
                        ":id": id, ":version": version,
                    })?;
                changed(n)
            })
        }
        Draft::Collection(d) => {
            let v = match d.validate() {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            };
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                let n = tx
                    .prepare_cached(
                        "UPDATE collections SET name = :name, name_key = :key,
                            description = :description, version = version + 1, updated_at = :now
                         WHERE id = :id AND version = :version AND deleted_at IS NULL",
                    )?
                    .execute(named_params! {
                        ":name": v.name, ":key": v.name_key, ":description": v.description,
                        ":now": now, ":id": id, ":version": version,
                    })?;
                changed(n)
            })
        }
        Draft::Placement(d) => {
            let v = match d.validate() {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            };
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                let n = tx
                    .prepare_cached(
                        "UPDATE placements SET copy_id = :copy, collection_id = :collection,
                            shelf_mark = :shelf_mark, note = :note,
                            version = version + 1, updated_at = :now
                         WHERE id = :id AND version = :version AND deleted_at IS NULL",
                    )?
                    .execute(named_params! {
                        ":copy": v.copy_id.0, ":collection": v.collection_id.0,
                        ":shelf_mark": v.shelf_mark, ":note": v.note, ":now": now,
                        ":id": id, ":version": version,
                    })?;
                changed(n)
            })
        }
    }
}

/// Moves a record to the Trash, and its live children with it (stamped with the same moment,
/// so that restoring the record brings back exactly those).
fn soft_delete(tx: &WriteTx<'_>, target: RecordRef, version: i64) -> rusqlite::Result<Outcome> {
    let now = tx.now_sql();
    let table = target.kind.table();
    let n = tx
        .prepare_cached(&format!(
            "UPDATE {table} SET deleted_at = :now, updated_at = :now, version = version + 1
             WHERE id = :id AND version = :version AND deleted_at IS NULL"
        ))?
        .execute(named_params! { ":now": now, ":id": target.id, ":version": version })?;
    if n == 0 {
        return stale_or_gone(tx, target);
    }
    let trash = "SET deleted_at = :now, updated_at = :now, version = version + 1";
    let cascade: &[&str] = match target.kind {
        Kind::Book => &[
            "UPDATE copies {trash} WHERE book_id = :id AND deleted_at IS NULL",
            "UPDATE placements {trash} WHERE deleted_at IS NULL AND copy_id IN
                (SELECT id FROM copies WHERE book_id = :id AND deleted_at = :now)",
        ],
        Kind::Copy => &["UPDATE placements {trash} WHERE copy_id = :id AND deleted_at IS NULL"],
        Kind::Collection => {
            &["UPDATE placements {trash} WHERE collection_id = :id AND deleted_at IS NULL"]
        }
        Kind::Placement => &[],
    };
    for sql in cascade {
        tx.prepare_cached(&sql.replace("{trash}", trash))?
            .execute(named_params! { ":now": now, ":id": target.id })?;
    }
    Ok(saved(target.kind, target.id, version + 1))
}

/// Brings a record back from the Trash, with the children that went with it (unless another
/// parent of theirs is still in the Trash). If any of them would duplicate a live value, the
/// whole restore is a conflict and nothing changes.
fn restore(tx: &WriteTx<'_>, target: RecordRef, version: i64) -> rusqlite::Result<Outcome> {
    let Some(rec) = read::record(tx, target)? else {
        return Ok(Outcome::Gone(target));
    };
    let Some(deleted_at) = rec.meta().deleted_at else {
        return Ok(Outcome::Stale(rec)); // restored elsewhere meanwhile
    };
    if rec.meta().version != version {
        return Ok(Outcome::Stale(rec));
    }
    let record_parents: Vec<RecordRef> = match &rec {
        Record::Book(_) | Record::Collection(_) => vec![],
        Record::Copy(c) => vec![c.book_id.into()],
        Record::Placement(p) => vec![p.copy_id.into(), p.collection_id.into()],
    };
    if let Some(problem) = check_parents(tx, &record_parents)? {
        return Ok(problem);
    }
    let deleted = deleted_at.to_sql();
    // Rows to bring back, parent first: (kind, id).
    let mut rows: Vec<RecordRef> = vec![target];
    let ids = |sql: &str| -> rusqlite::Result<Vec<i64>> {
        tx.prepare_cached(sql)?
            .query_map(
                named_params! { ":id": target.id, ":deleted": deleted },
                |r| r.get(0),
            )?
            .collect()
    };
    match target.kind {
        Kind::Book => {
            let copies =
                ids("SELECT id FROM copies WHERE book_id = :id AND deleted_at = :deleted")?;
            for copy in &copies {
                rows.push(CopyId(*copy).into());
            }
            let placements = ids("SELECT p.id FROM placements p
                 JOIN copies c ON c.id = p.copy_id
                 JOIN collections k ON k.id = p.collection_id
                 WHERE c.book_id = :id AND c.deleted_at = :deleted AND p.deleted_at = :deleted
                   AND k.deleted_at IS NULL")?;
            rows.extend(placements.into_iter().map(|id| RecordRef {
                kind: Kind::Placement,
                id,
            }));
        }
        Kind::Copy => {
            let placements = ids(
                "SELECT p.id FROM placements p JOIN collections k ON k.id = p.collection_id
                 WHERE p.copy_id = :id AND p.deleted_at = :deleted AND k.deleted_at IS NULL",
            )?;
            rows.extend(placements.into_iter().map(|id| RecordRef {
                kind: Kind::Placement,
                id,
            }));
        }
        Kind::Collection => {
            let placements = ids(
                "SELECT p.id FROM placements p JOIN copies c ON c.id = p.copy_id
                 WHERE p.collection_id = :id AND p.deleted_at = :deleted AND c.deleted_at IS NULL",
            )?;
            rows.extend(placements.into_iter().map(|id| RecordRef {
                kind: Kind::Placement,
                id,
            }));
        }
        Kind::Placement => {}
    }
    let now = tx.now_sql();
    for row in rows {
        let unique = unique_of(tx, row)?;
        let outcome = guarded(
            tx,
            unique.as_ref().map(OwnedUnique::borrowed).as_ref(),
            || {
                tx.prepare_cached(&format!(
                    "UPDATE {} SET deleted_at = NULL, updated_at = :now, version = version + 1
                 WHERE id = :id",
                    row.kind.table()
                ))?
                .execute(named_params! { ":now": now, ":id": row.id })?;
                Ok(saved(row.kind, row.id, 0))
            },
        )?;
        if !outcome.is_saved() {
            return Ok(outcome);
        }
    }
    Ok(saved(target.kind, target.id, version + 1))
}

/// Restores a record from the Trash, changed first so it no longer takes a live value.
fn restore_as(
    tx: &WriteTx<'_>,
    target: RecordRef,
    version: i64,
    change: &RestoreChange,
) -> rusqlite::Result<Outcome> {
    let now = tx.now_sql();
    // The change, on the row as it is in the Trash, version-checked like any edit.
    let changed = |sql: &str, value: Option<&str>| -> rusqlite::Result<usize> {
        tx.prepare_cached(sql)?.execute(named_params! {
            ":value": value, ":now": now, ":id": target.id, ":version": version,
        })
    };
    let in_trash = "AND version = :version AND deleted_at IS NOT NULL";
    let n = match (target.kind, change) {
        (Kind::Collection, RestoreChange::Rename(name)) => {
            let v = match (CollectionDraft {
                name: name.clone(),
                description: String::new(),
            })
            .validate()
            {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            };
            tx.prepare_cached(&format!(
                "UPDATE collections SET name = :name, name_key = :key, version = version + 1,
                    updated_at = :now WHERE id = :id {in_trash}"
            ))?
            .execute(named_params! {
                ":name": v.name, ":key": v.name_key, ":now": now, ":id": target.id,
                ":version": version,
            })?
        }
        (Kind::Copy, RestoreChange::Rebarcode(code)) => {
            let code = match normalize_barcode(code) {
                Ok(c) => c,
                Err(m) => return Ok(invalid(Field::Barcode, m)),
            };
            changed(
                &format!(
                    "UPDATE copies SET barcode = :value, version = version + 1,
                        updated_at = :now WHERE id = :id {in_trash}"
                ),
                Some(&code),
            )?
        }
        (Kind::Book, RestoreChange::WithoutIsbn) => changed(
            &format!(
                "UPDATE books SET isbn = :value, version = version + 1, updated_at = :now
                 WHERE id = :id {in_trash}"
            ),
            None,
        )?,
        (Kind::Book, RestoreChange::MergeInto(holder)) => {
            return merge_into(tx, target, version, *holder);
        }
        _ => {
            return Ok(invalid(
                Field::Title,
                format!("a {} cannot be restored that way", target.kind.noun()),
            ));
        }
    };
    if n == 0 {
        return Ok(match read::record(tx, target)? {
            None => Outcome::Gone(target),
            Some(rec) => Outcome::Stale(rec),
        });
    }
    restore(tx, target, version + 1)
}

/// Brings back the copies that went to the Trash with a book, as copies of `holder` (the live
/// book with its ISBN), with their placements. The book's own record stays in the Trash.
fn merge_into(
    tx: &WriteTx<'_>,
    target: RecordRef,
    version: i64,
    holder: BookId,
) -> rusqlite::Result<Outcome> {
    let Some(rec) = read::record(tx, target)? else {
        return Ok(Outcome::Gone(target));
    };
    let Some(deleted_at) = rec.meta().deleted_at else {
        return Ok(Outcome::Stale(rec));
    };
    if rec.meta().version != version {
        return Ok(Outcome::Stale(rec));
    }
    if let Some(problem) = check_parents(tx, &[holder.into()])? {
        return Ok(problem);
    }
    let copies: Vec<(i64, i64)> = tx
        .prepare_cached(
            "SELECT id, version FROM copies WHERE book_id = :book AND deleted_at = :deleted",
        )?
        .query_map(
            named_params! { ":book": target.id, ":deleted": deleted_at.to_sql() },
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<Result<_, _>>()?;
    for (copy, copy_version) in copies {
        tx.prepare_cached(
            "UPDATE copies SET book_id = :holder, version = version + 1, updated_at = :now
             WHERE id = :id",
        )?
        .execute(named_params! { ":holder": holder.0, ":now": tx.now_sql(), ":id": copy })?;
        let outcome = restore(tx, CopyId(copy).into(), copy_version + 1)?;
        if !outcome.is_saved() {
            return Ok(outcome);
        }
    }
    Ok(saved(Kind::Book, holder.0, version))
}

/// The unique value a stored row competes for, owned (read from the row).
enum OwnedUnique {
    Isbn(String),
    Barcode(String),
    NameKey(String),
    CopyInCollection(CopyId, CollectionId),
}

impl OwnedUnique {
    fn borrowed(&self) -> Unique<'_> {
        match self {
            OwnedUnique::Isbn(s) => Unique::Isbn(s),
            OwnedUnique::Barcode(s) => Unique::Barcode(s),
            OwnedUnique::NameKey(s) => Unique::NameKey(s),
            OwnedUnique::CopyInCollection(c, k) => Unique::CopyInCollection(*c, *k),
        }
    }
}

fn unique_of(tx: &WriteTx<'_>, row: RecordRef) -> rusqlite::Result<Option<OwnedUnique>> {
    let one = |sql: &str| -> rusqlite::Result<(Option<String>, i64, i64)> {
        tx.prepare_cached(sql)?
            .query_row([row.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    };
    Ok(match row.kind {
        Kind::Book => one("SELECT isbn, 0, 0 FROM books WHERE id = ?1")?
            .0
            .map(OwnedUnique::Isbn),
        Kind::Copy => one("SELECT barcode, 0, 0 FROM copies WHERE id = ?1")?
            .0
            .map(OwnedUnique::Barcode),
        Kind::Collection => one("SELECT name_key, 0, 0 FROM collections WHERE id = ?1")?
            .0
            .map(OwnedUnique::NameKey),
        Kind::Placement => {
            let (_, copy, collection) =
                one("SELECT NULL, copy_id, collection_id FROM placements WHERE id = ?1")?;
            Some(OwnedUnique::CopyInCollection(
                CopyId(copy),
                CollectionId(collection),
            ))
        }
    })
}

/// Deletes a record for good; only from the Trash. Its rows in the Trash go with it (foreign
/// keys cascade).
fn purge(tx: &WriteTx<'_>, target: RecordRef, version: i64) -> rusqlite::Result<Outcome> {
    let n = tx
        .prepare_cached(&format!(
            "DELETE FROM {} WHERE id = :id AND version = :version AND deleted_at IS NOT NULL",
            target.kind.table()
        ))?
        .execute(named_params! { ":id": target.id, ":version": version })?;
    if n == 0 {
        return Ok(match read::record(tx, target)? {
            None => Outcome::Gone(target),
            Some(rec) => Outcome::Stale(rec),
        });
    }
    Ok(saved(target.kind, target.id, version))
}
