//! The spreadsheet layout, in and out: one row per copy of a book (optionally placed in a
//! collection). Columns, by header name in any order (others ignored): `title, authors, isbn,
//! publisher, year, barcode, collection, shelf_mark, note`.
//!
//! Reading validates every line and reports every bad one with its line number; nothing is
//! applied unless all lines are good (or the caller chose to skip bad ones). Files must be UTF-8
//! (a byte-order mark is fine). Writing protects cells a spreadsheet would run as a formula with
//! a leading apostrophe, and reading removes exactly that protection again, so an export
//! re-imports to the same values.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use super::sheets::{self, Dialect, Encoding, Field as SheetField, Mapping, RowError, Separator};
use crate::model::{
    BookDraft, CollectionDraft, Field, ImportRow, PlacementDraft, RowSource, SourceRecord,
    normalize_barcode,
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

/// A problem with one line of a sheet or one record of a MARC file (or with the whole file,
/// at line 0 or 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The line, or the record's number (counting from 1).
    pub line: usize,
    /// For a record: the byte offset where it starts.
    pub offset: Option<u64>,
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
        match self.offset {
            Some(at) => write!(f, "record {} (byte {at}): {}", self.line, self.with_title()),
            None => write!(f, "line {}: {}", self.line, self.with_title()),
        }
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
    #[error("{0}; choose its encoding to import it")]
    Encoding(sheets::DecodeError),
    #[error("the file has no header line")]
    Empty,
    #[error("no column is the title (the columns are: {0}); choose which column is which")]
    NoTitle(String),
    #[error("line {line}: {message}")]
    Csv { line: usize, message: String },
    #[error("{0}")]
    Mapping(sheets::MappingError),
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

/// What the user chose for a spreadsheet, where detection is not enough: its encoding (a file
/// that is not UTF-8 is never guessed silently), its separator and which column is which
/// (`title=Title,isbn=ISBN13`, as on the command line). `None`: detected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SheetChoice {
    pub encoding: Option<Encoding>,
    pub separator: Option<Separator>,
    /// Which column is which, as `field=column,…` (see [`Mapping::parse_cli`]).
    pub mapping: Option<String>,
    /// Which column is which, as chosen in the window (before `mapping`).
    pub columns: Option<Mapping>,
}

/// A spreadsheet decoded and looked at: its text, separator, header and the mapping to use.
#[derive(Clone, Debug)]
pub struct Sheet {
    pub text: String,
    pub encoding: Encoding,
    pub separator: Separator,
    pub headers: Vec<String>,
    pub dialect: Dialect,
    pub mapping: Mapping,
}

