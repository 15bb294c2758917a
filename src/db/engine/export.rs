//! Streams live books, copies and placements out of a library, one row per placement (and one
//! per book or copy that has none), by book, copy and placement (a collection's: in the order
//! its placements were added), in one statement so the export is one consistent moment.

use super::{Q, Row, Session, Stmt, params};
use crate::db::{DbError, ExportError};
use crate::model::{BookId, CollectionId, ExportRow, RecordRow};

/// Reads a column of a row into an optional text, reusing its buffer.
type ReadInto<'a> = &'a dyn Fn(&dyn Row, &mut Option<String>) -> Result<(), DbError>;

/// Reads an export row into `row`, reusing its buffers (an export reads millions). Column 6,
/// the placement's collection, is read by `collection`.
fn export_row(r: &dyn Row, row: &mut ExportRow, collection: ReadInto<'_>) -> Result<(), DbError> {
    r.text_into(0, &mut row.title)?;
    r.text_into(1, &mut row.authors)?;
    optional(r, 2, &mut row.isbn)?;
    r.text_into(3, &mut row.publisher)?;
    row.year = r
        .opt_i64(4)?
        .map(|y| i32::try_from(y).map_err(|_| DbError::Data(format!("year {y}"))))
        .transpose()?;
    optional(r, 5, &mut row.barcode)?;
    collection(r, &mut row.collection)?;
    optional(r, 7, &mut row.shelf_mark)?;
    optional(r, 8, &mut row.note)
}

/// The names of the collections a file's export meets, each read once. The file's export
/// queries give a placement's collection by id (column 6): joining the collections table was a
/// seek per row, 0.65–1.05 s of the 8.5–8.9 s SQLite takes to step through a 10M library. The
/// name is read by a second statement on the export's own connection, which reads the same
/// snapshot while the export's statement is being stepped. (A server's connection serves one
/// statement at a time: its queries keep the join and give the name.)
struct CollectionNames<'s, S> {
    session: &'s S,
    names: std::cell::RefCell<std::collections::HashMap<i64, String>>,
}

impl<S: Session> CollectionNames<'_, S> {
    /// Column 6 of `r` (a collection's id, or NULL) as its name, into `slot`.
    fn read(&self, r: &dyn Row, slot: &mut Option<String>) -> Result<(), DbError> {
        let Some(id) = r.opt_i64(6)? else {
            *slot = None;
            return Ok(());
        };
        let mut names = self.names.borrow_mut();
        let name = match names.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let collection = super::read::collection(self.session, CollectionId(id))?
                    .ok_or_else(|| DbError::Data(format!("no collection {id}")))?;
                e.insert(collection.name)
            }
        };
        let mut text = slot.take().unwrap_or_default();
        text.clone_from(name);
        *slot = Some(text);
        Ok(())
    }
}

/// Column `i` (text or NULL) into `slot`, reusing the buffer it holds.
fn optional(r: &dyn Row, i: usize, slot: &mut Option<String>) -> Result<(), DbError> {
    let mut text = slot.take().unwrap_or_default();
    if r.text_into(i, &mut text)? {
        *slot = Some(text);
    }
    Ok(())
}

/// A copy's rows in placement order. The queries read a copy's placements in the order their
/// index keeps them (by collection), which needs no sort; a copy has few, and they are ordered
/// here, so an export reads by book, copy and placement: the order a re-import creates them in,
/// which makes a round trip give the same file.
struct ByPlacement<T> {
    copy: Option<i64>,
    /// The current copy's rows (`..used`) with their placement ids; the slots after `used` keep
    /// their buffers for the next copy.
    rows: Vec<(Option<i64>, T)>,
    used: usize,
}

impl<T: Default> ByPlacement<T> {
    fn new() -> Self {
        ByPlacement {
            copy: None,
            rows: Vec::new(),
            used: 0,
        }
    }

    /// The slot to read the next row into: of `copy` (`None`: a book without copies, a group
    /// of its own) and `placement`. The rows of the copy before are given to `out` first.
    fn slot(
        &mut self,
        copy: Option<i64>,
        placement: Option<i64>,
        out: &mut dyn FnMut(&T) -> Result<(), DbError>,
    ) -> Result<&mut T, DbError> {
        if self.used > 0 && (copy.is_none() || copy != self.copy) {
            self.flush(out)?;
        }
        if self.used == self.rows.len() {
            self.rows.push((None, T::default()));
        }
        self.copy = copy;
        let slot = &mut self.rows[self.used];
        self.used += 1;
        slot.0 = placement;
        Ok(&mut slot.1)
    }

