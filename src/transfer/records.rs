//! MARC 21 records in and out of a library: a record becomes a book (its fields mapped as the
//! README's table says, the whole record kept with it) and its holdings (952 or 852) copies and
//! placements; an export gives each live book back as a record, its source record merged with
//! what was edited in Shelfmark, its copies as holdings.
//!
//! Reading streams the file: a record is read, mapped and validated, then dropped; only the
//! import rows (with each book's record, compact ISO 2709) are kept for the import.

use std::io::{BufRead, Read, Write};
use std::sync::Arc;

use super::csv::{BarcodeOwners, LineError, Parsed, validate_row};
use super::marc::{
    self, Encoding, ExportBook, ExportHolding, Format, HoldingTag, Iso2709Reader, MarcXmlReader,
    MarcXmlWriter, Record, RecordError, export_record, map_record,
};
use super::sheets::Field as SheetField;
use crate::model::{RecordRow, SourceRecord, Stamp, isbn};

/// How many bytes of a file are enough to tell its format.
pub const SNIFF_BYTES: usize = 512;

/// The format of a file, by its first bytes: MARC (ISO 2709 or MARCXML) or not.
pub fn sniff(prefix: &[u8]) -> Option<Format> {
    marc::detect(prefix)
}

/// The key that finds a book again when its record is imported again: "(AGENCY)NUMBER" from
/// 003 and 001 ("NUMBER" without 003). A record Shelfmark exported carries Shelfmark's own id
/// in 001 (with 003 "Shelfmark") and the original number in 035; the original is the key, so
/// another library's export never matches by our ids.
pub fn control_key(record: &Record) -> Option<String> {
    let clean = |s: &str| s.trim().to_owned();
    let agency = record.agency().map(str::trim).filter(|a| !a.is_empty());
    if agency.is_some_and(|a| a.eq_ignore_ascii_case("Shelfmark")) {
        return record
            .fields("035")
            .find_map(|f| f.subfield('a'))
            .map(clean)
            .filter(|s| !s.is_empty());
    }
    let number = record
        .control_number()
        .map(str::trim)
        .filter(|n| !n.is_empty())?;
    Some(match agency {
        Some(a) => format!("({a}){number}"),
        None => number.to_owned(),
    })
}

/// Reads every record of a MARC file (`format`, as sniffed) into import rows; bad records are
/// listed with their number and byte offset. `collection`: the collection every holding goes
/// to, instead of the one the holding names. `progress` is told the records read so far,
/// every 1 000 records.
pub fn parse(
    file: impl Read,
    format: Format,
    collection: Option<&str>,
    progress: &mut dyn FnMut(u64),
) -> Parsed {
    let records: Box<dyn Iterator<Item = Result<Record, RecordError>>> = match format {
        Format::Iso2709 => Box::new(Iso2709Reader::new(std::io::BufReader::with_capacity(
            1 << 16,
            file,
        ))),
        Format::MarcXml => Box::new(MarcXmlReader::new(file)),
    };
    let mut parsed = Parsed::default();
    let mut owners = BarcodeOwners::default();
    for (i, record) in records.enumerate() {
        let number = i + 1;
        if number % 1000 == 0 {
            progress(number as u64);
        }
        match record {
            Ok(record) => book_rows(number, record, collection, &mut owners, &mut parsed),
            Err(e) => parsed.errors.push(LineError {
                line: e.record as usize,
                offset: Some(e.offset),
                message: e.kind.to_string(),
                title: String::new(),
            }),
        }
    }
    parsed
}

/// The rows of one record: one per holding (the book only, if it has none).
fn book_rows(
    number: usize,
    mut record: Record,
    collection: Option<&str>,
    owners: &mut BarcodeOwners,
    parsed: &mut Parsed,
) {
    let mapped = map_record(&record);
    let control = control_key(&record);
    record.remove_fields("952");
    record.remove_fields("852");
    let marc = match marc::iso2709::to_bytes(&record, Encoding::Utf8)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(message) => {
            parsed.errors.push(LineError {
                line: number,
                offset: None,
                message: format!("the record cannot be kept: {message}"),
                title: mapped.title.clone(),
            });
            return;
        }
    };
    let source = Arc::new(SourceRecord { control, marc });
    // 020 $a may hold several ISBNs (and qualifiers); the first valid one is the book's.
    let isbn = mapped
        .isbn_candidates
        .iter()
        .find(|c| isbn::parse(c).is_ok())
        .cloned()
        .unwrap_or_default();
    let authors = mapped.authors.join("; ");
    let year = mapped.year.map(|y| y.to_string()).unwrap_or_default();
    let holdings: Vec<Option<&marc::Holding>> = if mapped.holdings.is_empty() {
        vec![None]
    } else {
        mapped.holdings.iter().map(Some).collect()
    };
    for holding in holdings {
        let cell = |f: SheetField| -> String {
            match f {
                SheetField::Title => mapped.title.clone(),
                SheetField::Authors => authors.clone(),
                SheetField::Isbn => isbn.clone(),
                SheetField::Publisher => mapped.publisher.clone(),
                SheetField::Year => year.clone(),
                SheetField::Barcode => holding.map(|h| h.barcode.clone()).unwrap_or_default(),
                SheetField::Collection => holding
                    .and_then(|h| {
                        collection
                            .map(str::to_owned)
                            .or_else(|| h.collection.clone())
                    })
                    .unwrap_or_default(),
                SheetField::ShelfMark => holding.map(|h| h.shelf_mark.clone()).unwrap_or_default(),
                SheetField::Note => String::new(),
            }
        };
        match validate_row(number, &cell, Some((&source, mapped.nonfiling)), owners) {
            Ok(row) => parsed.rows.push(row),
            Err(e) => {
                parsed.errors.push(e);
                // One report per record is enough.
                break;
            }
        }
    }
}