impl Sheet {
    /// Decodes `bytes` and recognises the layout, taking what `choice` fixes as given.
    pub fn open(bytes: &[u8], choice: &SheetChoice) -> Result<Sheet, FileError> {
        let decoded = match choice.encoding {
            Some(e) => sheets::decode_as(bytes, e),
            None => sheets::decode(bytes),
        }
        .map_err(FileError::Encoding)?;
        let text = decoded.text;
        let separator = choice.separator.unwrap_or_else(|| sheets::sniff(&text));
        let headers = sheets::headers(&text, separator);
        if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
            return Err(FileError::Empty);
        }
        let dialect = Dialect::detect(&headers);
        let mapping = match (&choice.columns, &choice.mapping) {
            (Some(m), _) => m.clone(),
            (None, Some(spec)) => Mapping::parse_cli(spec, &headers).map_err(FileError::Mapping)?,
            (None, None) => Mapping::of_dialect(dialect, &headers),
        };
        Ok(Sheet {
            text,
            encoding: decoded.encoding,
            separator,
            headers,
            dialect,
            mapping,
        })
    }

    /// Reads and validates every row through the mapping.
    pub fn parse(&self) -> Result<Parsed, FileError> {
        self.parse_first(usize::MAX)
    }

    /// Reads and validates the first `n` rows (a preview).
    pub fn parse_first(&self, n: usize) -> Result<Parsed, FileError> {
        let mut parsed = Parsed::default();
        for checked in self.checked(n, Pass::First)? {
            match checked? {
                Checked::Row(r) => parsed.rows.push(r),
                Checked::Bad(e) => parsed.errors.push(e),
            }
        }
        Ok(parsed)
    }

    /// Reads and validates every row without keeping them: how many are good, and the bad
    /// ones (the first pass of an import, which then reads the rows again as it applies them).
    pub fn scan(&self) -> Result<(usize, Vec<LineError>), FileError> {
        let (mut good, mut errors) = (0, Vec::new());
        for checked in self.checked(usize::MAX, Pass::First)? {
            match checked? {
                Checked::Row(_) => good += 1,
                Checked::Bad(e) => errors.push(e),
            }
        }
        Ok((good, errors))
    }

    /// The first `n` lines through the mapping, validated, in order (blank lines left out).
    /// Read again (`Pass::Again`), the lines found bad the first time are left out too, and
    /// the rest are not checked against each other again: they were, and were good.
    fn checked<'a>(
        &'a self,
        n: usize,
        pass: Pass<'a>,
    ) -> Result<impl Iterator<Item = Result<Checked, FileError>> + 'a, FileError> {
        if self.mapping.source(SheetField::Title).is_none() {
            return Err(FileError::NoTitle(self.headers.join(", ")));
        }
        // Only Shelfmark's own export protects formula-like cells; others' cells are as typed.
        let own = self.dialect == Dialect::Shelfmark;
        let mut barcodes = BarcodeOwners::default();
        Ok(sheets::read(&self.text, self.separator, &self.mapping)
            .take(n)
            .filter_map(move |row| {
                let row = match row {
                    Ok(row) => row,
                    Err(RowError::Csv { line, message }) => {
                        return Some(Err(FileError::Csv { line, message }));
                    }
                    Err(e @ RowError::ExtraCells { line, .. }) => {
                        return Some(Ok(Checked::Bad(LineError {
                            line,
                            offset: None,
                            message: e.to_string(),
                            title: String::new(),
                        })));
                    }
                };
                if matches!(pass, Pass::Again(bad) if bad.contains(&row.line))
                    || SheetField::ALL
                        .iter()
                        .all(|f| row.get(*f).trim().is_empty())
                {
                    return None;
                }
                // Other programs' "collections" (LibraryThing's "Your library", a Libib shelf)
                // name where a book is listed, not where a copy stands: without a barcode there
                // is no copy to place, so such a row brings the book only.
                let listed_only = !own && row.get(SheetField::Barcode).trim().is_empty();
                let cell = |f: SheetField| -> String {
                    if listed_only && f == SheetField::Collection {
                        return String::new();
                    }
                    let v = row.get(f);
                    if own { unprotect(v) } else { v }.to_owned()
                };
                Some(Ok(
                    match validate_row(
                        row.line,
                        &cell,
                        None,
                        matches!(pass, Pass::First).then_some(&mut barcodes),
                    ) {
                        Ok(r) => Checked::Row(r),
                        Err(e) => Checked::Bad(e),
                    },
                ))
            }))
    }
}

/// A line of a sheet, validated.
enum Checked {
    Row(ImportRow),
    Bad(LineError),
}

/// Which reading of a sheet: the first, which checks it all, or again, knowing its bad lines
/// (by number, as in their messages).
#[derive(Clone, Copy)]
enum Pass<'a> {
    First,
    Again(&'a HashSet<usize>),
}

/// A sheet's good rows, read again from its text as an import applies them (so an import's
/// memory is the file's text, not every row made from it). The text is the one the first pass
/// checked: the rows are the same, and the lines it found bad are left out by number (so the
/// barcodes of the whole file need not be held again).
#[derive(Debug)]
pub struct SheetRows {
    sheet: Arc<Sheet>,
    bad: HashSet<usize>,
}

impl SheetRows {
    /// The rows of `sheet` but those of `errors`, its first pass's.
    pub fn new(sheet: Arc<Sheet>, errors: &[LineError]) -> SheetRows {
        SheetRows {
            sheet,
            bad: errors.iter().map(|e| e.line).collect(),
        }
    }
}

impl RowSource for SheetRows {
    fn rows(&self) -> Box<dyn Iterator<Item = Result<ImportRow, String>> + '_> {
        match self.sheet.checked(usize::MAX, Pass::Again(&self.bad)) {
            Ok(rows) => Box::new(rows.filter_map(|c| match c {
                Ok(Checked::Row(r)) => Some(Ok(r)),
                Ok(Checked::Bad(_)) => None,
                Err(e) => Some(Err(e.to_string())),
            })),
            Err(e) => Box::new(std::iter::once(Err(e.to_string()))),
        }
    }
}

