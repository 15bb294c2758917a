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
use std::path::{Path, PathBuf};
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
    #[error("cannot read it: {0}")]
    Io(String),
}

/// How much of the start of a file [`Sheet::open_file`] looks at for its layout.
const HEAD_BYTES: u64 = 256 * 1024;

fn is_formula_start(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// Whether a cell must be protected: it would start a formula, or it is an apostrophe followed
/// by something that would need protecting (so that unprotecting is exact).
fn needs_protection(s: &str) -> bool {
    is_formula_start(s) || s.strip_prefix('\'').is_some_and(needs_protection)
}

/// The cell as written to a spreadsheet file, borrowed where it needs no protection (nearly
/// every cell).
pub fn protected(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_protection(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Undoes [`protected`].
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
    text: Text,
    pub encoding: Encoding,
    pub separator: Separator,
    pub headers: Vec<String>,
    pub dialect: Dialect,
    pub mapping: Mapping,
}

/// Where a sheet's text is: held, or in its file (read again, decoded, each time it is read).
#[derive(Clone, Debug)]
enum Text {
    Held(String),
    File {
        path: PathBuf,
        /// How the text starts (whole lines), for the layout and the preamble.
        head: String,
        /// The file's size and modification time when it was checked: a file changed since
        /// is not read again (its lines found bad would no longer be those lines).
        seen: Seen,
    },
}

/// A file's size and modification time.
type Seen = (u64, Option<std::time::SystemTime>);

fn seen(path: &Path) -> std::io::Result<Seen> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.len(), meta.modified().ok()))
}

impl Sheet {
    /// Decodes `bytes` and recognises the layout, taking what `choice` fixes as given.
    pub fn open(bytes: &[u8], choice: &SheetChoice) -> Result<Sheet, FileError> {
        let decoded = match choice.encoding {
            Some(e) => sheets::decode_as(bytes, e),
            None => sheets::decode(bytes),
        }
        .map_err(FileError::Encoding)?;
        Sheet::of(Text::Held(decoded.text), decoded.encoding, choice)
    }

