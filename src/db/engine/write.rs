//! Saves. Every function takes a [`WriteTx`]: a session inside an open write transaction that
//! holds the library's write lock (the save executor makes them, one SAVEPOINT per save), with
//! the moment the save is stamped with and the workstation it comes from.
//!
//! The result is `Ok(Outcome)` for every answer a user can act on (saved, invalid, conflict,
//! stale, deleted elsewhere, gone) and `Err` only for faults of the storage. An outcome other
//! than `Saved` means the caller rolls its savepoint back.

use super::conflict::{Unique, holder};
use super::{Dialect, Param, Q, Row, Session, Stmt, params, read};
use crate::db::{DbError, Violation};
use crate::model::sortkey;
use crate::model::{
    BookId, CollectionDraft, CollectionId, CopyId, Draft, Field, FieldError, Kind, Op, Outcome,
    PlacementDraft, Record, RecordRef, RestoreChange, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement, normalize_barcode,
};

/// A session inside an open write transaction, with the stamp and the workstation of the
/// current save.
#[derive(Debug)]
pub(crate) struct WriteTx<'s, S> {
    s: &'s S,
    pub now: Stamp,
    pub by: &'s str,
}

impl<'s, S: Session> WriteTx<'s, S> {
    /// Only the save executor (and bulk loads, which own their transaction) make these, right
    /// after the write transaction (and a `SAVEPOINT`) began.
    pub(crate) fn new(s: &'s S, now: Stamp, by: &'s str) -> Self {
        WriteTx { s, now, by }
    }
}

impl<S: Session> Session for WriteTx<'_, S> {
    fn each(
        &self,
        stmt: Stmt,
        params: &[Param<'_>],
        row: &mut dyn FnMut(&dyn Row) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        self.s.each(stmt, params, row)
    }
    fn execute(&self, stmt: Stmt, params: &[Param<'_>]) -> Result<u64, DbError> {
        self.s.execute(stmt, params)
    }
    fn recover(&self) -> Result<(), DbError> {
        self.s.recover()
    }
    fn dialect(&self) -> Dialect {
        self.s.dialect()
    }
    fn pause_search(&self, rows: u64) -> Result<super::Paused, DbError> {
        self.s.pause_search(rows)
    }
    fn reindex_books(&self, ids: &[i64]) -> Result<(), DbError> {
        self.s.reindex_books(ids)
    }
    fn resume_search(&self, paused: super::Paused) -> Result<(), DbError> {
        self.s.resume_search(paused)
    }
    fn copy_in(
        &self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<super::copy::Cell>],
    ) -> Result<bool, DbError> {
        self.s.copy_in(table, columns, rows)
    }
    fn staged_import(
        &self,
        job: &crate::model::ImportJob,
        now: Stamp,
        by: &str,
        articles: &[String],
    ) -> Result<Option<Outcome>, DbError> {
        self.s.staged_import(job, now, by, articles)
    }
}

