//! Reading the rows of a decoded sheet through a [`Mapping`].
//!
//! The first record is the header. Line numbers are those of the text file:
//! the header is line 1 (unless blank lines or an Excel `sep=;` line come
//! first), and a record whose quoted cells span several lines is reported at
//! the line it starts on; later records keep their true line numbers.
//! Records whose cells are all empty (blank spreadsheet rows) are skipped.

use std::io::{BufRead, Read};

use super::clean;
use super::field::Field;
use super::mapping::{Combine, Mapping, Source};
use super::sniff::{Separator, excel_sep_line};

/// One row mapped onto Shelfmark's fields: raw strings, freed of dialect
/// quirks but not validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SheetRow {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: usize,
    /// Title.
    pub title: String,
    /// Authors, several joined with `"; "`.
    pub authors: String,
    /// ISBN.
    pub isbn: String,
    /// Publisher.
    pub publisher: String,
    /// Year.
    pub year: String,
    /// Barcode.
    pub barcode: String,
    /// Collection.
    pub collection: String,
    /// Shelf mark.
    pub shelf_mark: String,
    /// Note.
    pub note: String,
}

impl SheetRow {
    /// The value of `field`.
    #[must_use]
    pub fn get(&self, field: Field) -> &str {
        match field {
            Field::Title => &self.title,
            Field::Authors => &self.authors,
            Field::Isbn => &self.isbn,
            Field::Publisher => &self.publisher,
            Field::Year => &self.year,
            Field::Barcode => &self.barcode,
            Field::Collection => &self.collection,
            Field::ShelfMark => &self.shelf_mark,
            Field::Note => &self.note,
        }
    }

    fn slot(&mut self, field: Field) -> &mut String {
        match field {
            Field::Title => &mut self.title,
            Field::Authors => &mut self.authors,
            Field::Isbn => &mut self.isbn,
            Field::Publisher => &mut self.publisher,
            Field::Year => &mut self.year,
            Field::Barcode => &mut self.barcode,
            Field::Collection => &mut self.collection,
            Field::ShelfMark => &mut self.shelf_mark,
            Field::Note => &mut self.note,
        }
    }
}

/// A row that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// The row has non-empty cells beyond the header's columns, usually a
    /// separator inside a value that was not quoted, or the wrong separator.
    #[error(
        "line {line}: {found} cells, but the header has {expected}; \
         a value may contain an unquoted separator"
    )]
    ExtraCells {
        /// 1-based line where the row starts.
        line: usize,
        /// Cells in the header.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },
    /// The CSV reader failed; reading stops after this.
    #[error("line {line}: {message}")]
    Csv {
        /// 1-based line (0 if unknown).
        line: usize,
        /// What the reader said.
        message: String,
    },
}

/// Iterator over the data rows of a sheet; see [`read`] and [`read_stream`].
pub struct Rows<'a> {
    reader: csv::Reader<Box<dyn Read + 'a>>,
    record: csv::StringRecord,
    mapping: &'a Mapping,
    lines: LineCounter<'a>,
    header_len: Option<usize>,
    done: bool,
}

impl std::fmt::Debug for Rows<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("line", &self.lines.line)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Reads the data rows of `text` (header skipped) through `mapping`.
///
/// Cells missing at the end of a short row count as empty.
#[must_use = "the rows are read lazily by iterating"]
pub fn read<'a>(text: &'a str, separator: Separator, mapping: &'a Mapping) -> Rows<'a> {
    let (body, line_offset) = strip_preamble(text);
    Rows::new(
        Box::new(body.as_bytes()),
        Box::new(body.as_bytes()),
        line_offset,
        separator,
        mapping,
    )
}

/// Reads the data rows of a sheet too big to hold, as [`read`] does its text: `open` gives
/// the text as a stream from its start (decoded, each time it is called: twice, once for the
/// cells and once for the line numbers), and `head` is how it starts (at least its first
/// line, for the preamble [`read`] would remove).
///
/// # Errors
///
/// When `open` fails.
pub fn read_stream<'a>(
    open: &dyn Fn() -> std::io::Result<Box<dyn BufRead + 'a>>,
    head: &str,
    separator: Separator,
    mapping: &'a Mapping,
) -> std::io::Result<Rows<'a>> {
    let (body, line_offset) = strip_preamble(head);
    let preamble = (head.len() - body.len()) as u64;
    let past_preamble = || -> std::io::Result<Box<dyn BufRead + 'a>> {
        let mut text = open()?;
        std::io::copy(&mut text.by_ref().take(preamble), &mut std::io::sink())?;
        Ok(text)
    };
    let (cells, lines) = (past_preamble()?, past_preamble()?);
    Ok(Rows::new(cells, lines, line_offset, separator, mapping))
}

