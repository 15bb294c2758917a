//! The spreadsheet layout, in and out: one row per copy of a book (optionally placed in a
//! collection). Columns, by header name in any order (others ignored): `title, authors, isbn,
//! publisher, year, barcode, collection, shelf_mark, note`.
//!
//! Reading validates every line and reports every bad one with its line number; nothing is
//! applied unless all lines are good (or the caller chose to skip bad ones). Files must be UTF-8
//! (a byte-order mark is fine). Writing protects cells a spreadsheet would run as a formula with
//! a leading apostrophe, and reading removes exactly that protection again, so an export
//! re-imports to the same values.

use std::collections::HashMap;
use std::fmt;

use crate::model::{
    BookDraft, CollectionDraft, Field, ImportRow, PlacementDraft, normalize_barcode,
};

/// The columns, in the order an export writes them.
pub const COLUMNS: [&str; 9] = [
    "title",
    "authors",
    "isbn",
    "publisher",
    "year",
    "barcode",
    "collection",
    "shelf_mark",
    "note",
];

/// A problem with one line (or with the whole file, at line 0 or 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub message: String,
    /// The title on that line, to recognise it by (empty when the line has none).
    pub title: String,
}

impl LineError {
    /// "ISBN: … (“Dune”)": the problem, then the line's title.
    pub fn with_title(&self) -> String {
        if self.title.is_empty() {
            self.message.clone()
        } else {
            format!("{} (“{}”)", self.message, self.title)
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.with_title())
    }
}

/// What reading a file gave: the good rows, and every bad line.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub rows: Vec<ImportRow>,
    pub errors: Vec<LineError>,
}

/// A file that cannot be read at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error(
        "the file is not UTF-8 text (first bad byte at offset {0}); save it as \"CSV UTF-8\" and try again"
    )]
    NotUtf8(usize),
    #[error("the file has no header line")]
    Empty,
    #[error("the header has no \"title\" column (found: {0})")]
    NoTitle(String),
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
}

fn is_formula_start(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// Whether a cell must be protected: it would start a formula, or it is an apostrophe followed
/// by something that would need protecting (so that unprotecting is exact).
fn needs_protection(s: &str) -> bool {
    is_formula_start(s) || s.strip_prefix('\'').is_some_and(needs_protection)
}

/// The cell as written to a spreadsheet file.
pub fn protect(cell: &str) -> String {
    if needs_protection(cell) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Undoes [`protect`].
pub fn unprotect(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_protection(rest) => rest,
        _ => cell,
    }
}

/// Reads a whole file. Bad lines are listed in `errors`; good ones are in `rows`.
pub fn parse(bytes: &[u8]) -> Result<Parsed, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| FileError::NotUtf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FileError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
        return Err(FileError::Empty);
    }
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_lowercase().replace([' ', '-'], "_"), i))
        .collect();
    if !index.contains_key("title") {
        return Err(FileError::NoTitle(
            headers.iter().collect::<Vec<_>>().join(", "),
        ));
    }
    let mut parsed = Parsed::default();
    // Which book (by its identity in the file) each barcode was given to.
    let mut barcode_owner: HashMap<String, (String, usize)> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| FileError::Csv {
            line: e.position().map_or(0, |p| p.line() as usize),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| -> String {
            index
                .get(name)
                .and_then(|&i| record.get(i))
                .map(|c| unprotect(c).to_owned())
                .unwrap_or_default()
        };
        let mut errors: Vec<String> = Vec::new();
        let book = BookDraft {
            title: cell("title"),
            authors: cell("authors"),
            isbn: cell("isbn"),
            publisher: cell("publisher"),
            year: cell("year"),
            nonfiling: String::new(),
        }
        .validate();
        let book = keep(book, &mut errors);
        let raw_barcode = cell("barcode");
        let barcode = if raw_barcode.trim().is_empty() {
            None
        } else {
            match normalize_barcode(&raw_barcode) {
                Ok(b) => Some(b),
                Err(m) => {
                    errors.push(format!("{}: {m}", Field::Barcode.label()));
                    None
                }
            }
        };
        let raw_collection = cell("collection");
        let collection = if raw_collection.trim().is_empty() {
            None
        } else {
            let c = CollectionDraft {
                name: raw_collection,
                description: String::new(),
            }
            .validate();
            keep(c, &mut errors)
        };
        let placement = PlacementDraft {
            copy_id: crate::model::CopyId(0),
            collection_id: crate::model::CollectionId(0),
            shelf_mark: cell("shelf_mark"),
            note: cell("note"),
        }
        .validate();
        let placement = keep(placement, &mut errors);
        if collection.is_some() && barcode.is_none() && raw_barcode.trim().is_empty() {
            errors.push("a collection is given but no barcode (which copy goes there?)".to_owned());
        }
        if let (Some(b), Some(code)) = (&book, &barcode) {
            let identity = b
                .isbn
                .clone()
                .unwrap_or_else(|| format!("{}\u{1f}{}", b.title, b.authors));
            match barcode_owner.get(code) {
                Some((owner, first)) if *owner != identity => errors.push(format!(
                    "barcode {code} is given to two different books (first on line {first})"
                )),
                Some(_) => {}
                None => {
                    barcode_owner.insert(code.clone(), (identity, line));
                }
            }
        }
        match (book, placement, errors.is_empty()) {
            (Some(book), Some(p), true) => parsed.rows.push(ImportRow {
                line,
                book,
                barcode,
                collection,
                shelf_mark: p.shelf_mark,
                note: p.note,
            }),
            _ => parsed.errors.push(LineError {
                line,
                message: errors.join("; "),
                title: short(cell("title").trim(), 60),
            }),
        }
    }
    Ok(parsed)
}