/// Reads a whole file, detecting its encoding, separator and layout.
pub fn parse(bytes: &[u8]) -> Result<Parsed, FileError> {
    Sheet::open(bytes, &SheetChoice::default())?.parse()
}

/// Which book (by its identity in the file) each barcode was given to, and where first: the
/// first pass of an import holds one per barcode of the file, so each is kept small (the
/// identity as a hash; the database refuses a barcode on two books in any case, this is the
/// early word that names both lines).
#[derive(Debug, Default)]
pub(crate) struct BarcodeOwners(HashMap<Box<str>, Owner>);

/// The book a barcode was first given to (its identity's hash), and on which line or record.
#[derive(Debug, Clone, Copy)]
struct Owner {
    identity: u64,
    line: usize,
    record: bool,
}

impl Owner {
    fn place(self) -> String {
        if self.record {
            format!("in record {}", self.line)
        } else {
            format!("on line {}", self.line)
        }
    }
}

/// The same hash in every run (the identities are compared within one file only).
fn identity_hash(identity: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    identity.hash(&mut h);
    h.finish()
}

/// Validates one row of cells (a line of a sheet, or a holding of a MARC record) into an
/// import row; `source` is the book's record and `nonfiling` its title's nonfiling characters,
/// if it came from one.
pub(crate) fn validate_row(
    line: usize,
    cell: &dyn Fn(SheetField) -> String,
    source: Option<(&Arc<SourceRecord>, u8)>,
    owners: Option<&mut BarcodeOwners>,
) -> Result<ImportRow, LineError> {
    let mut errors: Vec<String> = Vec::new();
    let book = BookDraft {
        title: cell(SheetField::Title),
        authors: cell(SheetField::Authors),
        isbn: cell(SheetField::Isbn),
        publisher: cell(SheetField::Publisher),
        year: cell(SheetField::Year),
        nonfiling: source.map(|(_, n)| n.to_string()).unwrap_or_default(),
    }
    .validate();
    let book = keep(book, &mut errors);
    let raw_barcode = cell(SheetField::Barcode);
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
    let raw_collection = cell(SheetField::Collection);
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
        shelf_mark: cell(SheetField::ShelfMark),
        note: cell(SheetField::Note),
    }
    .validate();
    let placement = keep(placement, &mut errors);
    if collection.is_some() && barcode.is_none() && raw_barcode.trim().is_empty() {
        errors.push("a collection is given but no barcode (which copy goes there?)".to_owned());
    }
    if let (Some(b), Some(code), Some(owners)) = (&book, &barcode, owners) {
        let identity = identity_hash(
            &source
                .and_then(|(s, _)| s.control.clone())
                .or_else(|| b.isbn.clone())
                .unwrap_or_else(|| format!("{}\u{1f}{}", b.title, b.authors)),
        );
        match owners.0.get(code.as_str()) {
            Some(first) if first.identity != identity => errors.push(format!(
                "barcode {code} is given to two different books (first {})",
                first.place()
            )),
            Some(_) => {}
            None => {
                let owner = Owner {
                    identity,
                    line,
                    record: source.is_some(),
                };
                owners.0.insert(code.as_str().into(), owner);
            }
        }
    }
    match (book, placement, errors.is_empty()) {
        (Some(book), Some(p), true) => Ok(ImportRow {
            line,
            book,
            barcode,
            collection,
            shelf_mark: p.shelf_mark,
            note: p.note,
            source: source.map(|(s, _)| Arc::clone(s)),
        }),
        _ => Err(LineError {
            line,
            offset: None,
            message: errors.join("; "),
            title: short(cell(SheetField::Title).trim(), 60),
        }),
    }
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
        let Err(FileError::Encoding(e)) = parse(latin1) else {
            panic!("Latin-1 is read only when chosen");
        };
        assert!(e.to_string().contains("Windows-1252"), "{e}");
        let chosen = SheetChoice {
            encoding: Some(Encoding::Windows1252),
            ..SheetChoice::default()
        };
        let p = Sheet::open(latin1, &chosen).unwrap().parse().unwrap();
        assert_eq!(p.rows[0].book.title, "Café");
        assert!(matches!(parse(b"name\nx\n"), Err(FileError::NoTitle(_))));
    }
}