impl<'a> Rows<'a> {
    fn new(
        cells: Box<dyn Read + 'a>,
        lines: Box<dyn BufRead + 'a>,
        line_offset: usize,
        separator: Separator,
        mapping: &'a Mapping,
    ) -> Rows<'a> {
        Rows {
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(separator.as_byte())
                .from_reader(cells),
            record: csv::StringRecord::new(),
            mapping,
            lines: LineCounter::new(lines, line_offset),
            header_len: None,
            done: false,
        }
    }
}

impl Rows<'_> {
    /// Next non-blank record, with its line; `None` at the end.
    fn next_record(&mut self) -> Option<Result<usize, RowError>> {
        loop {
            if self.done {
                return None;
            }
            match self.reader.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Ok(true) => {
                    if self.record.iter().all(|c| c.trim().is_empty()) {
                        continue;
                    }
                    let line = self.lines.line_of(self.record.position());
                    return Some(Ok(line));
                }
                Err(err) => {
                    self.done = true;
                    let line = self.lines.line_of(err.position());
                    return Some(Err(RowError::Csv {
                        line,
                        message: err.to_string(),
                    }));
                }
            }
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<SheetRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.header_len.is_none() {
            match self.next_record()? {
                Ok(_) => self.header_len = Some(self.record.len()),
                Err(e) => return Some(Err(e)),
            }
        }
        let line = match self.next_record()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        let expected = self.header_len.unwrap_or_default();
        let found = self.record.len();
        if found > expected
            && self
                .record
                .iter()
                .skip(expected)
                .any(|c| !c.trim().is_empty())
        {
            return Some(Err(RowError::ExtraCells {
                line,
                expected,
                found,
            }));
        }
        Some(Ok(map_record(&self.record, self.mapping, line)))
    }
}

impl std::iter::FusedIterator for Rows<'_> {}

fn map_record(record: &csv::StringRecord, mapping: &Mapping, line: usize) -> SheetRow {
    let mut row = SheetRow {
        line,
        ..SheetRow::default()
    };
    for field in Field::ALL {
        if let Some(source) = mapping.source(field) {
            *row.slot(field) = combine(record, source, field);
        }
    }
    row
}

fn combine(record: &csv::StringRecord, source: &Source, field: Field) -> String {
    let cell = |i: usize| -> &str {
        let raw = record.get(i).unwrap_or_default();
        if field == Field::Isbn {
            clean::isbn(raw)
        } else {
            clean::cell(raw)
        }
    };
    let first = || {
        source
            .columns
            .iter()
            .map(|&i| cell(i))
            .find(|c| !c.is_empty())
            .unwrap_or_default()
    };
    match source.combine {
        Combine::First => first().to_owned(),
        Combine::YearOfDate => clean::year_of_date(first()).to_owned(),
        Combine::CalibreYear => clean::calibre_year(first()).to_owned(),
        Combine::CommaList => clean::join(
            source
                .columns
                .iter()
                .flat_map(|&i| clean::split_list(cell(i), ",")),
        ),
        Combine::GoodreadsAuthors => {
            let mut cols = source.columns.iter().map(|&i| cell(i));
            let main = cols.next().unwrap_or_default();
            clean::join(
                std::iter::once(main)
                    .filter(|m| !m.is_empty())
                    .chain(cols.flat_map(|c| clean::split_list(c, ","))),
            )
        }
        Combine::CalibreAuthors => clean::join(
            source
                .columns
                .iter()
                .flat_map(|&i| clean::split_list(cell(i), "&")),
        ),
        Combine::LibraryThingAuthors { roles } => {
            let primary = source.columns.first().map(|&i| cell(i)).unwrap_or_default();
            let secondary = source.columns.get(1).map(|&i| cell(i)).unwrap_or_default();
            let roles: Vec<&str> = roles
                .map(|i| cell(i).split('|').map(str::trim).collect())
                .unwrap_or_default();
            let kept = secondary
                .split('|')
                .map(str::trim)
                .enumerate()
                .filter(|(_, name)| !name.is_empty())
                .filter(|(k, _)| {
                    roles
                        .get(*k)
                        .is_none_or(|r| r.is_empty() || r.eq_ignore_ascii_case("author"))
                })
                .map(|(_, name)| name);
            clean::join(
                std::iter::once(primary)
                    .filter(|p| !p.is_empty())
                    .chain(kept),
            )
        }
        Combine::LibraryThingPublisher => clean::publication_publisher(first()).to_owned(),
        Combine::LibraryThingYear { publication } => {
            let date = first();
            if date.is_empty() {
                publication
                    .and_then(|i| clean::publication_year(cell(i)))
                    .map(|(_, y)| y.to_owned())
                    .unwrap_or_default()
            } else {
                date.to_owned()
            }
        }
    }
}