/// Applies one save.
pub(crate) fn apply<S: Session>(tx: &WriteTx<'_, S>, op: &Op) -> Result<Outcome, DbError> {
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
fn guarded<S: Session>(
    tx: &WriteTx<'_, S>,
    unique: Option<&Unique<'_>>,
    write: impl FnOnce() -> Result<Outcome, DbError>,
) -> Result<Outcome, DbError> {
    match write() {
        Err(e) => match e.violation() {
            Some(Violation::Unique(index)) => {
                tx.recover()?;
                // A violation of another index, or with no live holder, cannot happen inside
                // our transaction; if it does, report the error rather than invent a conflict.
                let Some(u) = unique.filter(|u| index.is_none_or(|i| i == u.index())) else {
                    return Err(e);
                };
                holder(tx, u)?.map(Outcome::Conflict).ok_or(e)
            }
            Some(Violation::ForeignKey) => {
                tx.recover()?;
                Ok(invalid(
                    Field::Copy,
                    "refers to a record that no longer exists",
                ))
            }
            None => Err(e),
        },
        other => other,
    }
}

/// Why a parent cannot take a new or restored child, or `None` if it can.
fn parent_problem<S: Session>(
    tx: &WriteTx<'_, S>,
    parent: RecordRef,
) -> Result<Option<FieldError>, DbError> {
    // The common case, a live parent, costs one indexed lookup of one column.
    let live = tx.one(
        Q::IsLive.on(parent.kind),
        params!(id: parent.id),
        |r: &dyn Row| r.bool(0),
    )?;
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
fn describe<S: Session>(s: &S, rec: &Record) -> Result<String, DbError> {
    Ok(match rec {
        Record::Book(b) => format!("the book “{}”", b.title),
        Record::Copy(c) => format!("copy {}", c.barcode),
        Record::Collection(c) => format!("the collection “{}”", c.name),
        Record::Placement(p) => {
            let copy = read::copy(s, p.copy_id)?.map(|c| c.barcode);
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

fn check_parents<S: Session>(
    tx: &WriteTx<'_, S>,
    parents: &[RecordRef],
) -> Result<Option<Outcome>, DbError> {
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
pub(crate) fn articles<S: Session>(s: &S) -> Result<Vec<String>, DbError> {
    let stored = s.one(Q::GetSetting, params!(key: "articles"), |r: &dyn Row| {
        r.string(0)
    })?;
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

/// The words a book is found by: its title, authors, ISBN and publisher, folded (PostgreSQL's
/// search column; the file's FTS index folds them itself).
pub(crate) fn book_words(title: &str, authors: &str, isbn: &str, publisher: &str) -> String {
    sortkey::search_words(&[title, authors, isbn, publisher])
}

/// [`book_words`] of a book, where the backend stores them.
fn search_words<S: Session>(s: &S, v: &ValidBook) -> Option<String> {
    (s.dialect() == Dialect::Postgres).then(|| {
        book_words(
            &v.title,
            &v.authors,
            v.isbn.as_deref().unwrap_or(""),
            &v.publisher,
        )
    })
}

pub(crate) fn insert_book<S: Session>(tx: &WriteTx<'_, S>, v: &ValidBook) -> Result<i64, DbError> {
    insert_book_with(tx, v, None, &articles(tx)?)
}

/// [`insert_book`] with the book's source record, if it has one, and the library's articles
/// already read (bulk loads read them once).
pub(crate) fn insert_book_with<S: Session>(
    tx: &WriteTx<'_, S>,
    v: &ValidBook,
    source: Option<&crate::model::SourceRecord>,
    articles: &[String],
) -> Result<i64, DbError> {
    let key = title_key_of(&v.title, v.nonfiling, articles);
    let search = search_words(tx, v);
    let control = source.and_then(|s| s.control.as_deref());
    let marc = source.map(|s| s.marc.as_str());
    tx.value(
        Q::InsertBook,
        params!(
            title: &v.title, authors: &v.authors, isbn: &v.isbn, publisher: &v.publisher,
            year: v.year, nonfiling: v.nonfiling, title_key: &key, search: &search,
            control: control, marc: marc, now: tx.now, by: tx.by,
        ),
        |r: &dyn Row| r.i64(0),
    )
}

/// Recomputes every book's title key (after the articles changed, or when a library is
/// upgraded to title keys).
pub(crate) fn refile_titles<S: Session>(s: &S) -> Result<(), DbError> {
    let articles = articles(s)?;
    let books = s.all(Q::TitlesToRefile, &[], |r: &dyn Row| {
        Ok((
            r.i64(0)?,
            r.string(1)?,
            r.opt_i64(2)?.and_then(|n| u8::try_from(n).ok()),
        ))
    })?;
    for (id, title, nonfiling) in books {
        let key = title_key_of(&title, nonfiling, &articles);
        s.run(Q::SetTitleKey, params!(id: id, title_key: &key))?;
    }
    Ok(())
}

/// Recomputes every placement's shelf key (when a library is upgraded to shelf keys).
pub(crate) fn refile_shelf_marks<S: Session>(s: &S) -> Result<(), DbError> {
    let rows = s.all(Q::ShelfMarksToRefile, &[], |r: &dyn Row| {
        Ok((r.i64(0)?, r.string(1)?))
    })?;
    for (id, shelf_mark) in rows {
        let key = sortkey::call_number_key(&shelf_mark);
        s.run(Q::SetShelfKey, params!(id: id, shelf_key: &key))?;
    }
    Ok(())
}

/// Sets the library's articles and refiles the titles that depend on them.
fn set_articles<S: Session>(tx: &WriteTx<'_, S>, articles: &[String]) -> Result<Outcome, DbError> {
    let list: Vec<String> = articles
        .iter()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    let value = list.join(", ");
    tx.run(Q::PutSetting, params!(key: "articles", value: &value))?;
    refile_titles(tx)?;
    Ok(Outcome::Settings)
}

pub(crate) fn insert_copy<S: Session>(tx: &WriteTx<'_, S>, v: &ValidCopy) -> Result<i64, DbError> {
    tx.value(
        Q::InsertCopy,
        params!(book: v.book_id.0, barcode: &v.barcode, now: tx.now, by: tx.by),
        |r: &dyn Row| r.i64(0),
    )
}

pub(crate) fn insert_collection<S: Session>(
    tx: &WriteTx<'_, S>,
    v: &ValidCollection,
) -> Result<i64, DbError> {
    tx.value(
        Q::InsertCollection,
        params!(
            name: &v.name, name_key: &v.name_key, description: &v.description,
            now: tx.now, by: tx.by,
        ),
        |r: &dyn Row| r.i64(0),
    )
}

pub(crate) fn insert_placement<S: Session>(
    tx: &WriteTx<'_, S>,
    v: &ValidPlacement,
) -> Result<i64, DbError> {
    let key = sortkey::call_number_key(&v.shelf_mark);
    tx.value(
        Q::InsertPlacement,
        params!(
            copy: v.copy_id.0, collection: v.collection_id.0, shelf_mark: &v.shelf_mark,
            shelf_key: &key, note: &v.note, now: tx.now, by: tx.by,
        ),
        |r: &dyn Row| r.i64(0),
    )
}

fn create<S: Session>(tx: &WriteTx<'_, S>, draft: &Draft) -> Result<Outcome, DbError> {
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
fn place_barcode<S: Session>(
    tx: &WriteTx<'_, S>,
    collection: CollectionId,
    barcode: &str,
) -> Result<Outcome, DbError> {
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
fn stale_or_gone<S: Session>(tx: &WriteTx<'_, S>, target: RecordRef) -> Result<Outcome, DbError> {
    Ok(match read::record(tx, target)? {
        None => Outcome::Gone(target),
        Some(rec) if !rec.meta().is_live() => Outcome::DeletedElsewhere(rec),
        Some(rec) => Outcome::Stale(rec),
    })
}

/// Saves `v` over book `id` at `version` (the edit's path, also taken by an import that finds
/// a book by its source record's control number).
pub(crate) fn update_book<S: Session>(
    tx: &WriteTx<'_, S>,
    id: i64,
    version: i64,
    v: &ValidBook,
    articles: &[String],
) -> Result<Outcome, DbError> {
    let key = title_key_of(&v.title, v.nonfiling, articles);
    let search = search_words(tx, v);
    let (now, by) = (tx.now, tx.by);
    guarded(tx, Option::<Unique<'_>>::from(v).as_ref(), || {
        let n = tx.run(
            Q::UpdateBook,
            params!(
                title: &v.title, authors: &v.authors, isbn: &v.isbn,
                publisher: &v.publisher, year: v.year, nonfiling: v.nonfiling,
                title_key: &key, search: &search, now: now, by: by,
                id: id, version: version,
            ),
        )?;
        if n == 1 {
            Ok(saved(Kind::Book, id, version + 1))
        } else {
            stale_or_gone(
                tx,
                RecordRef {
                    kind: Kind::Book,
                    id,
                },
            )
        }
    })
}

fn update<S: Session>(
    tx: &WriteTx<'_, S>,
    target: RecordRef,
    version: i64,
    draft: &Draft,
) -> Result<Outcome, DbError> {
    if let Some(problem) = check_parents(tx, &parents(draft))? {
        return Ok(problem);
    }
    let (id, now, by) = (target.id, tx.now, tx.by);
    let changed = |n: u64| -> Result<Outcome, DbError> {
        if n == 1 {
            Ok(saved(target.kind, id, version + 1))
        } else {
            stale_or_gone(tx, target)
        }
    };
    /// The validated draft, or the outcome that says why it is not valid.
    macro_rules! valid {
        ($draft:expr) => {
            match $draft.validate() {
                Ok(v) => v,
                Err(e) => return Ok(Outcome::Invalid(e)),
            }
        };
    }
    match draft {
        Draft::Book(d) => update_book(tx, id, version, &valid!(d), &articles(tx)?),
        Draft::Copy(d) => {
            let v = valid!(d);
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                changed(tx.run(
                    Q::UpdateCopy,
                    params!(
                        book: v.book_id.0, barcode: &v.barcode, now: now, by: by,
                        id: id, version: version,
                    ),
                )?)
            })
        }
        Draft::Collection(d) => {
            let v = valid!(d);
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                changed(tx.run(
                    Q::UpdateCollection,
                    params!(
                        name: &v.name, name_key: &v.name_key, description: &v.description,
                        now: now, by: by, id: id, version: version,
                    ),
                )?)
            })
        }
        Draft::Placement(d) => {
            let v = valid!(d);
            let key = sortkey::call_number_key(&v.shelf_mark);
            guarded(tx, Option::<Unique<'_>>::from(&v).as_ref(), || {
                changed(tx.run(
                    Q::UpdatePlacement,
                    params!(
                        copy: v.copy_id.0, collection: v.collection_id.0,
                        shelf_mark: &v.shelf_mark, shelf_key: &key, note: &v.note,
                        now: now, by: by, id: id, version: version,
                    ),
                )?)
            })
        }
    }
}

/// Moves a record to the Trash, and its live children with it (stamped with the same moment,
/// so that restoring the record brings back exactly those).
fn soft_delete<S: Session>(
    tx: &WriteTx<'_, S>,
    target: RecordRef,
    version: i64,
) -> Result<Outcome, DbError> {
    let (now, by, id) = (tx.now, tx.by, target.id);
    let n = tx.run(
        Q::SoftDelete.on(target.kind),
        params!(now: now, by: by, id: id, version: version),
    )?;
    if n == 0 {
        return stale_or_gone(tx, target);
    }
    let cascade: &[Q] = match target.kind {
        Kind::Book => &[Q::TrashCopiesOfBook, Q::TrashPlacementsOfTrashedCopies],
        Kind::Copy => &[Q::TrashPlacementsOfCopy],
        Kind::Collection => &[Q::TrashPlacementsOfCollection],
        Kind::Placement => &[],
    };
    for q in cascade {
        tx.run(*q, params!(now: now, by: by, id: id))?;
    }
    Ok(saved(target.kind, target.id, version + 1))
}

/// Brings a record back from the Trash, with the children that went with it (unless another
/// parent of theirs is still in the Trash). If any of them would duplicate a live value, the
/// whole restore is a conflict and nothing changes.
fn restore<S: Session>(
    tx: &WriteTx<'_, S>,
    target: RecordRef,
    version: i64,
) -> Result<Outcome, DbError> {
    let Some(rec) = read::record(tx, target)? else {
        return Ok(Outcome::Gone(target));
    };
    let Some(deleted) = rec.meta().deleted_at else {
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
    // Rows to bring back, parent first.
    let mut rows: Vec<RecordRef> = vec![target];
    let ids = |q: Q| -> Result<Vec<i64>, DbError> {
        tx.all(
            q,
            params!(id: target.id, deleted: deleted),
            |r: &dyn Row| r.i64(0),
        )
    };
    let placements = |q: Q| -> Result<Vec<RecordRef>, DbError> {
        Ok(ids(q)?
            .into_iter()
            .map(|id| RecordRef {
                kind: Kind::Placement,
                id,
            })
            .collect())
    };
    match target.kind {
        Kind::Book => {
            rows.extend(
                ids(Q::CopiesTrashedWithBook)?
                    .into_iter()
                    .map(|c| RecordRef::from(CopyId(c))),
            );
            rows.extend(placements(Q::PlacementsTrashedWithBook)?);
        }
        Kind::Copy => rows.extend(placements(Q::PlacementsTrashedWithCopy)?),
        Kind::Collection => rows.extend(placements(Q::PlacementsTrashedWithCollection)?),
        Kind::Placement => {}
    }
    let (now, by) = (tx.now, tx.by);
    for row in rows {
        let unique = unique_of(tx, row)?;
        let outcome = guarded(
            tx,
            unique.as_ref().map(OwnedUnique::borrowed).as_ref(),
            || {
                tx.run(
                    Q::Untrash.on(row.kind),
                    params!(now: now, by: by, id: row.id),
                )?;
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
fn restore_as<S: Session>(
    tx: &WriteTx<'_, S>,
    target: RecordRef,
    version: i64,
    change: &RestoreChange,
) -> Result<Outcome, DbError> {
    let (now, by, id) = (tx.now, tx.by, target.id);
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
            tx.run(
                Q::RenameTrashedCollection,
                params!(
                    name: &v.name, name_key: &v.name_key, now: now, by: by,
                    id: id, version: version,
                ),
            )?
        }
        (Kind::Copy, RestoreChange::Rebarcode(code)) => {
            let code = match normalize_barcode(code) {
                Ok(c) => c,
                Err(m) => return Ok(invalid(Field::Barcode, m)),
            };
            tx.run(
                Q::RebarcodeTrashedCopy,
                params!(barcode: &code, now: now, by: by, id: id, version: version),
            )?
        }
        (Kind::Book, RestoreChange::WithoutIsbn) => tx.run(
            Q::DropIsbnOfTrashedBook,
            params!(now: now, by: by, id: id, version: version),
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
fn merge_into<S: Session>(
    tx: &WriteTx<'_, S>,
    target: RecordRef,
    version: i64,
    holder: BookId,
) -> Result<Outcome, DbError> {
    let Some(rec) = read::record(tx, target)? else {
        return Ok(Outcome::Gone(target));
    };
    let Some(deleted) = rec.meta().deleted_at else {
        return Ok(Outcome::Stale(rec));
    };
    if rec.meta().version != version {
        return Ok(Outcome::Stale(rec));
    }
    if let Some(problem) = check_parents(tx, &[holder.into()])? {
        return Ok(problem);
    }
    let copies = tx.all(
        Q::CopiesTrashedWithBook,
        params!(id: target.id, deleted: deleted),
        |r: &dyn Row| Ok((r.i64(0)?, r.i64(1)?)),
    )?;
    for (copy, copy_version) in copies {
        tx.run(
            Q::MoveCopyToBook,
            params!(holder: holder.0, now: tx.now, by: tx.by, id: copy),
        )?;
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

fn unique_of<S: Session>(s: &S, row: RecordRef) -> Result<Option<OwnedUnique>, DbError> {
    let text = |q: Q| -> Result<Option<String>, DbError> {
        Ok(
            s.one(q, params!(id: row.id), |r: &dyn Row| r.opt_string(0))?
                .flatten(),
        )
    };
    Ok(match row.kind {
        Kind::Book => text(Q::IsbnOfBook)?.map(OwnedUnique::Isbn),
        Kind::Copy => text(Q::BarcodeOfCopy)?.map(OwnedUnique::Barcode),
        Kind::Collection => text(Q::NameKeyOfCollection)?.map(OwnedUnique::NameKey),
        Kind::Placement => s.one(Q::PairOfPlacement, params!(id: row.id), |r: &dyn Row| {
            Ok(OwnedUnique::CopyInCollection(
                CopyId(r.i64(0)?),
                CollectionId(r.i64(1)?),
            ))
        })?,
    })
}

/// Deletes a record for good; only from the Trash. Its rows in the Trash go with it (foreign
/// keys cascade).
fn purge<S: Session>(
    tx: &WriteTx<'_, S>,
    target: RecordRef,
    version: i64,
) -> Result<Outcome, DbError> {
    let n = tx.run(
        Q::Purge.on(target.kind),
        params!(id: target.id, version: version),
    )?;
    if n == 0 {
        return Ok(match read::record(tx, target)? {
            None => Outcome::Gone(target),
            Some(rec) => Outcome::Stale(rec),
        });
    }
    Ok(saved(target.kind, target.id, version))
}