/// At most `max` characters of `text`, with an ellipsis if it was longer.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max).chain(['…']).collect()
    }
}

/// The value, or its field errors added to `errors`.
fn keep<T>(r: Result<T, Vec<crate::model::FieldError>>, errors: &mut Vec<String>) -> Option<T> {
    r.map_err(|e| errors.extend(e.iter().map(ToString::to_string)))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_round_trips_exactly() {
        for s in [
            "=SUM(A1)", "+1", "-5", "@me", "\tx", "'=x", "''=x", "'plain", "plain", "", "'",
        ] {
            assert_eq!(unprotect(&protect(s)), s, "{s:?}");
        }
        assert_eq!(protect("=1+1"), "'=1+1");
        assert_eq!(protect("Dune"), "Dune");
    }

    #[test]
    fn reads_any_column_order_with_bom_and_reports_bad_lines() {
        let csv = "\u{feff}barcode,Title,extra,isbn,year,collection\n\
                   0042,Dune,x,978-0-441-17271-9,1965,Rare Books\n\
                   0043,,x,,,\n\
                   0044,Bad,x,978-0-441-17271-8,19x5,\n\
                   0045,Other,x,,,Rare Books\n\
                   0042,Not Dune,x,,,\n";
        let p = parse(csv.as_bytes()).unwrap();
        assert_eq!(p.rows.len(), 2, "{:?}", p.errors);
        assert_eq!(p.rows[0].book.isbn.as_deref(), Some("9780441172719"));
        assert_eq!(p.rows[0].collection.as_ref().unwrap().name, "Rare Books");
        let lines: Vec<usize> = p.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 6]);
        assert!(p.errors[0].message.contains("Title: is required"));
        assert!(p.errors[1].message.contains("ISBN"));
        assert!(p.errors[1].message.contains("Year"));
        assert!(
            p.errors[2]
                .message
                .contains("two different books (first on line 2)")
        );
    }

    #[test]
    fn refuses_other_encodings() {
        let latin1 = b"title\nCaf\xe9\n";
        assert_eq!(parse(latin1).unwrap_err(), FileError::NotUtf8(9));
        assert!(matches!(parse(b"name\nx\n"), Err(FileError::NoTitle(_))));
    }
}