/// The header cells of `text` (empty if it has no records).
#[must_use]
pub fn headers(text: &str, separator: Separator) -> Vec<String> {
    let (body, _) = strip_preamble(text);
    let mut reader = reader(body, separator);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) if record.iter().all(|c| c.trim().is_empty()) => {}
            Ok(true) => return record.iter().map(|c| c.trim().to_owned()).collect(),
            Ok(false) | Err(_) => return Vec::new(),
        }
    }
}

/// The first rows of a sheet as raw cells, for a column-mapping dialog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    /// Header cells (trimmed).
    pub header: Vec<String>,
    /// Up to the requested number of data rows.
    pub rows: Vec<PreviewRow>,
    /// Whether more rows follow.
    pub truncated: bool,
}

/// One data row of a [`Preview`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreviewRow {
    /// 1-based line where the row starts.
    pub line: usize,
    /// Cells as written, padded with empty cells to the header's width.
    pub cells: Vec<String>,
}

/// The header and first `max_rows` non-blank data rows of `text`, unmapped.
/// Reading stops silently at a CSV error.
#[must_use]
pub fn preview(text: &str, separator: Separator, max_rows: usize) -> Preview {
    let (body, line_offset) = strip_preamble(text);
    let mut reader = reader(body, separator);
    let mut lines = LineCounter::new(Box::new(body.as_bytes()), line_offset);
    let mut record = csv::StringRecord::new();
    let mut out = Preview::default();
    let mut have_header = false;
    while let Ok(true) = reader.read_record(&mut record) {
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if !have_header {
            out.header = record.iter().map(|c| c.trim().to_owned()).collect();
            have_header = true;
            continue;
        }
        if out.rows.len() == max_rows {
            out.truncated = true;
            break;
        }
        let mut cells: Vec<String> = record.iter().map(str::to_owned).collect();
        if cells.len() < out.header.len() {
            cells.resize(out.header.len(), String::new());
        }
        let line = lines.line_of(record.position());
        out.rows.push(PreviewRow { line, cells });
    }
    out
}

/// Removes a leading U+FEFF and an Excel `sep=X` line; returns the rest and
/// how many lines were removed.
fn strip_preamble(text: &str) -> (&str, usize) {
    let text = text.trim_start_matches('\u{FEFF}');
    if excel_sep_line(text).is_some() {
        match text.find('\n') {
            Some(nl) => (text.get(nl + 1..).unwrap_or_default(), 1),
            None => ("", 1),
        }
    } else {
        (text, 0)
    }
}

fn reader(text: &str, separator: Separator) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator.as_byte())
        .from_reader(text.as_bytes())
}

/// Turns the byte position the `csv` reader gives a record into the line it
/// starts on. (The reader's own line count is taken before it skips the line
/// break ending the previous record and any blank lines, so it can be one or
/// more too small.) Positions must come in increasing order, as they do; the
/// counter reads the same text as the `csv` reader, from its own stream.
struct LineCounter<'a> {
    text: Box<dyn BufRead + 'a>,
    /// Byte offset up to which newlines have been counted.
    pos: u64,
    /// 1-based line at `pos`, including the lines stripped before the text.
    line: usize,
    /// The last byte counted was a CR: a line break, unless an LF follows (CRLF).
    after_cr: bool,
}