/// Which serialisation an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarcFormat {
    /// ISO 2709 in UTF-8 (leader/09 `a`).
    Iso2709,
    /// MARCXML (the Library of Congress slim schema).
    MarcXml,
}

/// Writes records one at a time in the chosen serialisation.
pub(crate) enum RecordWriter<W: Write> {
    Iso2709(W),
    Xml(MarcXmlWriter<W>),
}

impl<W: Write> RecordWriter<W> {
    pub(crate) fn new(out: W, format: MarcFormat) -> std::io::Result<Self> {
        Ok(match format {
            MarcFormat::Iso2709 => RecordWriter::Iso2709(out),
            MarcFormat::MarcXml => RecordWriter::Xml(MarcXmlWriter::new(out).map_err(io)?),
        })
    }

    pub(crate) fn write(&mut self, record: &Record) -> std::io::Result<()> {
        match self {
            RecordWriter::Iso2709(w) => marc::write_record(w, record).map_err(io),
            RecordWriter::Xml(w) => w.write(record).map_err(io),
        }
    }

    pub(crate) fn finish(self) -> std::io::Result<W> {
        match self {
            RecordWriter::Iso2709(w) => Ok(w),
            RecordWriter::Xml(w) => w.finish().map_err(io),
        }
    }
}

fn io(e: marc::WriteError) -> std::io::Error {
    match e {
        marc::WriteError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// Gathers a book's rows (they come together) into one record at a time.
#[derive(Debug)]
pub(crate) struct Gather {
    book: Option<RecordRow>,
    holdings: Vec<ExportHolding>,
    /// The library's articles: a title with no nonfiling count of its own files by them.
    articles: Vec<String>,
}

impl Gather {
    pub(crate) fn new(articles: Vec<String>) -> Self {
        Gather {
            book: None,
            holdings: Vec::new(),
            articles,
        }
    }

    /// Takes `row`; returns the previous book's record when `row` starts another book.
    /// `collection`: only holdings placed there are written, and only books with such.
    pub(crate) fn push(
        &mut self,
        row: &RecordRow,
        collection: Option<&str>,
        tag: HoldingTag,
    ) -> Option<Record> {
        let done = match &self.book {
            Some(b) if b.book != row.book => self.finish(collection, tag),
            _ => None,
        };
        if self.book.is_none() {
            self.book = Some(row.clone());
        }
        if let Some(barcode) = &row.barcode
            && collection.is_none_or(|c| row.collection.as_deref() == Some(c))
        {
            self.holdings.push(ExportHolding {
                barcode: barcode.clone(),
                shelf_mark: row.shelf_mark.clone().unwrap_or_default(),
                collection: row.collection.clone(),
            });
        }
        done
    }

    /// The record of the book gathered so far, if it is to be written.
    pub(crate) fn finish(&mut self, collection: Option<&str>, tag: HoldingTag) -> Option<Record> {
        let book = self.book.take()?;
        let holdings = std::mem::take(&mut self.holdings);
        if collection.is_some() && holdings.is_empty() {
            return None;
        }
        Some(record_of(&book, &holdings, tag, &self.articles))
    }
}

/// The record of `book`: its source record (if it has one) with Shelfmark's fields and
/// holdings written over it, else a brief record.
pub fn record_of(
    book: &RecordRow,
    holdings: &[ExportHolding],
    tag: HoldingTag,
    articles: &[String],
) -> Record {
    let source = book
        .marc
        .as_deref()
        .and_then(|m| marc::iso2709::parse_record(m.as_bytes(), Some(Encoding::Utf8)).ok());
    let export = ExportBook {
        id: book.book.0,
        title: book.title.clone(),
        authors: book
            .authors
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        isbn: book.isbn.clone(),
        publisher: book.publisher.clone(),
        year: book.year,
        nonfiling: book.nonfiling.unwrap_or_else(|| {
            let articles: Vec<&str> = articles.iter().map(String::as_str).collect();
            crate::model::sortkey::default_nonfiling(&book.title, &articles)
        }),
        last_change: last_change(book.updated_at),
    };
    export_record(source.as_ref(), &export, holdings, tag)
}

/// 005: "YYYYMMDDHHMMSS.F", in UTC.
fn last_change(at: Stamp) -> String {
    at.0.strftime("%Y%m%d%H%M%S.0").to_string()
}

/// Reads a whole MARC file from a buffered reader (tests, the command line's `-`).
pub fn parse_buffered(file: impl BufRead, format: Format, collection: Option<&str>) -> Parsed {
    parse(file, format, collection, &mut |_| {})
}