    /// Gives the current copy's rows to `out`, by placement id.
    fn flush(&mut self, out: &mut dyn FnMut(&T) -> Result<(), DbError>) -> Result<(), DbError> {
        let group = &mut self.rows[..self.used];
        self.used = 0;
        if group.len() > 1 {
            group.sort_by_key(|(placement, _)| *placement);
        }
        group.iter().try_for_each(|(_, row)| out(row))
    }
}

/// Runs an export's query: rows read by `read` into the slots of [`ByPlacement`] (the copy's id
/// is column `ids`, the placement's the one after it), given to `each` in order. An error of the
/// writer stops the query; it is carried out here, not as a [`DbError`].
fn stream<S: Session, T: Default>(
    s: &S,
    stmt: Stmt,
    params: &[super::Param<'_>],
    ids: usize,
    read: impl Fn(&dyn Row, &mut T) -> Result<(), DbError>,
    each: &mut dyn FnMut(&T) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let mut n = 0;
    let mut write_error = None;
    let mut out = |row: &T| -> Result<(), DbError> {
        if let Err(e) = each(row) {
            write_error = Some(e);
            return Err(DbError::Data("the export was stopped".to_owned()));
        }
        n += 1;
        Ok(())
    };
    let mut rows = ByPlacement::new();
    let result = s
        .each(stmt, params, &mut |r| {
            let slot = rows.slot(r.opt_i64(ids)?, r.opt_i64(ids + 1)?, &mut out)?;
            read(r, slot)
        })
        .and_then(|()| rows.flush(&mut out));
    if let Some(e) = write_error {
        return Err(ExportError::Write(e));
    }
    result?;
    Ok(n)
}

pub(crate) fn rows<S: Session>(
    s: &S,
    collection: Option<CollectionId>,
    each: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let names = CollectionNames {
        session: s,
        names: std::cell::RefCell::default(),
    };
    let by_id = |r: &dyn Row, slot: &mut Option<String>| names.read(r, slot);
    let by_name = |r: &dyn Row, slot: &mut Option<String>| optional(r, 6, slot);
    let column_6: ReadInto<'_> = match s.dialect() {
        super::Dialect::Sqlite => &by_id,
        super::Dialect::Postgres => &by_name,
    };
    let read = |r: &dyn Row, row: &mut ExportRow| export_row(r, row, column_6);
    match collection {
        // A copy is placed in a collection once: each row is a copy of its own.
        Some(c) => stream(
            s,
            Q::ExportCollection.into(),
            params!(collection: c.0),
            9,
            read,
            each,
        ),
        None => stream(s, Q::ExportAll.into(), &[], 9, read, each),
    }
}

/// Streams every live book with its source record and its copies (see [`RecordRow`]).
pub(crate) fn records<S: Session>(
    s: &S,
    each: &mut dyn FnMut(&RecordRow) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let read = |r: &dyn Row, slot: &mut Option<RecordRow>| -> Result<(), DbError> {
        let year = r
            .opt_i64(5)?
            .map(|y| i32::try_from(y).map_err(|_| DbError::Data(format!("year {y}"))))
            .transpose()?;
        *slot = Some(RecordRow {
            book: BookId(r.i64(0)?),
            title: r.string(1)?,
            authors: r.string(2)?,
            isbn: r.opt_string(3)?,
            publisher: r.string(4)?,
            year,
            nonfiling: r.opt_i64(6)?.and_then(|n| u8::try_from(n).ok()),
            updated_at: r.stamp(7)?,
            marc: r.opt_string(8)?,
            barcode: r.opt_string(9)?,
            collection: r.opt_string(10)?,
            shelf_mark: r.opt_string(11)?,
        });
        Ok(())
    };
    let mut give = |row: &Option<RecordRow>| match row {
        Some(row) => each(row),
        None => Ok(()),
    };
    stream(s, Q::ExportRecords.into(), &[], 12, read, &mut give)
}
