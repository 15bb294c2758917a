//! Streams live books, copies and placements out of a library, one row per placement (and one
//! per book or copy that has none), in a stable order, in one statement so the export is one
//! consistent moment.

use super::{Q, Row, Session, params};
use crate::db::{DbError, ExportError};
use crate::model::{BookId, CollectionId, ExportRow, RecordRow};

/// Reads an export row into `row`, reusing its buffers (an export reads millions).
fn export_row(r: &dyn Row, row: &mut ExportRow) -> Result<(), DbError> {
    r.text_into(0, &mut row.title)?;
    r.text_into(1, &mut row.authors)?;
    optional(r, 2, &mut row.isbn)?;
    r.text_into(3, &mut row.publisher)?;
    row.year = r
        .opt_i64(4)?
        .map(|y| i32::try_from(y).map_err(|_| DbError::Data(format!("year {y}"))))
        .transpose()?;
    optional(r, 5, &mut row.barcode)?;
    optional(r, 6, &mut row.collection)?;
    optional(r, 7, &mut row.shelf_mark)?;
    optional(r, 8, &mut row.note)
}

/// Column `i` (text or NULL) into `slot`, reusing the buffer it holds.
fn optional(r: &dyn Row, i: usize, slot: &mut Option<String>) -> Result<(), DbError> {
    let mut text = slot.take().unwrap_or_default();
    if r.text_into(i, &mut text)? {
        *slot = Some(text);
    }
    Ok(())
}

pub(crate) fn rows<S: Session>(
    s: &S,
    collection: Option<CollectionId>,
    each: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let mut n = 0;
    // An error of the writer stops the query; it is carried out here, not as a DbError.
    let mut write_error = None;
    let mut row = ExportRow::default();
    let mut give = |r: &dyn Row| -> Result<(), DbError> {
        export_row(r, &mut row)?;
        if let Err(e) = each(&row) {
            write_error = Some(e);
            return Err(DbError::Data("the export was stopped".to_owned()));
        }
        n += 1;
        Ok(())
    };
    let result = match collection {
        Some(c) => s.each(
            Q::ExportCollection.into(),
            params!(collection: c.0),
            &mut give,
        ),
        None => s.each(Q::ExportAll.into(), &[], &mut give),
    };
    if let Some(e) = write_error {
        return Err(ExportError::Write(e));
    }
    result?;
    Ok(n)
}

/// Streams every live book with its source record and its copies (see [`RecordRow`]).
pub(crate) fn records<S: Session>(
    s: &S,
    each: &mut dyn FnMut(&RecordRow) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let mut n = 0;
    let mut write_error = None;
    let mut give = |r: &dyn Row| -> Result<(), DbError> {
        let year = r
            .opt_i64(5)?
            .map(|y| i32::try_from(y).map_err(|_| DbError::Data(format!("year {y}"))))
            .transpose()?;
        let row = RecordRow {
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
        };
        if let Err(e) = each(&row) {
            write_error = Some(e);
            return Err(DbError::Data("the export was stopped".to_owned()));
        }
        n += 1;
        Ok(())
    };
    let result = s.each(Q::ExportRecords.into(), &[], &mut give);
    if let Some(e) = write_error {
        return Err(ExportError::Write(e));
    }
    result?;
    Ok(n)
}
