//! Streams live books, copies and placements out of a library, one row per placement (and one
//! per book or copy that has none), in a stable order, in one statement so the export is one
//! consistent moment.

use super::{Q, Row, Session, params};
use crate::db::{DbError, ExportError};
use crate::model::{BookId, CollectionId, ExportRow, RecordRow};

fn export_row(r: &dyn Row) -> Result<ExportRow, DbError> {
    Ok(ExportRow {
        title: r.string(0)?,
        authors: r.string(1)?,
        isbn: r.opt_string(2)?,
        publisher: r.string(3)?,
        year: r
            .opt_i64(4)?
            .map(|y| i32::try_from(y).map_err(|_| DbError::Data(format!("year {y}"))))
            .transpose()?,
        barcode: r.opt_string(5)?,
        collection: r.opt_string(6)?,
        shelf_mark: r.opt_string(7)?,
        note: r.opt_string(8)?,
    })
}

pub(crate) fn rows<S: Session>(
    s: &S,
    collection: Option<CollectionId>,
    each: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let mut n = 0;
    // An error of the writer stops the query; it is carried out here, not as a DbError.
    let mut write_error = None;
    let mut give = |r: &dyn Row| -> Result<(), DbError> {
        let row = export_row(r)?;
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