    /// As [`open`](Self::open) the file at `path`, without holding its text: it is decoded
    /// once to check it, and again each time the sheet is read, so that an import's memory
    /// does not grow with its file. A file not valid in its encoding gives the error
    /// [`open`](Self::open) gives (read whole for that).
    pub fn open_file(path: &Path, choice: &SheetChoice) -> Result<Sheet, FileError> {
        use std::io::Read as _;
        let cannot = |e: std::io::Error| FileError::Io(e.to_string());
        let mut start = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(HEAD_BYTES).read_to_end(&mut start))
            .map_err(cannot)?;
        let encoding = sheets::encoding_of(&start, choice.encoding);
        let checked = seen(path).map_err(cannot)?;
        let whole = || -> Result<Sheet, FileError> {
            Sheet::open(&std::fs::read(path).map_err(cannot)?, choice)
        };
        let decoded = sheets::open_decoded(path, encoding);
        match decoded.and_then(|mut text| std::io::copy(&mut text, &mut std::io::sink())) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return whole(),
            Err(e) => return Err(cannot(e)),
        }
        let mut head = Vec::new();
        sheets::open_decoded(path, encoding)
            .and_then(|text| text.take(HEAD_BYTES).read_to_end(&mut head))
            .map_err(cannot)?;
        if head.len() as u64 == HEAD_BYTES {
            // Whole lines only; a first line longer than all of it is read whole.
            match head.iter().rposition(|&b| b == b'\n') {
                Some(end) => head.truncate(end + 1),
                None => return whole(),
            }
        }
        let head = String::from_utf8(head).map_err(|e| FileError::Io(e.to_string()))?;
        let text = Text::File {
            path: path.to_path_buf(),
            head,
            seen: checked,
        };
        Sheet::of(text, encoding, choice)
    }

    /// The sheet of `text`, its layout recognised from how it starts.
    fn of(text: Text, encoding: Encoding, choice: &SheetChoice) -> Result<Sheet, FileError> {
        let head = match &text {
            Text::Held(whole) => whole,
            Text::File { head, .. } => head,
        };
        let separator = choice.separator.unwrap_or_else(|| sheets::sniff(head));
        let headers = sheets::headers(head, separator);
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
            encoding,
            separator,
            headers,
            dialect,
            mapping,
        })
    }

    /// The rows of the sheet's text (see [`sheets::read`]).
    fn read(&self) -> Result<sheets::Rows<'_>, FileError> {
        match &self.text {
            Text::Held(text) => Ok(sheets::read(text, self.separator, &self.mapping)),
            Text::File {
                path,
                head,
                seen: checked,
            } => {
                let now = seen(path).map_err(|e| FileError::Io(e.to_string()))?;
                if now != *checked {
                    return Err(FileError::Io(
                        "the file changed since it was checked; check it again".to_owned(),
                    ));
                }
                sheets::read_stream(
                    &|| sheets::open_decoded(path, self.encoding),
                    head,
                    self.separator,
                    &self.mapping,
                )
                .map_err(|e| FileError::Io(e.to_string()))
            }
        }
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
        Ok(self.read()?.take(n).filter_map(move |row| {
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
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn protection_round_trips_exactly() {
        for s in [
            "=SUM(A1)", "+1", "-5", "@me", "\tx", "'=x", "''=x", "'plain", "plain", "", "'",
        ] {
            assert_eq!(unprotect(&protected(s)), s, "{s:?}");
        }
        assert_eq!(protected("=1+1"), "'=1+1");
        assert_eq!(protected("Dune"), "Dune");
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

    /// A sheet read again from its file, decoded as it is read, gives what the same bytes
    /// held in memory give: the layout, every row, every bad line and its number, whatever
    /// the encoding, line breaks and preamble, across the reads' buffer boundaries.
    #[test]
    fn a_sheet_read_from_its_file_reads_as_the_same_bytes_held() {
        let long = (0..9_000).fold(String::new(), |mut out, i| {
            let _ = write!(out, "Gödel {i} – “€”,Ünal,,B{i:05},Rare Books,QA76.{i}\r\n");
            out
        });
        let utf16 = |text: &str, le: bool| -> Vec<u8> {
            let mark: &[u8] = if le { b"\xFF\xFE" } else { b"" };
            let units = text
                .encode_utf16()
                .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() });
            mark.iter().copied().chain(units).collect()
        };
        let windows_1252: Vec<u8> = b"title;authors\r\nCaf\xe9 \x80;Fran\xe7ois\r\n".to_vec();
        let chosen = |encoding| SheetChoice {
            encoding: Some(encoding),
            ..SheetChoice::default()
        };
        let cases: Vec<(&str, Vec<u8>, SheetChoice)> = vec![
            (
                "bom, crlf, bad lines",
                "\u{feff}title,authors,barcode\r\nDune,Herbert,0042\r\n,,\r\nX,,0042\r\n19x5,,\r\n"
                    .as_bytes()
                    .to_vec(),
                SheetChoice::default(),
            ),
            (
                "excel sep line, quoted lines",
                b"sep=;\ntitle;note\nA;\"one\ntwo\"\n\n\nB;x\n".to_vec(),
                SheetChoice::default(),
            ),
            (
                "lone cr",
                b"title,year\rA,1999\r\rB,19x5\r".to_vec(),
                SheetChoice::default(),
            ),
            (
                "long, multibyte",
                format!("title,authors,isbn,barcode,collection,shelf_mark\r\n{long}").into_bytes(),
                SheetChoice::default(),
            ),
            (
                "utf-16le with mark",
                utf16(
                    &format!(
                        "title\tauthors\nGood Omens\tPratchett\n{}",
                        "Ä\tÖ\n".repeat(40_000)
                    ),
                    true,
                ),
                SheetChoice::default(),
            ),
            (
                "utf-16be chosen",
                utf16("title,year\nÉtude,1901\n", false),
                chosen(Encoding::Utf16Be),
            ),
            (
                "windows-1252 chosen",
                windows_1252,
                chosen(Encoding::Windows1252),
            ),
            (
                "latin-1 chosen",
                b"title;authors\r\nCaf\xe9;Fran\xe7ois\r\n".to_vec(),
                chosen(Encoding::Latin1),
            ),
            ("only a header", b"title\n".to_vec(), SheetChoice::default()),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes, choice) in cases {
            let path = dir.path().join("sheet.csv");
            std::fs::write(&path, &bytes).unwrap();
            let held = Sheet::open(&bytes, &choice).unwrap();
            let streamed = Sheet::open_file(&path, &choice).unwrap();
            assert!(matches!(streamed.text, Text::File { .. }), "{name}");
            assert_eq!(
                (
                    streamed.encoding,
                    streamed.separator,
                    streamed.dialect,
                    &streamed.headers
                ),
                (held.encoding, held.separator, held.dialect, &held.headers),
                "{name}"
            );
            let (a, b) = (held.parse().unwrap(), streamed.parse().unwrap());
            assert!(!a.rows.is_empty() || name == "only a header", "{name}");
            assert_eq!(a.rows, b.rows, "{name}");
            assert_eq!(a.errors, b.errors, "{name}");
            assert_eq!(held.scan().unwrap(), streamed.scan().unwrap(), "{name}");
        }
        // A file changed after it was checked is not read again as if it were the same.
        let path = dir.path().join("changed.csv");
        std::fs::write(&path, "title,year\nA,19x5\nB,1999\n").unwrap();
        let sheet = Sheet::open_file(&path, &SheetChoice::default()).unwrap();
        assert_eq!(sheet.scan().unwrap().0, 1);
        std::fs::write(&path, "title,year\nA,1995\nB,1999\nC,2001\n").unwrap();
        let Err(FileError::Io(why)) = sheet.scan() else {
            panic!("a changed file was read again");
        };
        assert!(why.contains("changed since it was checked"), "{why}");
        // Bytes not valid in the encoding: the error reading them whole gives.
        let path = dir.path().join("latin1.csv");
        std::fs::write(&path, b"title\nCaf\xe9\n").unwrap();
        let Err(FileError::Encoding(e)) = Sheet::open_file(&path, &SheetChoice::default()) else {
            panic!("not UTF-8");
        };
        assert!(e.to_string().contains("Windows-1252"), "{e}");
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