impl<'a> LineCounter<'a> {
    fn new(text: Box<dyn BufRead + 'a>, line_offset: usize) -> LineCounter<'a> {
        LineCounter {
            text,
            pos: 0,
            line: 1 + line_offset,
            after_cr: false,
        }
    }

    fn line_of(&mut self, position: Option<&csv::Position>) -> usize {
        let Some(position) = position else {
            // An I/O error (the disk, or a byte not valid in the encoding) comes without a
            // position; the second stream of the same text fails at the same place, so the
            // lines are counted up to there.
            let _ = self.count_until(|_, _| false);
            return self.line;
        };
        if position.byte() >= self.pos {
            // Up to the record, then past the line breaks before it (the position can be
            // that of the break ending the previous record).
            let _ = self.count_until(|at, _| at == position.byte());
            let _ = self.count_until(|_, b| !matches!(b, b'\r' | b'\n'));
            if self.after_cr {
                // A lone CR (old Mac files): the next byte is not an LF.
                self.line += 1;
                self.after_cr = false;
            }
        }
        self.line
    }

    /// Counts line breaks (LF, CRLF, a lone CR) up to the first byte for which `stop` holds
    /// (given its offset), or the end of the text.
    fn count_until(&mut self, stop: impl Fn(u64, u8) -> bool) -> std::io::Result<()> {
        loop {
            let buf = self.text.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let mut used = 0;
            let mut stopped = false;
            for &b in buf {
                if stop(self.pos + used as u64, b) {
                    stopped = true;
                    break;
                }
                match b {
                    b'\n' => {
                        self.line += 1;
                        self.after_cr = false;
                    }
                    b'\r' => {
                        self.line += usize::from(self.after_cr);
                        self.after_cr = true;
                    }
                    _ => {
                        self.line += usize::from(self.after_cr);
                        self.after_cr = false;
                    }
                }
                used += 1;
            }
            self.text.consume(used);
            self.pos += used as u64;
            if stopped {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_cells_keep_line_numbers() {
        let text = "title,note\nA,\"one\ntwo\nthree\"\n\nB,x\n,\nC,\"\"\n";
        let m = Mapping::for_dialect(&["title", "note"]);
        let rows: Vec<SheetRow> = read(text, Separator::Comma, &m)
            .map(Result::unwrap)
            .collect();
        let got: Vec<(usize, &str, &str)> = rows
            .iter()
            .map(|r| (r.line, r.title.as_str(), r.note.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![(2, "A", "one\ntwo\nthree"), (6, "B", "x"), (8, "C", "")]
        );
    }

    /// Text that breaks off with an I/O error after its bytes.
    struct BreaksOff(&'static [u8]);

    impl Read for BreaksOff {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn an_io_error_halfway_names_the_line_where_the_text_broke_off() {
        let m = Mapping::for_dialect(&["title", "year"]);
        let text = b"title,year\nA,1\n\"B\nstill B\",2\nC,3\n";
        let open = || -> std::io::Result<Box<dyn BufRead>> {
            Ok(Box::new(std::io::BufReader::new(BreaksOff(text))))
        };
        let rows: Vec<_> = read_stream(&open, "title,year\n", Separator::Comma, &m)
            .unwrap()
            .collect();
        let lines: Vec<usize> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| r.line)
            .collect();
        assert_eq!(lines, [2, 3, 5]);
        match rows.last() {
            Some(Err(RowError::Csv { line, message })) => {
                assert_eq!(*line, 6, "{message}");
                assert!(message.contains("the disk went away"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extra_cells_are_an_error_but_trailing_empty_ones_are_not() {
        let text = "title;year\nA;1;\nB;2;oops\nC\n";
        let m = Mapping::for_dialect(&["title", "year"]);
        let rows: Vec<_> = read(text, Separator::Semicolon, &m).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].as_ref().map(|r| r.year.as_str()), Ok("1"));
        assert_eq!(
            rows[1],
            Err(RowError::ExtraCells {
                line: 3,
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            rows[2].as_ref().map(|r| (r.line, r.year.as_str())),
            Ok((4, ""))
        );
    }

    #[test]
    fn excel_sep_line_is_honoured() {
        let text = "sep=;\r\ntitle;year\r\nA;1\r\n";
        assert_eq!(excel_sep_line(text), Some(Separator::Semicolon));
        assert_eq!(headers(text, Separator::Semicolon), vec!["title", "year"]);
        let m = Mapping::for_dialect(&headers(text, Separator::Semicolon));
        let row = read(text, Separator::Semicolon, &m)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!((row.line, row.title.as_str()), (3, "A"));
    }

    #[test]
    fn cr_only_line_endings() {
        let m = Mapping::for_dialect(&["title", "year"]);
        let rows: Vec<usize> = read("title,year\rA,1\r\rB,2\r", Separator::Comma, &m)
            .map(|r| r.map(|r| r.line).unwrap_or_default())
            .collect();
        assert_eq!(rows, vec![2, 4]);
    }

    #[test]
    fn preview_pads_and_truncates() {
        let text = "a,b,c\n1\n2,2,2\n3,3,3\n";
        let p = preview(text, Separator::Comma, 2);
        assert_eq!(p.header, vec!["a", "b", "c"]);
        assert_eq!(p.rows[0].cells, vec!["1", "", ""]);
        assert_eq!(p.rows[1].line, 3);
        assert!(p.truncated);
        assert!(!preview(text, Separator::Comma, 3).truncated);
    }

    #[test]
    fn mapping_with_out_of_range_columns_does_not_panic() {
        let mut m = Mapping::new();
        m.set_column(Field::Title, Some(99));
        let row = read("a\nb\n", Separator::Comma, &m)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(row.title, "");
    }
}
